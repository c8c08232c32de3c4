//go:build linux && cgo

package main

// The login shell's certs command: every key the session may use, with
// its armored OpenPGP certificate, as JSON, so that a client can refresh
// the certificates it pinned. The shape is the one issue 16 gives for
// upstream Signstar's signstar-download-key-certificates, which upstream
// names in its design (resources/docs/design.md) but has not built
// (archlinux/signstar at d6ad4e9), so there is no output of its to match.

import (
	"bytes"
	"encoding/json"
	"fmt"

	"signstar/pkg/keyring"
	"signstar/pkg/session"
)

// certsAnswer is what certs prints.
type certsAnswer struct {
	Certs []certEntry `json:"certs"`
}

type certEntry struct {
	Name        string `json:"name"`
	Fingerprint string `json:"fingerprint"`
	Certificate string `json:"certificate"` // armored, "-----BEGIN PGP PUBLIC KEY BLOCK-----..."
}

// certs answers the certs command: the keys whose allow list admits the
// session, sorted by name. As for cert, each certificate goes out only
// once the token has shown that it holds the matching private key; a
// revoked key is listed too, since its revocation is what a client most
// needs to learn. Each key listed gets its own answered record.
func (j *job) certs(sess *session.Session) ([]byte, error) {
	var names []string
	for _, name := range j.cfg.KeyNames() {
		if sess.Allowed(j.cfg.Keys[name].Allow) == nil {
			names = append(names, name)
		}
	}
	p, err := policy(j.cfg)
	if err == nil {
		err = checkIdentity(p)
	}
	if err != nil {
		return nil, err
	}
	kr, err := keyring.Open(j.cfg)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	keys, err := j.checkedCerts(kr, names)
	if err != nil {
		return nil, err
	}
	if err := j.lockdown(p); err != nil {
		return nil, err
	}
	return certsJSON(keys)
}

// checkedCerts reads the named keys' certificates, checks each against
// the token and notes the keys for the record(s).
func (j *job) checkedCerts(kr *keyring.Keyring, names []string) ([]*keyring.Key, error) {
	keys := make([]*keyring.Key, len(names))
	for i, name := range names {
		kc := j.cfg.Keys[name]
		cert, err := keyring.LoadCert(j.cfg, kc)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", name, err)
		}
		s, err := kr.TokenState(kc, cert)
		switch {
		case err != nil:
			return nil, fmt.Errorf("key %q: %w", name, err)
		case !s.Held:
			return nil, fmt.Errorf("key %q: its key pair (id %s) is not on the token", name, kc.ID)
		case s.Mismatch != nil:
			return nil, fmt.Errorf("key %q: certificate %s does not match the token: %w", name, j.cfg.Resolve(kc.Cert), s.Mismatch)
		}
		keys[i] = &keyring.Key{Name: name, Cert: cert}
	}
	if len(keys) > 0 {
		j.rec.Key, j.rec.KeyFingerprint, j.also = keys[0].Name, keys[0].Cert.Fingerprint(), keys[1:]
	}
	return keys, nil
}

// certsJSON is the answer: {"certs":[{"name","fingerprint","certificate"}]}
// and a newline; an empty list, not null, when no key is allowed.
func certsJSON(keys []*keyring.Key) ([]byte, error) {
	a := certsAnswer{Certs: []certEntry{}}
	for _, k := range keys {
		var buf bytes.Buffer
		if err := k.Cert.WriteArmored(&buf); err != nil {
			return nil, err
		}
		a.Certs = append(a.Certs, certEntry{Name: k.Name, Fingerprint: k.Cert.Fingerprint(), Certificate: buf.String()})
	}
	out, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("BUG: encode certs: %v", err)
	}
	return append(out, '\n'), nil
}
