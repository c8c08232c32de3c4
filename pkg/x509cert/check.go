package x509cert

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// CheckImport reads a CA-issued certificate for the token key pub and
// the chain above it, and accepts them only if
//   - the certificate's public key is pub (else the error names both
//     keys' SPKI hashes, see [KeyHash]),
//   - it and every chain certificate are valid now,
//   - the chain verifies up to its last certificate, taken as the root,
//     and holds no certificate off that path; without a chain the
//     certificate must be self-signed.
//
// certPEM holds the certificate first, then perhaps its chain (a CA's
// "full chain" file); chainPEM holds the rest of the chain, issuer
// first. Both are PEM, or certPEM a single DER certificate. It returns
// the certificate and the chain in path order, root last.
func CheckImport(certPEM, chainPEM []byte, pub crypto.PublicKey) (*x509.Certificate, []*x509.Certificate, error) {
	return checkImport(certPEM, chainPEM, pub, time.Now())
}

func checkImport(certPEM, chainPEM []byte, pub crypto.PublicKey, now time.Time) (*x509.Certificate, []*x509.Certificate, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	leaf, chain := certs[0], certs[1:]
	if len(bytes.TrimSpace(chainPEM)) > 0 {
		more, err := ParseCertificates(chainPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("read chain: %w", err)
		}
		chain = append(chain, more...)
	}
	if _, err := SignatureAlgorithm(leaf.PublicKey); err != nil {
		return nil, nil, fmt.Errorf("certificate %s: %w", name(leaf), err)
	}
	if err := SameKey(leaf, pub); err != nil {
		return nil, nil, err
	}
	for _, c := range append([]*x509.Certificate{leaf}, chain...) {
		if err := validAt(c, now); err != nil {
			return nil, nil, err
		}
	}
	path, err := verify(leaf, chain, now)
	if err != nil {
		return nil, nil, err
	}
	return leaf, path[1:], nil
}

// SameKey refuses cert unless its public key is pub, naming both keys.
func SameKey(cert *x509.Certificate, pub crypto.PublicKey) error {
	k, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if ok && k.Equal(pub) {
		return nil
	}
	return fmt.Errorf("certificate %s is for another key: its public key is %s, the token key's is %s",
		name(cert), keyHashOrErr(cert.PublicKey), keyHashOrErr(pub))
}

// validAt refuses a certificate that is expired or not yet valid at now.
func validAt(c *x509.Certificate, now time.Time) error {
	switch {
	case now.After(c.NotAfter):
		return fmt.Errorf("certificate %s expired on %s", name(c), c.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(c.NotBefore):
		return fmt.Errorf("certificate %s is not valid before %s", name(c), c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}

// verify builds the path from leaf through chain to chain's last
// certificate (or leaf itself, without a chain) and returns it, leaf
// first. Any extended key usage will do: the formats check their own.
func verify(leaf *x509.Certificate, chain []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	root := leaf
	if len(chain) > 0 {
		root = chain[len(chain)-1]
	} else if err := selfSigned(leaf); err != nil {
		return nil, fmt.Errorf("certificate %s is issued by %s: give that issuer's certificate, and any between it and the root, as the chain",
			name(leaf), leaf.Issuer)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range chain[:max(len(chain)-1, 0)] {
		inter.AddCert(c)
	}
	paths, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, fmt.Errorf("certificate %s does not verify up to %s: %v", name(leaf), name(root), strings.TrimPrefix(err.Error(), "x509: "))
	}
	for _, p := range paths {
		if len(p) == 1+len(chain) || len(chain) == 0 {
			return p[:1+len(chain)], nil
		}
	}
	return nil, fmt.Errorf("the chain holds certificates that are off the path from %s to %s (the chain's last certificate): %s",
		name(leaf), name(root), offPath(paths[0], chain))
}

// offPath names the certificates of chain that path does not use.
func offPath(path, chain []*x509.Certificate) string {
	var off []string
	for _, c := range chain {
		on := false
		for _, p := range path {
			on = on || p.Equal(c)
		}
		if !on {
			off = append(off, name(c))
		}
	}
	return strings.Join(off, ", ")
}

// name says which certificate a message is about: its subject in RFC
// 4514 form, quoted.
func name(c *x509.Certificate) string { return fmt.Sprintf("%q", c.Subject.String()) }

// ParseCertificates reads one or more PEM CERTIFICATE blocks, or one DER
// certificate. Anything else in the input (another PEM type, text between
// blocks) is refused: a private key pasted in by mistake must not be
// stored beside the config.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	if len(data) > 0 && data[0] == 0x30 { // a DER SEQUENCE
		c, err := x509.ParseCertificate(data)
		if err != nil {
			return nil, fmt.Errorf("DER: %w", err)
		}
		return []*x509.Certificate{c}, nil
	}
	var certs []*x509.Certificate
	rest := data
	for len(bytes.TrimSpace(rest)) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		switch {
		case b == nil:
			return nil, errors.New("not PEM certificates (or one DER certificate)")
		case b.Type != "CERTIFICATE":
			return nil, fmt.Errorf("PEM block %q: want CERTIFICATE", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	return certs, nil
}

// EncodePEM writes certs as PEM CERTIFICATE blocks, in order.
func EncodePEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// KeyHash names a public key: "sha256:" and the hex SHA-256 of its DER
// SubjectPublicKeyInfo, what `openssl pkey -pubin -outform DER | sha256sum`
// prints for it.
func KeyHash(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func keyHashOrErr(pub crypto.PublicKey) string {
	h, err := KeyHash(pub)
	if err != nil {
		return fmt.Sprintf("a %T", pub)
	}
	return h
}

// Fingerprint is the certificate's SHA-256 fingerprint as
// `openssl x509 -noout -fingerprint -sha256` prints it (AB:CD:...).
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	s := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(s); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(s[i : i+2])
	}
	return b.String()
}
