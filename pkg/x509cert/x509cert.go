// Package x509cert makes and checks the X.509 certificates of signstar's
// token keys, for the formats that need one: Linux kernel module
// signatures, UEFI Secure Boot (Authenticode) and detached CMS.
//
// It promises:
//   - [SelfSign] makes a self-signed certificate that the token key signs
//     (a [crypto.Signer]), with the extensions its [Usage] calls for, and
//     checks the signature the key made before returning it.
//   - [CSR] makes a PKCS#10 request signed by the token key.
//   - [CheckImport] accepts a CA-issued certificate only if its public key
//     is the token key's, it and its chain are valid now, and the chain
//     verifies up to its last certificate.
//   - [ParseSubject] reads a subject as RFC 4514 writes it ("CN=...,O=..."),
//     strictly: known attribute types only, no multi-valued RDNs.
//
// Keys: RSA of 2048 bits or more (PKCS#1 v1.5 with SHA-256), ECDSA P-256
// (SHA-256) and P-384 (SHA-384). Ed25519 is refused with [ErrKeyType]:
// neither the kernel's module signature check nor UEFI firmware takes it.
package x509cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Usage is what a certificate is for; it chooses its extended key usage.
type Usage int

const (
	// CodeSigning is for UEFI Secure Boot and CMS: extended key usage
	// codeSigning (RFC 5280 section 4.2.1.12).
	CodeSigning Usage = iota
	// ModuleSigning is for Linux kernel modules only: the module signing
	// extended key usage 1.3.6.1.4.1.2312.16.1.2, which Ubuntu's and
	// Fedora's module signing keys carry and shim (OID_EKU_MODSIGN in
	// shim.c) reads as "modules only": shim refuses such a certificate for
	// a boot image, so a module key cannot boot a kernel.
	ModuleSigning
)

// OIDModuleSigning is the kernel module signing extended key usage.
var OIDModuleSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 2312, 16, 1, 2}

// ParseUsage reads a usage as the command line names it: codesign or kmod.
func ParseUsage(s string) (Usage, error) {
	switch s {
	case "", "codesign":
		return CodeSigning, nil
	case "kmod":
		return ModuleSigning, nil
	}
	return 0, fmt.Errorf("usage %q: want codesign or kmod", s)
}

func (u Usage) String() string {
	if u == ModuleSigning {
		return "kmod"
	}
	return "codesign"
}

// ErrKeyType marks a key that cannot make or hold an X.509 certificate
// here: Ed25519, RSA under 2048 bits, curves other than P-256 and P-384.
var ErrKeyType = errors.New("key type not supported for X.509")

// MaxDays bounds a self-signed certificate's validity: the kernel's
// certs/Makefile makes its own key valid for 36500 days.
const MaxDays = 36500

// SignatureAlgorithm returns the signature algorithm signstar uses with
// pub, or an error wrapping [ErrKeyType].
func SignatureAlgorithm(pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return 0, fmt.Errorf("%w: RSA key of %d bits; want 2048 or more", ErrKeyType, k.N.BitLen())
		}
		return x509.SHA256WithRSA, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return x509.ECDSAWithSHA256, nil
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		}
		return 0, fmt.Errorf("%w: ECDSA curve %s; want P-256 or P-384", ErrKeyType, k.Curve.Params().Name)
	case ed25519.PublicKey:
		return 0, fmt.Errorf("%w: Ed25519 keys cannot sign kernel modules or UEFI images "+
			"(neither the kernel nor the firmware verifies Ed25519); use an RSA or ECDSA P-256/P-384 key", ErrKeyType)
	}
	return 0, fmt.Errorf("%w: %T", ErrKeyType, pub)
}

// SelfSign makes a certificate for key's public key, issued by itself and
// signed by key, valid from now for days days, with the extensions
// usage calls for, as the kernel's certs/default_x509.genkey has them:
// basicConstraints critical CA:FALSE, keyUsage digitalSignature, subject
// and authority key identifiers; and the extended key usage of [Usage].
func SelfSign(key crypto.Signer, subject pkix.Name, days int, usage Usage) (*x509.Certificate, error) {
	if days < 1 || days > MaxDays {
		return nil, fmt.Errorf("validity of %d days: want 1 to %d", days, MaxDays)
	}
	now := time.Now().UTC().Truncate(time.Second)
	return selfSign(key, subject, now, now.AddDate(0, 0, days), usage)
}

func selfSign(key crypto.Signer, subject pkix.Name, notBefore, notAfter time.Time, usage Usage) (*x509.Certificate, error) {
	pub := key.Public()
	alg, err := SignatureAlgorithm(pub)
	if err != nil {
		return nil, err
	}
	skid, err := SubjectKeyID(pub)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		SignatureAlgorithm:    alg,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          skid,
		// crypto/x509 takes the template's AuthorityKeyId for a
		// self-signed certificate; the kernel's genkey asks for keyid.
		AuthorityKeyId: skid,
	}
	switch usage {
	case ModuleSigning:
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDModuleSigning}
	default:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("BUG: parse the certificate just made: %v", err)
	}
	// A token that signs wrongly must not leave a certificate behind.
	if err := selfSigned(cert); err != nil {
		return nil, fmt.Errorf("the key's signature on the certificate does not verify: %w", err)
	}
	return cert, nil
}

// CSR makes a PEM PKCS#10 certificate request (RFC 2986) for key's public
// key, signed by key. It asks for no extensions: the CA decides them.
func CSR(key crypto.Signer, subject pkix.Name) ([]byte, error) {
	alg, err := SignatureAlgorithm(key.Public())
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, SignatureAlgorithm: alg}, key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate request: %w", err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("BUG: parse the certificate request just made: %v", err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the key's signature on the certificate request does not verify: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// newSerial returns 128 random bits as a positive serial number (RFC
// 5280 section 4.1.2.2: positive, at most 20 octets; CA/B Forum asks for
// at least 64 random bits).
func newSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("make serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// SubjectKeyID is RFC 5280 section 4.2.1.2 method (1): the SHA-1 of the
// subjectPublicKey BIT STRING's value, as openssl's
// subjectKeyIdentifier=hash computes it, so a certificate made here and
// one made by openssl for the same key carry the same identifier.
func SubjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, fmt.Errorf("BUG: parse encoded public key: %v", err)
	}
	sum := sha1.Sum(info.PublicKey.Bytes)
	return sum[:], nil
}

// selfSigned checks cert's signature with its own key. Not
// CheckSignatureFrom: that wants the parent to be a CA, and a signing
// certificate is not one (CA:FALSE, as the kernel's genkey makes it).
func selfSigned(cert *x509.Certificate) error {
	return cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature)
}
