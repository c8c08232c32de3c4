//go:build linux && cgo

package main

// X.509 signatures (sign --format kmod|authenticode|cms): the same job,
// lockdown, allow lists and audit record as an OpenPGP signature, with
// the key's X.509 certificate (key x509 self-sign or import) naming the
// signer. Each format reads all of its input before the token signs:
// a module's old signature is cut off its end and a PE image is hashed
// in pieces, so both are held in memory, up to x509Max.

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"signstar/pkg/audit"
	"signstar/pkg/authenticode"
	"signstar/pkg/cms"
	"signstar/pkg/keyring"
	"signstar/pkg/kmod"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
	"signstar/pkg/remote"
	"signstar/pkg/request"
)

// x509Max bounds a module or an image: Debian's largest module is under
// 20 MiB, a unified kernel image with its initrd a few hundred MiB at most.
const x509Max = authenticode.MaxImageSize

// x509Hash is the hash of every X.509 signature: what the kernel signs
// its own modules with and what UEFI firmware verifies (SHA-512 module
// signatures work, but firmware support for SHA-384/512 Authenticode
// varies).
const x509Hash = crypto.SHA256

// signX509 signs stdin in cmd's X.509 format with the named key.
func (j *job) signX509(name string, cmd remote.Command) ([]byte, error) {
	kr, k, c, err := j.openX509(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	created := time.Now().UTC().Truncate(time.Second)
	x := &x509Job{format: cmd.Format, armor: cmd.Armor, append: cmd.Append, keyID: cmd.KeyID, created: created}
	out, err := k.SignWith(j.stdin(), func(r io.Reader, key crypto.Signer) ([]byte, error) {
		return x.sign(r, &cms.Signer{Key: key, Cert: c.Cert, Chain: c.Chain, Hash: x509Hash})
	}, signOptions(pgp.Options{}))
	if err := x509Error(err, k.Name); err != nil {
		return nil, err
	}
	j.rec.Format = audit.Format(cmd.Format)
	j.rec.InputSize, j.rec.InputSHA256, j.rec.InputSHA512 = x.size, x.sha256, x.sha512
	j.rec.SignedDigest, j.rec.SignatureCreated = x.signed, created
	return out, nil
}

// signX509Request answers an X.509 digest-only request (version 1.1 of
// the request format, package request) on stdin: the client sent the
// digest the signature covers (a module's, an image's Authenticode hash,
// a file's SHA-256) and gets the signature block, the PKCS#7 blob to
// insert, or the detached CMS signature back. The record carries the
// signed digest; signstar never sees the input itself.
func (j *job) signX509Request(name string, cmd remote.Command) ([]byte, error) {
	format := cmd.Format
	kr, k, c, err := j.openX509(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	created := time.Now().UTC().Truncate(time.Second)
	var digest []byte
	out, err := k.SignWith(j.stdin(), func(r io.Reader, key crypto.Signer) ([]byte, error) {
		req, err := request.ReadDigest(r, string(format))
		if err != nil {
			return nil, requestError(err)
		}
		digest = req.Digest
		s := &cms.Signer{Key: key, Cert: c.Cert, Chain: c.Chain, Hash: x509Hash}
		switch format {
		case remote.Kmod:
			return kmod.SignDigest(s, digest, kmod.Options{SubjectKeyID: cmd.KeyID})
		case remote.Authenticode:
			return authenticode.SignDigest(digest, s, authenticode.Options{SigningTime: created})
		}
		return s.Sign(digest, cms.Options{SigningTime: created})
	}, signOptions(pgp.Options{}))
	if err := x509Error(err, k.Name); err != nil {
		return nil, err
	}
	j.rec.Format, j.rec.SignedDigest, j.rec.SignatureCreated = audit.Format(format), digest, created
	return request.OutputResponse(string(format), out)
}

// x509Job is one X.509 signature and what the record says of it.
type x509Job struct {
	format               remote.Format
	armor, append, keyID bool
	created              time.Time

	size           int64
	sha256, sha512 []byte
	signed         []byte // the digest a module or image signature covers
}

func (x *x509Job) sign(r io.Reader, s *cms.Signer) ([]byte, error) {
	if x.format == remote.CMS {
		return x.signCMS(r, s)
	}
	data, err := x.read(r)
	if err != nil {
		return nil, err
	}
	if x.format == remote.Kmod {
		return x.signModule(data, s)
	}
	return x.signImage(data, s)
}

// read reads all of r, up to x509Max, hashing it for the record.
func (x *x509Job) read(r io.Reader) ([]byte, error) {
	var buf bytes.Buffer
	if err := x.hash(&buf, io.LimitReader(r, x509Max+1)); err != nil {
		return nil, err
	}
	if x.size > x509Max {
		return nil, refusal.Errorf("input over %d MiB is too large for --format %s", x509Max>>20, x.format)
	}
	return buf.Bytes(), nil
}

// hash copies r to w through SHA-256 and SHA-512 and notes them; empty
// input is refused as for every signature.
func (x *x509Job) hash(w io.Writer, r io.Reader) error {
	h256, h512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(w, h256, h512), r)
	if err != nil {
		return err
	}
	if n == 0 {
		return pgp.ErrEmptyInput
	}
	x.size, x.sha256, x.sha512 = n, h256.Sum(nil), h512.Sum(nil)
	return nil
}

// signModule returns the signature block to append to the module
// (scripts/sign-file's), over the module without an old signature.
func (x *x509Job) signModule(module []byte, s *cms.Signer) ([]byte, error) {
	digest, err := kmod.Digest(s.Hash, module)
	if err != nil {
		return nil, refusal.Errorf("%v", err)
	}
	x.signed = digest
	return kmod.SignDigest(s, digest, kmod.Options{SubjectKeyID: x.keyID})
}

// signImage returns the PE image with its Authenticode signature.
func (x *x509Job) signImage(image []byte, s *cms.Signer) ([]byte, error) {
	im, err := authenticode.Parse(image)
	if err != nil {
		return nil, refusal.Errorf("%v", err)
	}
	if im.Signed() && !x.append {
		return nil, refusal.Errorf("%v: add a signature with --append", authenticode.ErrSigned)
	}
	if x.signed, err = im.Hash(s.Hash); err != nil {
		return nil, refusal.Errorf("%v", err)
	}
	return authenticode.Sign(image, s, authenticode.Options{SigningTime: x.created, Append: x.append})
}

// signCMS streams r through the hashes and returns a detached CMS
// signature with signed attributes, DER or PEM.
func (x *x509Job) signCMS(r io.Reader, s *cms.Signer) ([]byte, error) {
	if err := x.hash(io.Discard, r); err != nil {
		return nil, err
	}
	der, err := s.Sign(x.sha256, cms.Options{SigningTime: x.created})
	if err != nil || !x.armor {
		return der, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der}), nil
}

// x509Error is what signX509 reports for err: the client's mistakes as
// such, with the key named otherwise.
func x509Error(err error, key string) error {
	if limit, ok := inputLimit(err); ok {
		return limit
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgp.ErrEmptyInput):
		return fmt.Errorf("sign: %w (pipe the file to standard input)", err)
	case errors.Is(err, refusal.Err):
		return err
	}
	return fmt.Errorf("sign with key %q: %w", key, err)
}

// certX509 is the key's X.509 certificate and chain in PEM, once the
// token has shown that it holds the key, as cert does for OpenPGP.
func (j *job) certX509(name string) ([]byte, error) {
	kr, _, c, err := j.openX509(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	return c.PEM(), nil
}

// openX509 is openLocked for an X.509 signature: the key's X.509
// certificate is read before the lockdown, which leaves no way to the
// config's files, and checked against the token key after it. A key
// without one is refused, since the client named it.
func (j *job) openX509(name string) (*keyring.Keyring, *keyring.Key, *keyring.X509, error) {
	_, kc, err := j.cfg.Key(name)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := keyring.ReadX509(j.cfg, kc)
	if errors.Is(err, keyring.ErrNoX509) {
		return nil, nil, nil, refusal.Errorf("key %q has no X.509 certificate (the admin makes one with 'signstar key x509 self-sign' or 'import')", name)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	kr, ks, err := j.openLocked(name)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.Check(ks[0]); err != nil {
		kr.Close()
		return nil, nil, nil, err
	}
	return kr, ks[0], c, nil
}
