//go:build linux && cgo

package main

import (
	"fmt"
	"os"
	"strings"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/modules"
	"signstar/pkg/sandbox"
)

// lockdown confines the process before it reads stdin: from here on it can
// read stdin, talk to the token, write stdout and stderr, and record.
func (j *job) lockdown(p sandbox.Policy) error {
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
	logPolicy(&p, cfg)
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

// addModule adds what the module at path needs at sign time, if package
// module knows its family, reading the module's environment from this
// process: the login shell has cleared all but what the modules read.
func addModule(p *sandbox.Policy, path string) error {
	m, ok := modules.Of(path)
	if !ok {
		return nil
	}
	a, err := m.Access(os.Getenv)
	if err != nil {
		return err
	}
	p.ReadWrite = append(p.ReadWrite, a.ReadWrite...)
	p.KeepOpen = append(p.KeepOpen, a.KeepOpen...)
	p.Streams = p.Streams || a.Streams
	return nil
}

// nonEmpty is s as a list: empty for "".
func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
