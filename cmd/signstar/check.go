//go:build linux && cgo

package main

import (
	"errors"
	"fmt"
	"strings"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/sandbox"
	"signstar/pkg/token"
)

type checkCmd struct{}

// Run checks what a signing request will need, reports each finding on
// stdout, and fails if any check failed. It opens what sign opens, in the
// same order and under the same rules, so that a passing check means sign
// can work when run as the same user.
func (c *checkCmd) Run(g *cli) error {
	failed := 0
	report := func(what string, err error, ok string) {
		if err != nil {
			failed++
			fmt.Printf("FAIL  %-8s %v\n", what, err)
			if h := hintFor(err); h != "" {
				fmt.Printf("      %-8s %s\n", "hint:", h)
			}
			return
		}
		fmt.Printf("ok    %-8s %s\n", what, ok)
	}
	problems := func() error { return fmt.Errorf("check failed: %d problem(s)", failed) }
	cfg, err := config.Load(g.Config)
	report("config", err, g.Config)
	if err != nil {
		return errors.New("check failed")
	}
	err = cfg.CheckTrusted(cliTrust())
	report("trust", err, "only root can change the config, the certificates, the module and their directories")
	if err != nil {
		fmt.Println("skip  token    and keys: signstar does not load a module from an untrusted config")
		return problems()
	}
	sink, err := audit.Open(cfg.Audit.Sink, false)
	report("audit", err, describeSink(cfg.Audit.Sink))
	if err == nil {
		sink.Close()
	}
	_, err = cfg.PIN()
	report("pin-file", err, cfg.Resolve(cfg.Token.PINFile)+" (mode 0600 or stricter)")
	if err != nil {
		fmt.Println("skip  token    and keys: no usable PIN")
		return problems()
	}
	p, perr := policy(cfg)
	if perr == nil {
		report("identity", checkIdentity(p), "this user can reach the token's files without privileges, as sign must after lockdown")
	}
	kr, err := keyring.Open(cfg)
	sel, _ := cfg.Token.Selector()
	report("token", err, fmt.Sprintf("logged in to %q through %s", sel.Label+sel.Serial, sel.Module))
	if token.NeedsLock(sel.Module) {
		report("lock", lockFileSet(cfg), cfg.Resolve(cfg.Token.LockFile)+": signstar processes take turns on the token")
	}
	if err == nil {
		defer kr.Close()
		types, err := kr.KeyTypes()
		report("types", err, "the token can generate "+token.JoinKeyTypes(types, ", "))
		failed += checkKeys(cfg, kr, report)
	}
	report("lockdown", perr, describePolicy(p))
	if failed > 0 {
		return problems()
	}
	return nil
}

// errNoLockFile: SoftHSM2 misses its token now and then when processes
// log in at once (package modules: SoftHSM2 NeedsLock).
var errNoLockFile = errors.New("no token.lock-file: concurrent requests will now and then fail to find the token")

func lockFileSet(cfg *config.Config) error {
	if cfg.Token.LockFile == "" {
		return errNoLockFile
	}
	return nil
}

func describeSink(spec string) string {
	if spec == "" {
		return "journald (the default)"
	}
	return spec + " opened for appending"
}

func checkKeys(cfg *config.Config, kr *keyring.Keyring, report func(string, error, string)) int {
	failed := 0
	def, _ := cfg.DefaultKey()
	for _, name := range cfg.KeyNames() {
		k, err := kr.Key(name)
		if err != nil {
			failed++
			report("key", err, "")
			continue
		}
		allow := "any authorized SSH key"
		if n := len(cfg.Keys[name].Allow); n > 0 {
			allow = fmt.Sprintf("%d SSH key(s)", n)
		}
		if name == def {
			name += " (default)"
		}
		report("key", nil, fmt.Sprintf("%s: %s %s, certificate matches the token; may be used by %s",
			name, k.Cert.Algorithm(), k.Cert.Fingerprint(), allow))
	}
	return failed
}

// describePolicy says what a signing process keeps after lockdown.
func describePolicy(p sandbox.Policy) string {
	var parts []string
	add := func(what string, paths []string) {
		if len(paths) > 0 {
			parts = append(parts, what+" "+strings.Join(paths, " "))
		}
	}
	add("read-write", p.ReadWrite)
	add("read-only", p.ReadOnly)
	add("kept open", p.KeepOpen)
	if len(p.ConnectTCP) > 0 {
		parts = append(parts, fmt.Sprintf("TCP ports %v", p.ConnectTCP))
	}
	if p.Streams {
		parts = append(parts, "talks over sockets opened before lockdown")
	}
	if len(parts) == 0 {
		return "nothing but stdio and the audit trail"
	}
	return strings.Join(parts, "; ")
}
