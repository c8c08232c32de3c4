package client

// One input, one output in any of the forms signstar makes, for the gpg
// front end: a detached signature through the digest-only request (the
// file never leaves the machine), a text or cleartext one by sending the
// text to 'sign --text' or 'sign --clearsign' (the host must see the
// text to canonicalize it). Whatever comes back is checked against the
// input and the pinned certificates before it is returned.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"signstar/pkg/keyname"
	"signstar/pkg/pgp"
)

// Form is the kind of signature [SignOne] makes.
type Form int

const (
	// Detached is a binary-document signature (type 0x00), signed from
	// the file's SHA-512 state.
	Detached Form = iota
	// DetachedText is a canonical-text signature (type 0x01, gpg -t).
	DetachedText
	// Cleartext is a cleartext signed message (gpg --clearsign).
	Cleartext
)

// Key is a key on the signing host: its name there and the certificate
// pinned for it.
type Key struct {
	Name string
	Cert *pgp.Certificate
}

// Signature is what [SignOne] returns.
type Signature struct {
	// Data is the binary signature packets, one per key in order, for a
	// detached form; the whole message for Cleartext.
	Data []byte
	// Host is the destination that signed (the last, for several keys).
	Host string
}

// sigMax bounds the signatures of one key in an answer: an RSA 4096
// signature with notations is under 1 KiB.
const sigMax = 64 << 10

// SignOne signs f, read from its start, with each of keys in order, on the
// first host that answers with signatures that verify against f and the
// keys' certificates. Options.Cert, Key, Armor and Jobs do not apply. Text
// forms hold the text in memory and take at most [pgp.MaxClearText] bytes.
func SignOne(ctx context.Context, f *os.File, form Form, keys []Key, o Options) (Signature, error) {
	if err := checkKeys(keys); err != nil {
		return Signature{}, err
	}
	o.Cert, o.Key, o.Armor = nil, "", false
	s, err := newSigner(o)
	if err != nil {
		return Signature{}, err
	}
	if form == Detached {
		return s.signDetached(ctx, f, keys)
	}
	return s.signText(ctx, f, form, keys)
}

func checkKeys(keys []Key) error {
	if len(keys) == 0 {
		return errors.New("sign: no key given")
	}
	for _, k := range keys {
		if !keyname.Valid(k.Name) {
			return fmt.Errorf("sign: invalid key name %q", k.Name)
		}
		if k.Cert == nil {
			return fmt.Errorf("sign: key %s has no pinned certificate", k.Name)
		}
	}
	return nil
}

// signDetached hashes f once and sends one digest-only request per key.
func (s *signer) signDetached(ctx context.Context, f *os.File, keys []Key) (Signature, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Signature{}, fmt.Errorf("hash: rewind: %v", err)
	}
	d, err := s.hashFile(f)
	if err != nil {
		return Signature{}, err
	}
	var out Signature
	for _, k := range keys {
		ks := *s // this key's name and pinned certificate; the hosts' state is shared
		ks.key = k.Name
		ks.certs = newCerts(k.Cert, s.fetchCert, s.log)
		sig, host, _, err := ks.tryHosts(ctx, f.Name(), d)
		if err != nil {
			return Signature{}, fmt.Errorf("key %s: %w", k.Name, err)
		}
		out.Data, out.Host = append(out.Data, sig...), host
	}
	return out, nil
}

// signText sends the text to 'sign --text' or 'sign --clearsign' with
// every key at once.
func (s *signer) signText(ctx context.Context, f *os.File, form Form, keys []Key) (Signature, error) {
	text, err := readText(f)
	if err != nil {
		return Signature{}, err
	}
	words := []string{"sign", "--text"}
	max := sigMax * len(keys)
	if form == Cleartext {
		words[1] = "--clearsign"
		max += 2*len(text) + 256 // dash-escaping at most doubles the text; the header
	}
	certs := make([]*pgp.Certificate, len(keys))
	for i, k := range keys {
		words = append(words, "--key", k.Name)
		certs[i] = k.Cert
	}
	var out []byte
	host, err := s.eachHost(ctx, f.Name(), func(host string) error {
		b, err := s.run(ctx, host, text, max+1, words...)
		switch {
		case err != nil:
			return err
		case len(b) > max:
			return fmt.Errorf("answer larger than %d bytes", max)
		}
		if err := Verify(form, certs, b, bytes.NewReader(text)); err != nil {
			return err
		}
		out = b
		return nil
	})
	if err != nil {
		return Signature{}, err
	}
	return Signature{Data: out, Host: host}, nil
}

// Verify checks sig, signatures in form by each of certs in order, over
// in (read from its start; the text itself for Cleartext): what any
// signer returns is checked this way before it is released.
func Verify(form Form, certs []*pgp.Certificate, sig []byte, in io.ReadSeeker) error {
	var err error
	if form == Cleartext {
		_, err = in.Seek(0, io.SeekStart)
		if err == nil {
			err = pgp.VerifyClear(certs, sig, in)
		}
	} else {
		err = pgp.VerifyDetached(certs, sig, in)
	}
	if err != nil {
		return fmt.Errorf("signature does not verify over the input: %v", err)
	}
	return nil
}

// readText reads all of f from its start, refusing more than
// [pgp.MaxClearText] bytes as the host would.
func readText(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("read text: rewind: %v", err)
	}
	text, err := io.ReadAll(io.LimitReader(f, pgp.MaxClearText+1))
	if err != nil {
		return nil, fmt.Errorf("read text: %v", pathless(err))
	}
	if len(text) > pgp.MaxClearText {
		return nil, pgp.ErrTooLarge
	}
	return text, nil
}
