package keyring

// The token lock rule, in one place. A Keyring holds the token's lock
// file (token.lock-file) from Open to Close, except while one of its keys
// waits for input: a slow client must not stop every other signer for as
// long as its upload takes, so Sign and SignHash let the lock go before
// they read and take it back before the token signs. The second half is
// not left to the signing code: the token key sits behind a guard that
// pgp must go through to sign, and the guard takes the lock back first.
// A new signing path (a new format, a batch) therefore cannot reach the
// token without the lock; at worst it forgets to release it and holds the
// lock while it reads.

import (
	"crypto"
	"fmt"
	"hash"
	"io"
	"slices"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/pgp"
)

// SignOptions tune one signature (see [pgp.Options]) and say what to check
// before the token signs.
type SignOptions struct {
	pgp.Options

	// Ready, if set, runs once the input is read, before the lock is taken
	// back and the token signs: the login shell checks there that its
	// client is still there to receive the signature. An error stops the
	// signature and is returned as it is. For a key whose token hashes
	// the input itself ([pgp.MessageSigner]) the token reads the input,
	// so Ready runs before the input is read.
	Ready func() error
}

// HashedInput is a digest-only input as the caller's read function found
// it (see [Key.SignHash]).
type HashedInput struct {
	// Hash has absorbed the signed data. It must be of the key's hash
	// type (see [pgp.Signer.SignHash]).
	Hash hash.Hash
	// Notations describe the signed data (RFC 4880 section 5.2.3.16);
	// they come before [pgp.Options] Notations in the signature.
	Notations []*packet.Notation
}

// Sign signs what r holds, as [pgp.Signer.Sign] does: it writes the
// signature to w and says what it signed. Other processes may use the
// token while r streams in (see the package doc); the token signs only
// once the lock is back. Sign returns with the lock held, whatever
// happened.
func (k *Key) Sign(w io.Writer, r io.Reader, o SignOptions) (pgp.Digest, error) {
	if err := k.guard.release(o.Ready); err != nil {
		return pgp.Digest{}, err
	}
	d, err := k.signer.Sign(w, r, o.Options)
	return d, k.guard.end(err)
}

// ClearSign makes a cleartext signed message of the text r holds, as
// [pgp.Signer.ClearSign] does, under the lock rule of [Key.Sign]: the
// lock is let go while r streams in and back before the token signs.
// For a detached text signature, set o.Text and call [Key.Sign].
func (k *Key) ClearSign(w io.Writer, r io.Reader, o SignOptions) (pgp.Digest, error) {
	if err := k.guard.release(o.Ready); err != nil {
		return pgp.Digest{}, err
	}
	d, err := k.signer.ClearSign(w, r, o.Options)
	return d, k.guard.end(err)
}

// SignHash signs a digest-only input: read reads it from r and returns
// the hash to sign, as [pgp.Signer.SignHash] does. Other processes may use
// the token while read runs, whose error is returned as it is; the token
// signs only once the lock is back. SignHash returns with the lock held,
// whatever happened. A key that cannot sign hashes (see
// [Key.SignsHashes]) is refused with [pgp.ErrNeedsMessage] before r is
// read.
func (k *Key) SignHash(r io.Reader, read func(io.Reader) (HashedInput, error), o SignOptions) ([]byte, error) {
	if !k.SignsHashes() {
		return nil, fmt.Errorf("sign hash: %w", pgp.ErrNeedsMessage)
	}
	if err := k.guard.release(o.Ready); err != nil {
		return nil, err
	}
	in, err := read(r)
	if err != nil {
		return nil, k.guard.end(err)
	}
	o.Notations = slices.Concat(in.Notations, o.Notations)
	sig, err := k.signer.SignHash(in.Hash, o.Options)
	return sig, k.guard.end(err)
}

// SignWith signs in a format outside OpenPGP (CMS, Authenticode, kernel
// module and X.509 signatures): build reads what it signs from r and has
// key, the token key behind the lock guard, sign it, under the lock rule
// of [Key.Sign]: the lock is let go while build reads and taken back
// when key first signs. A key whose token must hash the input itself
// ([Key.SignsHashes] false) is refused with [pgp.ErrNeedsMessage] before
// r is read. SignWith returns with the lock held, whatever happened.
func (k *Key) SignWith(r io.Reader, build func(r io.Reader, key crypto.Signer) ([]byte, error), o SignOptions) ([]byte, error) {
	if !k.SignsHashes() {
		return nil, fmt.Errorf("sign: %w", pgp.ErrNeedsMessage)
	}
	if err := k.guard.release(o.Ready); err != nil {
		return nil, err
	}
	out, err := build(r, k.guard)
	return out, k.guard.end(err)
}

// Public is the token key's public key.
func (k *Key) Public() crypto.PublicKey { return k.guard.Public() }

// Unlocked runs f with the lock let go, for a keyring kept open across
// many signatures: a batch records and writes out each signature while
// other signers use the token, as a request on its own does after Close.
// A client that stops reading then blocks only its own session. Should f
// sign, the guard takes the lock back first, as always. Unlocked returns
// with the lock held, and f's error, or the lock's.
func (k *Key) Unlocked(f func() error) error {
	if err := k.guard.release(nil); err != nil {
		return err
	}
	err := f()
	if lerr := k.guard.retake(); err == nil {
		err = lerr
	}
	return err
}

// SignAll signs what r holds with every key of ks, which come from one
// [Keyring], reading r once, as [pgp.SignAll] does: one output with a
// signature by each key, that of ks[i] carrying notations[i] after
// o.Notations. The lock rule of [Key.Sign] holds for all of
// them: the lock is let go while r streams in and back before the first
// key signs; o.Ready runs once. A key whose token hashes the input itself
// cannot join several ([pgp.ErrNeedsMessage]). SignAll returns with the
// lock held, whatever happened.
func SignAll(ks []*Key, w io.Writer, r io.Reader, o SignOptions, notations [][]*packet.Notation) (pgp.Digest, error) {
	return signAll(ks, o, func(ss []*pgp.Signer) (pgp.Digest, error) { return pgp.SignAll(w, r, ss, o.Options, notations) })
}

// ClearSignAll is [SignAll] for a cleartext signed message, as
// [pgp.ClearSignAll] makes it.
func ClearSignAll(ks []*Key, w io.Writer, r io.Reader, o SignOptions, notations [][]*packet.Notation) (pgp.Digest, error) {
	return signAll(ks, o, func(ss []*pgp.Signer) (pgp.Digest, error) { return pgp.ClearSignAll(w, r, ss, o.Options, notations) })
}

// signAll lets the lock go through every key's guard, so whichever key
// the token reaches first takes it back (the others find it held: flock
// on the same file is a no-op then), and ends every guard.
func signAll(ks []*Key, o SignOptions, sign func([]*pgp.Signer) (pgp.Digest, error)) (pgp.Digest, error) {
	ready := o.Ready
	if ready != nil {
		ready = sync.OnceValue(ready)
	}
	ss := make([]*pgp.Signer, len(ks))
	for i, k := range ks {
		if err := k.guard.release(ready); err != nil {
			return pgp.Digest{}, endAll(ks[:i], err)
		}
		ss[i] = k.signer
	}
	d, err := sign(ss)
	return d, endAll(ks, err)
}

// endAll ends the guard of each key with err and returns the first error
// one of them returned: a guard the token never reached with err nil is a
// signature made without the lock.
func endAll(ks []*Key, err error) error {
	var first error
	for _, k := range ks {
		if e := k.guard.end(err); e != nil && first == nil {
			first = e
		}
	}
	if first == nil {
		first = err
	}
	return first
}

// SignsHashes reports whether [Key.SignHash] can work: false for a key
// whose token hashes the whole input itself (RSA on tpm2-pkcs11).
func (k *Key) SignsHashes() bool { return k.signer.SignsHashes() }

// locker is the token's lock file: [token.Token] implements it (without a
// lock file, both methods do nothing). Tests watch it through a fake.
type locker interface {
	ReleaseLock() error
	ReacquireLock() error
}

// guard stands between pgp and the token key of one [Key]. Between
// release and end, the first use of the key first runs the caller's Ready
// and takes the lock back. A Key signs one thing at a time, so this state
// needs no mutex.
type guard struct {
	key  crypto.Signer
	lock locker

	released bool         // the lock was let go and is not back yet
	ready    func() error // the caller's check, run once before the lock is taken back
	err      error        // what ready or the lock returned, returned as it is
}

// signer is the key pgp signs with: g, and a [pgp.MessageSigner] if the
// token key is one, since pgp tells the two kinds apart by their type.
func (g *guard) signer() crypto.Signer {
	if ms, ok := g.key.(pgp.MessageSigner); ok {
		return messageGuard{g, ms}
	}
	return g
}

// release lets the lock go before the input is read.
func (g *guard) release(ready func() error) error {
	if err := g.lock.ReleaseLock(); err != nil {
		return err
	}
	g.released, g.ready, g.err = true, ready, nil
	return nil
}

// take runs ready and takes the lock back, once per release; the token
// may be used if it returns nil.
func (g *guard) take() error {
	if g.err != nil || !g.released {
		return g.err
	}
	if g.ready != nil {
		if g.err = g.ready(); g.err != nil {
			return g.err
		}
	}
	if g.err = g.lock.ReacquireLock(); g.err != nil {
		return g.err
	}
	g.released = false
	return nil
}

// retake takes the lock back if it is still let go.
func (g *guard) retake() error {
	g.ready, g.err = nil, nil
	if !g.released {
		return nil
	}
	if err := g.lock.ReacquireLock(); err != nil {
		return err
	}
	g.released = false
	return nil
}

// end takes the lock back if the token was never reached (the input or
// Ready failed) and returns err, or Ready's or the lock's own error as it
// is rather than as pgp wrapped it.
func (g *guard) end(err error) error {
	if g.err != nil {
		err = g.err
	}
	g.ready, g.err = nil, nil
	if !g.released {
		return err
	}
	lerr := g.lock.ReacquireLock()
	if lerr == nil {
		g.released = false
	}
	switch {
	case err == nil:
		// pgp cannot sign without the key, and the key takes the lock.
		return fmt.Errorf("BUG: a signature was made without the token lock")
	case lerr != nil:
		return fmt.Errorf("%w (and %v)", err, lerr)
	}
	return err
}

// Public returns the token key's public key, which the token signers keep
// in memory: it needs no lock.
func (g *guard) Public() crypto.PublicKey { return g.key.Public() }

// Sign has the token sign digest once the lock is back.
func (g *guard) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if err := g.take(); err != nil {
		return nil, err
	}
	return g.key.Sign(rand, digest, opts)
}

// messageGuard is the guard of a key whose token hashes the input itself
// and so reads it: the lock is back before the first byte is read.
type messageGuard struct {
	*guard
	ms pgp.MessageSigner
}

func (g messageGuard) SignMessage(r io.Reader, h crypto.Hash) ([]byte, error) {
	if err := g.take(); err != nil {
		return nil, err
	}
	return g.ms.SignMessage(r, h)
}
