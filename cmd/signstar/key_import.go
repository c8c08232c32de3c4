//go:build linux && cgo

package main

// signstar key import: an existing OpenPGP key put on the token, so that
// the key users already trust signs from now on. Package pgp reads the
// transferable secret key, token creates the objects, keyring records
// the key as generate does.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
)

type keyImportCmd struct {
	Name           string `help:"Name of the key in the config." required:"" placeholder:"NAME"`
	File           string `help:"The transferable secret key, armored or binary (gpg --export-secret-keys); default: standard input." placeholder:"FILE"`
	PassphraseFile string `help:"File whose first line is the passphrase of a protected key." placeholder:"FILE"`
	Subkey         string `help:"Fingerprint of the signing subkey to import instead of the primary key." placeholder:"FPR"`
}

// maxSecretKey bounds what import reads: a key with a few subkeys and
// user IDs is a few kilobytes, with photo IDs perhaps a few hundred.
const maxSecretKey = 1 << 20

func (c *keyImportCmd) Run(g *cli) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	ev := keyEvent{Event: audit.KeyImport, Keys: []keyRef{{Name: c.Name}}}
	k, cfg, leftOut, err := c.importKey(g)
	if err == nil {
		kc := cfg.Keys[c.Name]
		ev.Keys[0].Fingerprint = k.Cert.Fingerprint()
		ev.Detail = keyDetail(kc.Type, k.Cert.UserID(), "") + ", id " + kc.ID
	}
	if err := a.record(ev, err); err != nil {
		return err
	}
	kc := cfg.Keys[c.Name]
	for _, l := range leftOut {
		warnf("%s", l)
	}
	infof("imported %s key %q (id %s); certificate %s; revocation certificate %s (take it offline); config %s updated",
		kc.Type, c.Name, kc.ID, cfg.Resolve(kc.Cert), keyring.RevocationPath(cfg, kc), cfg.Path())
	fmt.Println(k.Cert.Fingerprint())
	return nil
}

// importKey reads the secret key, puts it on the token and records it.
// The secret is wiped from memory before it returns (see
// pgp.ReadSecretKey for what Go leaves out of reach).
func (c *keyImportCmd) importKey(g *cli) (*keyring.Key, *config.Config, []string, error) {
	if err := guardMemory(); err != nil {
		return nil, nil, nil, err
	}
	sk, err := c.readSecretKey()
	if err != nil {
		return nil, nil, nil, err
	}
	defer sk.Wipe()
	kr, cfg, err := openKeyring(g)
	if err != nil {
		return nil, nil, nil, err
	}
	defer kr.Close()
	k, err := kr.Import(c.Name, sk)
	if err != nil {
		return nil, nil, nil, err
	}
	return k, cfg, sk.LeftOut, nil
}

// readSecretKey reads and decrypts the key; its errors are refusals of
// the admin's input.
func (c *keyImportCmd) readSecretKey() (*pgp.SecretKey, error) {
	data, err := readSecretInput(c.File)
	defer clear(data)
	if err != nil {
		return nil, err
	}
	pass, err := readPassphrase(c.PassphraseFile)
	defer clear(pass)
	if err != nil {
		return nil, err
	}
	sk, err := pgp.ReadSecretKey(data, pgp.SecretKeyOptions{Passphrase: pass, Subkey: c.Subkey})
	switch {
	case errors.Is(err, pgp.ErrEncrypted):
		return nil, withHint{refusal.Errorf("%v", err), "give the passphrase in a file with --passphrase-file FILE"}
	case err != nil:
		return nil, refusal.Errorf("%v", err)
	}
	return sk, nil
}

// readSecretInput reads all of path, or standard input for "", into a
// buffer the caller clears. It reads into one buffer of the final size's
// bound so that no grown-and-dropped copies of the key are left behind.
func readSecretInput(path string) ([]byte, error) {
	r, name := io.Reader(os.Stdin), "standard input"
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, refusal.Errorf("read secret key: %v", err)
		}
		defer f.Close()
		r, name = f, path
	}
	buf := make([]byte, maxSecretKey+1)
	n, err := io.ReadFull(r, buf)
	buf = buf[:n]
	switch {
	case err != nil && err != io.ErrUnexpectedEOF && err != io.EOF:
		return buf, fmt.Errorf("read secret key from %s: %w", name, err)
	case n > maxSecretKey:
		return buf, refusal.Errorf("secret key in %s is larger than %d bytes", name, maxSecretKey)
	case n == 0:
		return buf, refusal.Errorf("read secret key: %s is empty", name)
	}
	return buf, nil
}

// readPassphrase returns the first line of path, without its line end,
// as gpg --passphrase-file reads it; nil for "".
func readPassphrase(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, refusal.Errorf("read passphrase: %v", err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	pass := bytes.Clone(bytes.TrimSuffix(line, []byte("\r")))
	clear(data)
	if len(pass) == 0 {
		return nil, refusal.Errorf("passphrase file %s is empty", path)
	}
	return pass, nil
}

// guardMemory keeps the secret key out of core dumps and swap, as far as
// a process can, before it is read: no core dumps (RLIMIT_CORE 0 and
// PR_SET_DUMPABLE 0, which also bars processes of the same user from its
// memory, proc(5); a crash in the PKCS#11 module would otherwise leave the
// secret in a file under /var/lib/systemd/coredump), and every page the
// process touches from now on locked in memory (mlockall with
// MCL_ONFAULT, Linux 4.4, so that nothing is populated in advance). A
// host that refuses the lock (RLIMIT_MEMLOCK without CAP_IPC_LOCK) gets
// a warning: swap may then hold a copy.
func guardMemory() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("turn off core dumps: set RLIMIT_CORE to 0: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("turn off core dumps: prctl(PR_SET_DUMPABLE, 0): %v", err)
	}
	if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
		warnf("lock memory: mlockall: %v; the secret key may be swapped out", err)
	}
	return nil
}
