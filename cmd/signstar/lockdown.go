package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/sandbox"
)

// lockdown confines the process before it reads stdin: from here on it can
// read stdin, talk to the token, write stdout and stderr, and record.
func (j *job) lockdown() error {
	p, err := policy(j.cfg)
	if err != nil {
		return fmt.Errorf("lock down: %w; refusing to read input", err)
	}
	if j.stderr != nil {
		p.KeepFDs = append(p.KeepFDs, j.stderr.client)
	}
	if fd, ok := audit.FileFD(j.sink); ok {
		p.AuditFD = fd
	}
	warnings, err := sandbox.Lockdown(p)
	if len(warnings) > 0 {
		j.rec.Warning = strings.Join(append(nonEmpty(j.rec.Warning), warnings...), "; ")
		if j.rec.Mode != audit.SSH {
			warnf("%s", j.rec.Warning)
		}
	}
	if err != nil {
		return fmt.Errorf("%w; refusing to read input", err)
	}
	return nil
}

// policy is what the token and the audit sink still need after lockdown.
func policy(cfg *config.Config) (sandbox.Policy, error) {
	lc := cfg.Lockdown
	p := sandbox.Policy{
		ReadWrite:  append([]string(nil), lc.ReadWrite...),
		ReadOnly:   lc.ReadOnly,
		ConnectTCP: lc.ConnectTCP,
		BestEffort: lc.Landlock == "best-effort",
	}
	sel, err := cfg.Token.Selector()
	if err != nil {
		return p, err
	}
	if err := addModule(&p, sel.Module); err != nil {
		return p, err
	}
	if lf := cfg.Token.LockFile; lf != "" {
		p.KeepOpen = append(p.KeepOpen, cfg.Resolve(lf))
	}
	// The journald sink's socket is connected before lockdown and needs
	// no path; the file sink's file stays open.
	if sink, ok := strings.CutPrefix(cfg.Audit.Sink, "file:"); ok {
		p.KeepOpen = append(p.KeepOpen, sink)
	}
	return p, nil
}

// addModule adds what the PKCS#11 modules signstar knows need at sign
// time, found where each module looks for its configuration or store.
func addModule(p *sandbox.Policy, module string) error {
	switch base := filepath.Base(module); {
	case base == "libsofthsm2.so":
		conf := os.Getenv("SOFTHSM2_CONF")
		if conf == "" {
			conf = sandbox.SoftHSMConf
		}
		dirs, err := sandbox.SoftHSMPaths(conf)
		if err != nil {
			return err
		}
		p.ReadWrite = append(p.ReadWrite, dirs...)
	case strings.HasPrefix(base, "libtpm2_pkcs11.so"): // also libtpm2_pkcs11.so.1
		keep, streams, err := sandbox.TPM2Policy(os.Getenv("TPM2_PKCS11_STORE"), os.Getenv("TPM2_PKCS11_TCTI"))
		if err != nil {
			return err
		}
		p.KeepOpen = append(p.KeepOpen, keep...)
		p.Streams = p.Streams || streams
	case strings.HasPrefix(base, "libykcs11.so"), base == "opensc-pkcs11.so":
		// Smartcards through pcscd: libpcsclite's MessageReceiveTimeout
		// polls the socket it connected at C_Initialize, then reads;
		// MessageSend writes. Read from pcsc-lite 1.9's source, not
		// measured: no card here (see README, Tokens).
		p.Streams = true
	}
	return nil
}

// nonEmpty is s as a list: empty for "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
