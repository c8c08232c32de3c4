package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/ThalesGroup/crypto11"
)

// c11Signer is an RSA or ECDSA key signed with by crypto11. It checks what
// crypto11 does not: crypto11 signs a digest of any length, and with
// crypto.Hash(0) a raw RSA block, which would make the token an oracle for
// arbitrary PKCS#1 type 1 blocks.
type c11Signer struct {
	t  *Token
	id []byte
	s  crypto11.Signer
}

// Public returns the *rsa.PublicKey or *ecdsa.PublicKey read from the token.
func (k *c11Signer) Public() crypto.PublicKey { return k.s.Public() }

// Sign signs digest, the opts.HashFunc() hash of the message: PKCS#1 v1.5
// (RFC 8017 section 8.2.1) for RSA, ASN.1 DER (r, s) for ECDSA. rand is
// unused: the token draws its own randomness.
func (k *c11Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	what := fmt.Sprintf("sign with key %x on %s", k.id, k.t.name)
	if err := checkDigest(digest, opts); err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if k.t.closed.Load() {
		return nil, fmt.Errorf("%s: %v", what, errClosed)
	}
	sig, err := k.s.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", what, ckr(err))
	}
	if !verifies(k.s.Public(), digest, sig, opts.HashFunc()) {
		return nil, fmt.Errorf("%s: token returned a signature that does not verify", what)
	}
	return sig, nil
}

// checkDigest accepts SHA-2 digests only: RFC 9580 section 9.5 forbids
// new signatures over SHA-1 and MD5.
func checkDigest(digest []byte, opts crypto.SignerOpts) error {
	if opts == nil {
		return fmt.Errorf("no hash given")
	}
	if _, ok := opts.(*rsa.PSSOptions); ok {
		return fmt.Errorf("RSA-PSS not supported")
	}
	switch h := opts.HashFunc(); h {
	case crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512:
		if len(digest) != h.Size() {
			return fmt.Errorf("%d-byte digest for %v, want %d bytes", len(digest), h, h.Size())
		}
		return nil
	case 0:
		return fmt.Errorf("no hash given")
	default:
		return fmt.Errorf("hash %v not supported", h)
	}
}

func verifies(pub crypto.PublicKey, digest, sig []byte, h crypto.Hash) bool {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(p, h, digest, sig) == nil
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(p, digest, sig)
	}
	return false
}
