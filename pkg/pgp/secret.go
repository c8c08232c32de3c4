package pgp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	goecdsa "github.com/ProtonMail/go-crypto/openpgp/ecdsa"
	goeddsa "github.com/ProtonMail/go-crypto/openpgp/eddsa"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// RSA moduli [ReadSecretKey] takes: what signstar would generate and
// what distributions' existing keys use (gpg's 2048, 3072 and 4096).
const (
	minImportRSABits = 2048
	maxImportRSABits = 4096
)

// SecretKey is one signing key taken from an OpenPGP transferable secret
// key (RFC 4880 section 11.2), ready for the token: its public half as
// the standard library holds it, its secret as raw big-endian values, and
// what signstar stores as its certificate. Call [SecretKey.Wipe] as soon
// as the token holds it.
type SecretKey struct {
	// Fingerprint is the imported key's v4 fingerprint: the primary
	// key's, or the subkey's named with [SecretKeyOptions.Subkey].
	Fingerprint string
	// Algorithm names the key as [Certificate.Algorithm] does
	// ("ed25519", "rsa3072", "p256").
	Algorithm string
	// Public is an ed25519.PublicKey, *rsa.PublicKey or *ecdsa.PublicKey.
	Public crypto.PublicKey
	Secret Secret

	// Cert is the original's public part for a primary key: the key
	// packet, its direct-key signatures and one user ID with its
	// signatures, as they were (creation time and self-signatures
	// unchanged, so the fingerprint and what verifiers trust stay). It
	// is nil for a subkey, which signstar can only hold as a certificate
	// of its own (see [SecretKey.Subkey]).
	Cert *Certificate
	// Subkey is set when a subkey was chosen: the new certificate must
	// then be made by the token key, for UserID, Created and Expires
	// (zero: never), so that its fingerprint is the subkey's.
	Subkey  bool
	UserID  string
	Created time.Time
	Expires time.Time

	// LeftOut says, one line each, what of the input is not imported:
	// other subkeys, other user IDs, the primary key of a subkey.
	LeftOut []string
}

// Secret is private key material, big-endian, without leading zeros
// removed: Seed for Ed25519 (32 bytes, RFC 8032 section 5.1.5); D alone
// for ECDSA (the scalar, as long as the curve's order); D, P, Q, DP, DQ
// and QInv for RSA, named as in PKCS#1 (RFC 8017 section 3.2: QInv is
// q^-1 mod p).
type Secret struct {
	Seed                  []byte
	D, P, Q, DP, DQ, QInv []byte
}

// Wipe overwrites every value with zeros.
func (s *Secret) Wipe() {
	for _, b := range [][]byte{s.Seed, s.D, s.P, s.Q, s.DP, s.DQ, s.QInv} {
		clear(b)
	}
}

// Wipe overwrites the secret key material with zeros.
func (k *SecretKey) Wipe() { k.Secret.Wipe() }

// SecretKeyOptions say how to read a secret key.
type SecretKeyOptions struct {
	// Passphrase decrypts a protected key (RFC 4880 section 5.5.3); an
	// encrypted key without one is refused with [ErrEncrypted].
	Passphrase []byte
	// Subkey, if set, is the fingerprint (hex, spaces allowed) of the
	// key to import, a signing subkey or the primary key.
	Subkey string
}

// Errors of [ReadSecretKey] a caller may branch on.
var (
	ErrEncrypted     = errors.New("the secret key is protected by a passphrase")
	ErrBadPassphrase = errors.New("wrong passphrase")
)

// ReadSecretKey reads one transferable secret key, armored or binary, and
// takes from it the signing key to import: the primary key, or the key
// opts.Subkey names. It refuses a key it cannot decrypt, a v6 key, one
// that may not sign, a secret gpg left out of the export (a stub), and
// algorithms signstar does not sign with: Ed25519 in its legacy EdDSA
// form (algorithm 22), RSA of 2048 to 4096 bits, ECDSA on P-256 or P-384.
//
// The secret values are copied out of go-crypto's key and go-crypto's
// own copies zeroed (see [wipeGoKey] for what cannot be). The caller owns
// data and should zero it too.
func ReadSecretKey(data []byte, opts SecretKeyOptions) (*SecretKey, error) {
	e, err := readSecretEntity(data)
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	defer wipeEntity(e)
	k, err := secretKey(e, opts)
	if err != nil {
		return nil, fmt.Errorf("read secret key %X: %w", e.PrimaryKey.Fingerprint, err)
	}
	return k, nil
}

// readSecretEntity parses data as exactly one transferable secret key.
func readSecretEntity(data []byte) (*openpgp.Entity, error) {
	body, err := dearmor(bytes.NewReader(data), openpgp.PrivateKeyType)
	if err != nil {
		return nil, err
	}
	packets := packet.NewReader(body)
	e, err := openpgp.ReadEntity(packets)
	if err != nil {
		return nil, err
	}
	if _, err := packets.Next(); err != io.EOF {
		wipeEntity(e)
		return nil, errors.New("more than one key, or trailing data")
	}
	if e.PrivateKey == nil {
		return nil, errors.New("no secret key: this is a public certificate")
	}
	return e, nil
}

// secretKey picks the key to import from e and converts it.
func secretKey(e *openpgp.Entity, opts SecretKeyOptions) (*SecretKey, error) {
	if e.PrimaryKey.Version != 4 {
		return nil, fmt.Errorf("key version %d: signstar imports v4 keys", e.PrimaryKey.Version)
	}
	id := e.PrimaryIdentity()
	if id == nil {
		return nil, errors.New("no self-signed user id")
	}
	priv, sig, leftOut, err := choose(e, opts.Subkey)
	if err != nil {
		return nil, err
	}
	if err := decrypt(priv, opts.Passphrase); err != nil {
		return nil, err
	}
	k, err := convert(priv)
	if err != nil {
		return nil, err
	}
	k.LeftOut = append(leftOut, otherUserIDs(e, id)...)
	if err := k.describe(e, id, sig); err != nil {
		k.Wipe()
		return nil, err
	}
	return k, nil
}

// choose returns the private key to import and its binding (or, for the
// primary, user ID self-) signature, with the subkeys left out.
func choose(e *openpgp.Entity, want string) (*packet.PrivateKey, *packet.Signature, []string, error) {
	want = strings.ToUpper(strings.ReplaceAll(want, " ", ""))
	primary := fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
	var leftOut []string
	var chosen *openpgp.Subkey
	for i := range e.Subkeys {
		s := &e.Subkeys[i]
		fpr := fmt.Sprintf("%X", s.PublicKey.Fingerprint)
		if want != "" && fpr == want {
			chosen = s
			continue
		}
		leftOut = append(leftOut, fmt.Sprintf("subkey %s (%s, %s) not imported", fpr, describeKey(s.PublicKey), usage(s.Sig)))
	}
	sig := e.PrimaryIdentity().SelfSignature
	switch {
	case want == "" || want == primary:
		if !canSign(sig) {
			return nil, nil, nil, fmt.Errorf("the primary key may not sign (key flags %s); name a signing subkey with --subkey", usage(sig))
		}
		return e.PrivateKey, sig, leftOut, nil
	case chosen == nil:
		return nil, nil, nil, fmt.Errorf("no key %s in it", want)
	case chosen.PrivateKey == nil:
		return nil, nil, nil, fmt.Errorf("subkey %s has no secret in the export", want)
	case !canSign(chosen.Sig):
		return nil, nil, nil, fmt.Errorf("subkey %s (%s) may not sign (key flags %s)", want, describeKey(chosen.PublicKey), usage(chosen.Sig))
	}
	leftOut = append(leftOut, fmt.Sprintf("primary key %s not imported: only subkey %s is", primary, want))
	return chosen.PrivateKey, chosen.Sig, leftOut, nil
}

// canSign says whether a self-signature lets its key sign: key flag 0x02
// (RFC 4880 section 5.2.3.21), or no key flags at all, which older keys
// have and verifiers accept.
// A missing signature (go-crypto keeps none that does not verify) signs
// nothing.
func canSign(sig *packet.Signature) bool { return sig != nil && (!sig.FlagsValid || sig.FlagSign) }

func usage(sig *packet.Signature) string {
	if sig == nil {
		return "none: no valid self-signature"
	}
	if !sig.FlagsValid {
		return "none"
	}
	var u []string
	for _, f := range []struct {
		ok   bool
		name string
	}{{sig.FlagCertify, "certify"}, {sig.FlagSign, "sign"}, {sig.FlagEncryptCommunications || sig.FlagEncryptStorage, "encrypt"}, {sig.FlagAuthenticate, "authenticate"}} {
		if f.ok {
			u = append(u, f.name)
		}
	}
	if len(u) == 0 {
		return "none"
	}
	return strings.Join(u, ",")
}

// describeKey names a key packet's algorithm for messages.
func describeKey(pk *packet.PublicKey) string {
	bits, _ := pk.BitLength()
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoDSA:
		return fmt.Sprintf("dsa%d", bits)
	case packet.PubKeyAlgoElGamal:
		return fmt.Sprintf("elgamal%d", bits)
	case packet.PubKeyAlgoECDH:
		if curve, err := pk.Curve(); err == nil {
			return "ecdh-" + strings.ToLower(string(curve))
		}
	}
	return (&Certificate{entity: &openpgp.Entity{PrimaryKey: pk}}).Algorithm()
}

// decrypt decrypts priv with passphrase if it is protected, and refuses a
// secret gpg did not export (GNU S2K extension 1001, a stub).
func decrypt(priv *packet.PrivateKey, passphrase []byte) error {
	switch {
	case priv.Dummy():
		return errors.New("the export holds no secret for this key (a gpg stub: export it where the secret is)")
	case !priv.Encrypted:
		return nil
	case len(passphrase) == 0:
		return ErrEncrypted
	}
	if err := priv.Decrypt(passphrase); err != nil {
		// go-crypto says "private key checksum failure" or the like;
		// with RFC 4880's SHA-1 check (section 5.5.3) a wrong
		// passphrase is the cause, barring a corrupt file.
		return fmt.Errorf("%w (%v)", ErrBadPassphrase, err)
	}
	return nil
}

// convert copies priv's public and secret values into a SecretKey and
// checks that the two belong together: the public key signstar derives
// from the secret has priv's fingerprint.
func convert(priv *packet.PrivateKey) (*SecretKey, error) {
	pk := priv.PublicKey
	k := &SecretKey{Fingerprint: fmt.Sprintf("%X", pk.Fingerprint), Created: pk.CreationTime}
	var err error
	switch s := priv.PrivateKey.(type) {
	case *rsa.PrivateKey:
		err = k.fromRSA(s)
	case *goecdsa.PrivateKey:
		err = k.fromECDSA(&pk, s)
	case *goeddsa.PrivateKey:
		err = k.fromEdDSA(&pk, s)
	default:
		err = fmt.Errorf("unsupported algorithm %s: signstar imports Ed25519 (legacy EdDSA), RSA %d to %d and ECDSA P-256 or P-384",
			describeKey(&pk), minImportRSABits, maxImportRSABits)
	}
	if err != nil {
		k.Wipe()
		return nil, err
	}
	return k, k.check(&pk)
}

// check derives the OpenPGP key from the public half taken from the
// secret and compares fingerprints (RFC 4880 section 12.2).
func (k *SecretKey) check(pk *packet.PublicKey) error {
	derived, err := publicKey(k.Public, pk.CreationTime)
	if err != nil {
		k.Wipe()
		return err
	}
	if !bytes.Equal(derived.Fingerprint, pk.Fingerprint) {
		k.Wipe()
		return fmt.Errorf("BUG: key %X converts to %X", pk.Fingerprint, derived.Fingerprint)
	}
	k.Algorithm = describeKey(pk)
	return nil
}

func (k *SecretKey) fromRSA(s *rsa.PrivateKey) error {
	if bits := s.N.BitLen(); bits < minImportRSABits || bits > maxImportRSABits {
		return fmt.Errorf("unsupported algorithm: rsa%d (signstar imports RSA keys of %d to %d bits)", bits, minImportRSABits, maxImportRSABits)
	}
	if len(s.Primes) != 2 {
		return fmt.Errorf("rsa key with %d primes, want 2", len(s.Primes))
	}
	// go-crypto puts OpenPGP's q first, so that Go's CRT coefficient is
	// OpenPGP's u (RFC 4880 section 5.5.3); any order works for PKCS#1
	// as long as QInv is computed for it.
	p, q := s.Primes[0], s.Primes[1]
	one := big.NewInt(1)
	pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
	dp, dq := new(big.Int).Mod(s.D, pm1), new(big.Int).Mod(s.D, qm1)
	qinv := new(big.Int).ModInverse(q, p)
	defer wipeInts(pm1, qm1, dp, dq, qinv)
	if qinv == nil {
		return errors.New("rsa key: q has no inverse mod p")
	}
	k.Public = &rsa.PublicKey{N: new(big.Int).Set(s.N), E: s.E}
	k.Secret = Secret{D: s.D.Bytes(), P: p.Bytes(), Q: q.Bytes(), DP: dp.Bytes(), DQ: dq.Bytes(), QInv: qinv.Bytes()}
	return nil
}

func (k *SecretKey) fromECDSA(pk *packet.PublicKey, s *goecdsa.PrivateKey) error {
	var c elliptic.Curve
	switch curve, _ := pk.Curve(); curve {
	case packet.CurveNistP256:
		c = elliptic.P256()
	case packet.CurveNistP384:
		c = elliptic.P384()
	default:
		return fmt.Errorf("unsupported algorithm %s: signstar imports ECDSA on P-256 and P-384", describeKey(pk))
	}
	// go-crypto checks that d times the base point is the public key,
	// which d + n passes too; FillBytes would panic on it.
	if s.D.Sign() <= 0 || s.D.Cmp(c.Params().N) >= 0 {
		return fmt.Errorf("ecdsa secret out of range for %s", c.Params().Name)
	}
	d := s.D.FillBytes(make([]byte, (c.Params().BitSize+7)/8))
	key, err := ecdsa.ParseRawPrivateKey(c, d)
	if err != nil {
		clear(d)
		return fmt.Errorf("ecdsa key: %w", err)
	}
	k.Public, k.Secret = &key.PublicKey, Secret{D: d}
	// key holds a copy of d in crypto/ecdsa's internals, out of reach;
	// it is garbage once this returns.
	return nil
}

func (k *SecretKey) fromEdDSA(pk *packet.PublicKey, s *goeddsa.PrivateKey) error {
	if curve, _ := pk.Curve(); curve != packet.Curve25519 {
		return fmt.Errorf("unsupported algorithm %s: signstar imports Ed25519", describeKey(pk))
	}
	if len(s.D) != ed25519.SeedSize {
		return fmt.Errorf("ed25519 secret of %d bytes, want %d", len(s.D), ed25519.SeedSize)
	}
	seed := bytes.Clone(s.D)
	full := ed25519.NewKeyFromSeed(seed)
	k.Public = ed25519.PublicKey(bytes.Clone(full[ed25519.SeedSize:]))
	clear(full)
	k.Secret = Secret{Seed: seed}
	return nil
}

// describe fills in the certificate: the original's public part for a
// primary key, or what the token must certify for a subkey.
func (k *SecretKey) describe(e *openpgp.Entity, id *openpgp.Identity, sig *packet.Signature) error {
	k.UserID = id.Name
	if k.Fingerprint != fmt.Sprintf("%X", e.PrimaryKey.Fingerprint) {
		k.Subkey = true
		if l := sig.KeyLifetimeSecs; l != nil && *l != 0 {
			k.Expires = k.Created.Add(time.Duration(*l) * time.Second)
		}
		return nil
	}
	c, err := publicPart(e, id)
	if err != nil {
		return err
	}
	k.Cert = c
	return nil
}

// publicPart is the certificate of e's primary key with user ID id only:
// go-crypto serializes the signatures it parsed with their subpackets as
// read, so the self-signatures are the original's byte for byte. It is
// read back as any stored certificate is.
func publicPart(e *openpgp.Entity, id *openpgp.Identity) (*Certificate, error) {
	pub := &openpgp.Entity{
		PrimaryKey:  e.PrimaryKey,
		Identities:  map[string]*openpgp.Identity{id.Name: id},
		Revocations: e.Revocations,
		Signatures:  e.Signatures,
	}
	var buf bytes.Buffer
	if err := pub.Serialize(&buf); err != nil {
		return nil, fmt.Errorf("serialize the public certificate: %w", err)
	}
	c, err := ReadCertificate(&buf)
	if err != nil {
		return nil, fmt.Errorf("public part: %w", err)
	}
	return c, nil
}

// otherUserIDs lists the user IDs other than id, which signstar's
// one-user-ID certificate leaves out.
func otherUserIDs(e *openpgp.Entity, id *openpgp.Identity) []string {
	var out []string
	for name := range e.Identities {
		if name != id.Name {
			out = append(out, fmt.Sprintf("user id %q not kept in signstar's certificate (the original certificate keeps it)", name))
		}
	}
	sort.Strings(out)
	return out
}

// wipeEntity zeroes the secret values go-crypto holds for e.
func wipeEntity(e *openpgp.Entity) {
	wipeGoKey(e.PrivateKey)
	for _, s := range e.Subkeys {
		wipeGoKey(s.PrivateKey)
	}
}

// wipeGoKey zeroes the secret go-crypto parsed into priv, as far as Go
// allows: the words behind each big.Int (big.Int.Bits shares them) and
// the EdDSA seed. Out of reach, unreferenced once ReadSecretKey returns
// and gone with the process (or with the next garbage collection's reuse
// of their memory), are:
//   - crypto/rsa's precomputed copy of the key (rsa.PrivateKey.Precompute,
//     which go-crypto calls, keeps one in an unexported field), and
//     crypto/ecdsa's copy of the scalar in the key fromECDSA parses;
//   - go-crypto's buffers: the secret key packet's body it read whole
//     (plaintext for an unprotected key), the plaintext it decrypted, the
//     key it derived from the passphrase (S2K, RFC 4880 section 3.7);
//   - the bufio and armor (base64) decoders' buffers of the input;
//   - temporaries of math/big arithmetic (the CRT values fromRSA
//     computes are zeroed; the library's scratch space is not).
//
// This package writes none of it anywhere; keeping it out of core dumps
// and swap is the process's (signstar key import turns off core dumps
// and locks its memory before it reads the key).
func wipeGoKey(priv *packet.PrivateKey) {
	if priv == nil {
		return
	}
	switch s := priv.PrivateKey.(type) {
	case *rsa.PrivateKey:
		wipeInts(s.D, s.Precomputed.Dp, s.Precomputed.Dq, s.Precomputed.Qinv)
		wipeInts(s.Primes...)
		for _, v := range s.Precomputed.CRTValues {
			wipeInts(v.Exp, v.Coeff, v.R)
		}
	case *goecdsa.PrivateKey:
		wipeInts(s.D)
	case *goeddsa.PrivateKey:
		clear(s.D)
	}
}

func wipeInts(xs ...*big.Int) {
	for _, x := range xs {
		if x != nil {
			clear(x.Bits())
			x.SetInt64(0)
		}
	}
}
