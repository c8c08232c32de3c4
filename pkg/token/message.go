package token

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"

	"github.com/miekg/pkcs11"
)

// ErrMessageOnly is returned when a key that can only sign whole messages
// is asked to sign a digest.
var ErrMessageOnly = errors.New("this token signs only whole messages with this key, not digests")

// msgKey is an RSA key on tpm2-pkcs11, which cannot sign a digest with a
// sign-only key: it makes CKM_RSA_PKCS signatures (a caller's DigestInfo)
// with TPM2_RSA_Decrypt, which the TPM allows only on keys that may
// decrypt. Its hash-and-sign mechanisms (CKM_SHA256_RSA_PKCS and
// CKM_SHA512_RSA_PKCS) hash the message on the host and use TPM2_Sign,
// which a sign-only key allows; so msgKey signs messages, streamed through
// the module, and refuses digests with [ErrMessageOnly].
type msgKey struct {
	t   *Token
	id  []byte
	h   pkcs11.ObjectHandle
	pub *rsa.PublicKey
}

// Public returns the *rsa.PublicKey read from the token.
func (k *msgKey) Public() crypto.PublicKey { return k.pub }

// Sign refuses: see [msgKey.SignMessage].
func (k *msgKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, fmt.Errorf("sign with key %x on %s: %w", k.id, k.t.name, ErrMessageOnly)
}

// hashAndSign are the PKCS#1 v1.5 hash-and-sign mechanisms (PKCS#11 v3.0
// Current Mechanisms section 2.1.10) for the hashes OpenPGP signatures use.
var hashAndSign = map[crypto.Hash]uint{
	crypto.SHA256: pkcs11.CKM_SHA256_RSA_PKCS,
	crypto.SHA512: pkcs11.CKM_SHA512_RSA_PKCS,
}

// SignMessage reads r to its end and returns the PKCS#1 v1.5 signature
// (RFC 8017 section 8.2.1) of its hash h, made by the token, which hashes
// the message itself. A read error ends the signature unused. The
// signature is verified before it is returned.
func (k *msgKey) SignMessage(r io.Reader, h crypto.Hash) ([]byte, error) {
	what := fmt.Sprintf("sign with key %x on %s", k.id, k.t.name)
	mech, ok := hashAndSign[h]
	if !ok {
		return nil, fmt.Errorf("%s: hash %v not supported", what, h)
	}
	if k.t.closed.Load() {
		return nil, fmt.Errorf("%s: %v", what, errClosed)
	}
	d := h.New()
	sig, err := k.stream(io.TeeReader(r, d), mech)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if rsa.VerifyPKCS1v15(k.pub, h, d.Sum(nil), sig) != nil {
		return nil, fmt.Errorf("%s: token returned a signature that does not verify", what)
	}
	return sig, nil
}

// stream feeds r to a multi-part signature with mech. The session is held
// until r ends: one process signs one message.
func (k *msgKey) stream(r io.Reader, mech uint) ([]byte, error) {
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	if !k.t.hasSession {
		return nil, errClosed
	}
	m := k.t.mod
	if err := m.SignInit(k.t.session, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, k.h); err != nil {
		return nil, errors.New(ckr(err))
	}
	size := k.pub.Size()
	buf := make([]byte, 64<<10)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := m.SignUpdate(k.t.session, buf[:n]); err != nil {
				return nil, errors.New(ckr(err)) // the token ended the operation (PKCS#11 v3.0 section 5.12)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// PKCS#11 has no way to cancel before v3.0's C_SessionCancel,
			// which tpm2-pkcs11 lacks: finish the signature and drop it.
			k.t.fl.signFinal(k.t.session, size)
			return nil, rerr
		}
	}
	sig, err := k.t.fl.signFinal(k.t.session, size)
	if err != nil {
		return nil, errors.New(ckr(err))
	}
	return sig, nil
}
