package x509cert

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"signstar/internal/testenv"
)

// issued is a certificate and its key.
type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// issue makes a certificate for key (a new P-256 key if nil), signed by
// parent (self-signed if nil), valid from nb to na.
func issue(t *testing.T, cn string, key crypto.Signer, parent *issued, ca bool, nb, na time.Time) issued {
	t.Helper()
	if key == nil {
		key = testKey(t, "p256")
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: nb, NotAfter: na, BasicConstraintsValid: true, IsCA: ca,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	p, pk := tmpl, key
	if parent != nil {
		p, pk = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p, key.Public(), pk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return issued{c, key}
}

func TestCheckImport(t *testing.T) {
	now := time.Now()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	token := testKey(t, "p256")
	root := issue(t, "Root CA", nil, nil, true, past, future)
	inter := issue(t, "Intermediate CA", nil, &root, true, past, future)
	leaf := issue(t, "Signing Key", token, &inter, false, past, future)
	direct := issue(t, "Signing Key", token, &root, false, past, future)
	other := issue(t, "Someone Else", nil, &inter, false, past, future)
	selfSigned := issue(t, "Self", token, nil, false, past, future)
	expired := issue(t, "Signing Key", token, &inter, false, past.Add(-time.Hour), past)
	notYet := issue(t, "Signing Key", token, &inter, false, future, future.Add(time.Hour))
	expiredCA := issue(t, "Old Intermediate", nil, &root, true, past.Add(-time.Hour), past)
	underExpired := issue(t, "Signing Key", token, &expiredCA, false, past, future)
	otherRoot := issue(t, "Other Root", nil, nil, true, past, future)
	unrelated := issue(t, "Unrelated", nil, &otherRoot, true, past, future)

	tokenHash, _ := KeyHash(token.Public())
	otherHash, _ := KeyHash(other.key.Public())
	p := func(cs ...issued) []byte {
		var b []byte
		for _, c := range cs {
			b = append(b, EncodePEM(c.cert)...)
		}
		return b
	}
	tests := []struct {
		name      string
		cert      []byte
		chain     []byte
		wantChain []string
		wantErr   string
	}{
		{"intermediate and root", p(leaf), p(inter, root), []string{"Intermediate CA", "Root CA"}, ""},
		{"chain out of order", p(leaf), p(root, inter), nil, `off the path from "CN=Signing Key" to "CN=Intermediate CA" (the chain's last certificate): "CN=Root CA"`},
		{"full chain in the certificate file", p(leaf, inter), p(root), []string{"Intermediate CA", "Root CA"}, ""},
		{"issued by the root", p(direct), p(root), []string{"Root CA"}, ""},
		{"DER certificate", direct.cert.Raw, p(root), []string{"Root CA"}, ""},
		{"self-signed, no chain", p(selfSigned), nil, nil, ""},
		{"CA-issued, no chain", p(leaf), nil, nil, `certificate "CN=Signing Key" is issued by CN=Intermediate CA: give that issuer's certificate`},
		{"another key", p(other), p(inter, root), nil, `certificate "CN=Someone Else" is for another key: its public key is ` + otherHash + `, the token key's is ` + tokenHash},
		{"expired", p(expired), p(inter, root), nil, `certificate "CN=Signing Key" expired on `},
		{"not yet valid", p(notYet), p(inter, root), nil, `certificate "CN=Signing Key" is not valid before `},
		{"expired intermediate", p(underExpired), p(expiredCA, root), nil, `certificate "CN=Old Intermediate" expired on `},
		{"missing intermediate", p(leaf), p(root), nil, `does not verify up to "CN=Root CA"`},
		{"wrong root", p(leaf), p(inter, otherRoot), nil, `does not verify up to "CN=Other Root"`},
		{"certificate off the path", p(leaf), p(inter, unrelated, root), nil, `off the path from "CN=Signing Key" to "CN=Root CA" (the chain's last certificate): "CN=Unrelated"`},
		{"private key in the file", append(p(leaf), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})...), p(inter, root), nil, `PEM block "PRIVATE KEY": want CERTIFICATE`},
		{"garbage", []byte("hello"), nil, nil, "not PEM certificates"},
		{"empty", nil, nil, nil, "read certificate: no certificate"},
		{"garbage chain", p(leaf), []byte("x"), nil, "read chain: not PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, chain, err := checkImport(tt.cert, tt.chain, token.Public(), now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CheckImport: %v, want error containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckImport: %v", err)
			}
			if err := SameKey(c, token.Public()); err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, x := range chain {
				names = append(names, x.Subject.CommonName)
			}
			if strings.Join(names, ",") != strings.Join(tt.wantChain, ",") {
				t.Fatalf("chain %v, want %v", names, tt.wantChain)
			}
		})
	}
}

// TestCheckImportOpenSSLCA: a certificate that openssl issues from a CSR
// made here is accepted with openssl's CA as chain; one it issues for a
// key of its own is refused.
func TestCheckImportOpenSSLCA(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	token := testKey(t, "rsa2048")
	csr, err := CSR(token, mustSubject(t, "CN=Test Key"))
	if err != nil {
		t.Fatal(err)
	}
	caKey, caCert := dir+"/ca.key", dir+"/ca.pem"
	run(t, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", caKey, "-subj", "/CN=Throwaway CA", "-days", "2", "-out", caCert)
	run(t, openssl, "x509", "-req", "-in", writeFile(t, dir, "req.pem", csr), "-CA", caCert, "-CAkey", caKey,
		"-days", "1", "-out", dir+"/cert.pem")
	c, chain, err := CheckImport(readFile(t, dir+"/cert.pem"), readFile(t, caCert), token.Public())
	if err != nil {
		t.Fatalf("CheckImport: %v", err)
	}
	if c.Subject.CommonName != "Test Key" || len(chain) != 1 || chain[0].Subject.CommonName != "Throwaway CA" {
		t.Fatalf("got %v with chain %v", c.Subject, chain)
	}

	run(t, openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", dir+"/other.key",
		"-subj", "/CN=Other", "-out", dir+"/other.csr")
	run(t, openssl, "x509", "-req", "-in", dir+"/other.csr", "-CA", caCert, "-CAkey", caKey,
		"-days", "1", "-out", dir+"/other.pem")
	_, _, refused := CheckImport(readFile(t, dir+"/other.pem"), readFile(t, caCert), token.Public())
	if refused == nil || !strings.Contains(refused.Error(), "is for another key") {
		t.Fatalf("CheckImport of another key's certificate: %v", refused)
	}
	// What the message names is what openssl says of the two keys.
	out, err := exec.Command("sh", "-c", openssl+" x509 -noout -pubkey -in "+dir+"/other.pem | "+
		openssl+" pkey -pubin -outform DER | "+openssl+" dgst -sha256 -r").Output()
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := strings.Cut(string(out), " "); !strings.Contains(refused.Error(), "sha256:"+h) {
		t.Fatalf("error %q does not name the SPKI hash openssl computes, %s", refused, h)
	}
	if !bytes.Contains([]byte(refused.Error()), []byte("the token key's is sha256:")) {
		t.Fatalf("error %q does not name the token key", refused)
	}
}
