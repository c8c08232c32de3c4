package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Whoever can change the config, a certificate or the PKCS#11 module runs
// code as the signing account or chooses what it signs with: the module's
// constructor runs at load time, before lockdown, with the PIN file open.
// So those files, and every directory on their paths, must be changeable
// by trusted owners only.

// Trust is who may own what signstar loads. Root always may.
type Trust struct {
	// UID is one more trusted owner, -1 for none. The admin CLI run by an
	// ordinary user trusts that user's own files (they can only hurt
	// themselves); the login shell trusts root alone, since the signing
	// account must not be able to change its own policy.
	UID int
}

// RootOnly is the login shell's trust: root and nobody else.
var RootOnly = Trust{UID: -1}

func (t Trust) owns(uid uint32) bool {
	return uid == 0 || (t.UID >= 0 && uid == uint32(t.UID))
}

// CheckTrusted refuses a config whose file, certificates or PKCS#11 module
// someone other than a trusted owner could change: owns, or may write, the
// file or any directory on its path. A sticky directory owned by a trusted
// owner (/tmp) is safe: others cannot replace what they do not own in it.
func (c *Config) CheckTrusted(t Trust) error {
	if err := t.Check(c.path, "config"); err != nil {
		return err
	}
	return c.CheckNamed(t)
}

// CheckNamed is [Config.CheckTrusted] for what the config names (module
// and certificates), for a caller that has checked the config itself.
func (c *Config) CheckNamed(t Trust) error {
	sel, err := c.Token.Selector()
	if err != nil {
		return err
	}
	if err := t.Check(sel.Module, "PKCS#11 module"); err != nil {
		return err
	}
	for _, name := range c.KeyNames() {
		if err := t.Check(c.Resolve(c.Keys[name].Cert), "certificate of key "+name); err != nil {
			return err
		}
	}
	return nil
}

// Check refuses path, named what in the error, if someone other than a
// trusted owner could change it or any directory on its path. It follows
// symbolic links: what carries the file's name is as important as the file.
func (t Trust) Check(path, what string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, path, err)
	}
	err = t.checkChain(abs, 0)
	switch {
	case errors.Is(err, ErrUntrusted):
		return fmt.Errorf("%s: %w", what, err)
	case err != nil:
		return fmt.Errorf("%s %s: %w", what, abs, err)
	}
	return nil
}

// ErrUntrusted marks a file or directory someone untrusted could change.
var ErrUntrusted = errors.New("may be changed by someone other than root")

func (t Trust) checkChain(path string, depth int) error {
	if depth > 8 {
		return fmt.Errorf("%s: too many symbolic links", path)
	}
	for _, p := range prefixes(path) {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// The link itself is as safe as the directory holding it,
			// checked one step up; its target must be safe too.
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return err
			}
			if err := t.checkChain(target, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := t.checkOne(p, fi); err != nil {
			return err
		}
	}
	return nil
}

func (t Trust) checkOne(p string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("BUG: stat %s: no owner", p)
	}
	perm := fi.Mode().Perm()
	sticky := fi.IsDir() && fi.Mode()&fs.ModeSticky != 0
	switch {
	case !t.owns(st.Uid):
		return fmt.Errorf("%w: %s belongs to uid %d", ErrUntrusted, p, st.Uid)
	case perm&0o022 != 0 && !sticky:
		return fmt.Errorf("%w: %s has mode %04o, writable by group or others", ErrUntrusted, p, perm)
	}
	return nil
}

// prefixes lists "/", "/a", "/a/b" for "/a/b".
func prefixes(path string) []string {
	path = filepath.Clean(path)
	var out []string
	for p := path; ; p = filepath.Dir(p) {
		out = append([]string{p}, out...)
		if p == filepath.Dir(p) {
			return out
		}
	}
}
