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
	if sink, ok := audit.SinkFile(cfg.Audit.Sink); ok {
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

// moduleEnv names the environment variables the PKCS#11 modules signstar
// knows read, taken from each module's source at the version Debian 12
// ships; a trailing '*' is a prefix.
// The login shell keeps these and clears the rest (keepEnv), so set them
// with sshd's SetEnv. Variables that only make a module load other code
// (pcsc-lite's LIBPCSCLITE_DELEGATE, OpenSC's PKCS11SPY) are left out on
// purpose, as are per-card secrets (OpenSC's PIV_EXT_AUTH_KEY, *_CAN) and
// the NetHSM config's "env:NAME" passwords: the PIN comes from pin-file.
var moduleEnv = []string{
	// SoftHSM2 2.6.1, SimpleConfigLoader.cpp: its configuration file.
	"SOFTHSM2_CONF",
	// tpm2-pkcs11 1.9.0, src/lib: TPM2_PKCS11_STORE, _TCTI, _BACKEND,
	// _LOG_LEVEL, _ESAPI_MANAGE_FLAGS, _OWNER_AUTH; db.c: PKCS11_SQL_LOCK.
	"TPM2_PKCS11_*", "PKCS11_SQL_LOCK",
	// tpm2-tss 3.2.1, util/log.c and tss2-fapi: TSS2_LOG, TSS2_LOGFILE,
	// TSS2_FAPICONF.
	"TSS2_*",
	// tpm2-abrmd's TCTI (tabrmd:bus_type=session|system) finds its bus
	// through GLib's GDBus.
	"DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS",
	// pcsc-lite 1.9.9 client, winscard_msg.c: pcscd's socket (libykcs11,
	// opensc-pkcs11).
	"PCSCLITE_CSOCK_NAME",
	// OpenSC 0.23.0, libopensc/ctx.c.
	"OPENSC_CONF", "OPENSC_DRIVER", "OPENSC_DEBUG",
	// yubico-piv-tool 2.2.0: ykcs11.c's debug level; lib/internal.c's
	// per-setting YUBIKEY_PIV_<SETTING> overrides.
	"YKCS11_DBG", "YUBIKEY_PIV_*",
	// Nitrokey nethsm-pkcs11 1.7 and 2.2, config_file/src/lib.rs, and
	// RUST_LOG for its env_logger (config/logging.rs).
	"P11NETHSM_CONFIG_FILE", "RUST_LOG",
}

// nonEmpty is s as a list: empty for "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
