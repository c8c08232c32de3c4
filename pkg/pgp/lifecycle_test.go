package pgp

import (
	"bytes"
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/internal/verifytest"
)

// reread serializes c and reads it back as ReadStoredCertificate does,
// so each test looks at what would be stored.
func reread(t *testing.T, c *Certificate) *Certificate {
	t.Helper()
	got, err := ReadStoredCertificate(bytes.NewReader(armoredCert(t, c)))
	if err != nil {
		t.Fatalf("ReadStoredCertificate: %v", err)
	}
	return got
}

func TestExtend(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			oldSelf := c.selfSignature()
			now := testSigTime
			expires := now.AddDate(2, 0, 0)
			if err := c.Extend(k.key, expires, now, crypto.SHA512); err != nil {
				t.Fatalf("Extend: %v", err)
			}
			got := reread(t, c)
			if !got.Expires().Equal(expires) {
				t.Errorf("Expires = %v, want %v", got.Expires(), expires)
			}
			self := got.selfSignature()
			if !self.CreationTime.Equal(now) || self.SigType != packet.SigTypePositiveCert {
				t.Errorf("newest self-signature: type %#x at %v, want 0x13 at %v", self.SigType, self.CreationTime, now)
			}
			if err := got.key().VerifyUserIdSignature(testUID, got.key(), self); err != nil {
				t.Errorf("new self-signature does not verify: %v", err)
			}
			if n := len(got.identity().Signatures); n != 2 {
				t.Errorf("%d user ID signatures, want the old and the new", n)
			}
			// Same flags and preferences, a new time and expiry: for a
			// signstar certificate the area is certificationArea's.
			lifetime, _ := keyLifetime(got.Created(), expires)
			if want := certificationArea(got.key(), now, lifetime); !bytes.Equal(self.HashSuffix[6:6+len(want)], want) || len(self.HashSuffix) != 6+len(want)+6 {
				t.Errorf("hashed area and trailer\n%x, want\n%x", self.HashSuffix[6:], want)
			}
			if !oldSelf.FlagsValid || !self.FlagsValid || self.FlagCertify != oldSelf.FlagCertify || self.FlagSign != oldSelf.FlagSign {
				t.Errorf("key flags changed")
			}
			// A signature made under the old self-signature still verifies.
			if err := got.validAt(testSigTime.AddDate(1, 0, 0)); err != nil {
				t.Errorf("validAt one year on: %v", err)
			}
			if err := got.validAt(expires.Add(time.Second)); err == nil {
				t.Errorf("validAt after the new expiry: nil, want an error")
			}
		})
	}
}

// TestExtendKeepsForeignSubpackets extends a self-signature as gpg makes
// it: symmetric, hash and compression preferences, features and key
// server preferences stay as they were, in order; the old signature
// expiration goes.
func TestExtendKeepsForeignSubpackets(t *testing.T) {
	k := testKeys(t)[0].key
	c := newTestCert(t, k)
	area := subpacket(nil, subCreationTime, false, unixTime(testCreated))
	area = subpacket(area, subSigExpiration, false, []byte{0, 0, 0, 10})
	area = subpacket(area, subKeyFlags, false, []byte{3})
	area = subpacket(area, 11, false, []byte{9, 8, 7, 2})
	area = subpacket(area, subPreferredHash, false, []byte{10, 9, 8})
	area = subpacket(area, 22, false, []byte{2, 3, 1})
	area = subpacket(area, 30, false, []byte{1})
	area = subpacket(area, 23, true, []byte{0x80})
	area = subpacket(area, subIssuerFpr, false, append([]byte{4}, c.key().Fingerprint...))
	u := unsignedSig{packet.SigTypePositiveCert, c.key().PubKeyAlgo, crypto.SHA512, area}
	sig, err := c.signUserID(k, u, c)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the self-signature with gpg's kind.
	e := *c.entity
	id := *c.identity()
	id.Signatures, id.SelfSignature = []*packet.Signature{sig}, sig
	e.Identities = map[string]*openpgp.Identity{id.Name: &id}
	if err := c.replace(&e); err != nil {
		t.Fatal(err)
	}
	if err := c.Extend(k, time.Time{}, testSigTime, crypto.SHA512); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	kept, err := keptSubpackets(reread(t, c).selfSignature())
	if err != nil {
		t.Fatal(err)
	}
	want := subpacket(nil, subKeyFlags, false, []byte{3})
	want = subpacket(want, 11, false, []byte{9, 8, 7, 2})
	want = subpacket(want, subPreferredHash, false, []byte{10, 9, 8})
	want = subpacket(want, 22, false, []byte{2, 3, 1})
	want = subpacket(want, 30, false, []byte{1})
	want = subpacket(want, 23, true, []byte{0x80})
	if !bytes.Equal(kept, want) {
		t.Errorf("kept subpackets\n%x, want\n%x", kept, want)
	}
	if got := reread(t, c).Expires(); !got.IsZero() {
		t.Errorf("Expires = %v after extending to never", got)
	}
}

func TestExtendRefuses(t *testing.T) {
	k := testKeys(t)[0]
	tests := []struct {
		name    string
		key     crypto.Signer
		expires time.Time
		now     time.Time
		want    string
	}{
		{"another key", k.other, time.Time{}, testSigTime, "does not match"},
		{"expiry in the past", k.key, testSigTime.Add(-time.Hour), testSigTime, "not in the future"},
		{"same second as the self-signature", k.key, time.Time{}, testCreated, "must be later"},
		{"before the key", k.key, time.Time{}, testCreated.Add(-time.Hour), "before the key's creation"},
		{"too far", k.key, testCreated.AddDate(137, 0, 0), testSigTime, "136 years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			before := armoredCert(t, c)
			err := c.Extend(tt.key, tt.expires, tt.now, crypto.SHA512)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Extend = %v, want an error mentioning %q", err, tt.want)
			}
			if !bytes.Equal(armoredCert(t, c), before) {
				t.Errorf("a refused Extend changed the certificate")
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			if err := c.Revoke(k.key, ReasonRetired, "moved to the 2027 key", testSigTime, crypto.SHA512); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			got := reread(t, c)
			reason, msg, when, ok := got.Revocation()
			if !ok || reason != ReasonRetired || msg != "moved to the 2027 key" || !when.Equal(testSigTime) {
				t.Errorf("Revocation = %v %q %v %v", reason, msg, when, ok)
			}
			if err := got.key().VerifyRevocationSignature(got.entity.Revocations[0]); err != nil {
				t.Errorf("revocation does not verify: %v", err)
			}
			if _, err := ReadCertificate(bytes.NewReader(armoredCert(t, got))); !errors.Is(err, ErrRevoked) {
				t.Errorf("ReadCertificate of a revoked certificate = %v, want ErrRevoked", err)
			}
		})
	}
}

func TestRevocationCertificate(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			c := newTestCert(t, k.key)
			asc, err := c.RevocationCertificate(k.key, testSigTime, crypto.SHA512)
			if err != nil {
				t.Fatalf("RevocationCertificate: %v", err)
			}
			block, err := armor.Decode(bytes.NewReader(asc))
			if err != nil || block.Type != openpgp.PublicKeyType {
				t.Fatalf("armor: %v, type %q", err, block.Type)
			}
			r := packet.NewReader(block.Body)
			var pkts []packet.Packet
			for {
				p, err := r.Next()
				if err != nil {
					break
				}
				pkts = append(pkts, p)
			}
			if len(pkts) != 2 {
				t.Fatalf("%d packets, want the primary key and a signature", len(pkts))
			}
			pub, ok1 := pkts[0].(*packet.PublicKey)
			sig, ok2 := pkts[1].(*packet.Signature)
			if !ok1 || !ok2 || !bytes.Equal(pub.Fingerprint, c.key().Fingerprint) {
				t.Fatalf("packets %T %T, want this key and a signature", pkts[0], pkts[1])
			}
			if sig.SigType != packet.SigTypeKeyRevocation || sig.RevocationReason == nil || *sig.RevocationReason != 0 {
				t.Errorf("signature type %#x reason %v, want 0x20 reason 0", sig.SigType, sig.RevocationReason)
			}
			if err := c.key().VerifyRevocationSignature(sig); err != nil {
				t.Errorf("revocation does not verify: %v", err)
			}
			if c.Revoked() {
				t.Errorf("making a revocation certificate revoked the certificate itself")
			}
		})
	}
}

func TestCertifyBy(t *testing.T) {
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			oldCert := newTestCert(t, k.key)
			newCert, err := NewCertificate(k.other, "new <new@signstar.invalid>", testCreated, time.Time{}, crypto.SHA512)
			if err != nil {
				t.Fatal(err)
			}
			if err := newCert.CertifyBy(k.key, oldCert, testSigTime, crypto.SHA512); err != nil {
				t.Fatalf("CertifyBy: %v", err)
			}
			got := reread(t, newCert)
			if c := got.Certifiers(); len(c) != 1 || c[0] != oldCert.Fingerprint() {
				t.Errorf("Certifiers = %v, want [%s]", c, oldCert.Fingerprint())
			}
			var third *packet.Signature
			for _, s := range got.identity().Signatures {
				if !s.CheckKeyIdOrFingerprint(got.key()) {
					third = s
				}
			}
			if third.SigType != packet.SigTypeGenericCert {
				t.Errorf("certification type %#x, want 0x10", third.SigType)
			}
			if err := oldCert.key().VerifyUserIdSignature(got.UserID(), got.key(), third); err != nil {
				t.Errorf("certification does not verify with the old key: %v", err)
			}
			if got.Fingerprint() != newCert.Fingerprint() || !got.selfSignature().CreationTime.Equal(testCreated) {
				t.Errorf("the certified certificate changed key or self-signature")
			}
		})
	}
}

func TestCertifyByRefuses(t *testing.T) {
	k := testKeys(t)[0]
	oldCert := newTestCert(t, k.key)
	newCert, err := NewCertificate(k.other, "new <new@signstar.invalid>", testCreated, time.Time{}, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	revoked := oldCert.Clone()
	if err := revoked.Revoke(k.key, ReasonRetired, "", testSigTime, crypto.SHA512); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		key       crypto.Signer
		certifier *Certificate
		want      string
	}{
		{"key not the certifier's", k.other, oldCert, "does not match"},
		{"itself", k.other, newCert, "does not certify itself"},
		{"revoked certifier", k.key, revoked, "revoked"},
		{"token fault", corruptToken{k.key}, oldCert, "check the signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCert.Clone()
			err := c.CertifyBy(tt.key, tt.certifier, testSigTime, crypto.SHA512)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CertifyBy = %v, want an error mentioning %q", err, tt.want)
			}
			if len(c.Certifiers()) != 0 {
				t.Errorf("a refused certification was added")
			}
		})
	}
}

func TestSubpacketLength(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		l, hdr  int
		wantErr bool
	}{
		{"one octet", []byte{2, 1, 0}, 2, 1, false},
		{"two octets", append([]byte{192, 0}, make([]byte, 192)...), 192, 2, false},
		{"five octets", append([]byte{255, 0, 0, 0, 3}, 1, 2, 3), 3, 5, false},
		{"zero", []byte{0}, 0, 0, true},
		{"past the end", []byte{5, 1}, 0, 0, true},
		{"truncated two-octet", []byte{200}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, hdr, err := subpacketLength(tt.in)
			if (err != nil) != tt.wantErr || !tt.wantErr && (l != tt.l || hdr != tt.hdr) {
				t.Errorf("subpacketLength = %d, %d, %v; want %d, %d, error %v", l, hdr, err, tt.l, tt.hdr, tt.wantErr)
			}
		})
	}
}

// FuzzKeptSubpackets: what a new self-signature keeps of a stored one (an
// imported key's self-signature is anyone's making) is whole subpackets
// of its hashed area, in order, none of those written anew, and it parses
// as a subpacket area again.
func FuzzKeptSubpackets(f *testing.F) {
	f.Add(certificationArea(newTestCert(f, testKeys(f)[0].key).key(), testCreated, nil))
	f.Add(subpacket(subpacket(nil, subSigExpiration, true, []byte{0, 0, 0, 1}), 11, false, []byte{9, 8}))
	f.Add([]byte{255, 0, 0, 0, 2, 30, 1})
	f.Add([]byte{193, 0, 1})
	f.Fuzz(func(t *testing.T, area []byte) {
		if len(area) > 0xffff {
			return
		}
		suffix := append([]byte{4, 0x13, 22, 10, byte(len(area) >> 8), byte(len(area))}, area...)
		kept, err := keptSubpackets(&packet.Signature{HashSuffix: suffix})
		if err != nil {
			return
		}
		rest := area
		for len(kept) > 0 {
			l, hdr, err := subpacketLength(kept)
			if err != nil {
				t.Fatalf("kept subpackets do not parse: %v", err)
			}
			switch kept[hdr] &^ 0x80 {
			case subCreationTime, subKeyExpiration, subSigExpiration, subIssuer, subIssuerFpr:
				t.Fatalf("kept subpacket type %d", kept[hdr]&^0x80)
			}
			i := bytes.Index(rest, kept[:hdr+l])
			if i < 0 {
				t.Fatalf("kept subpacket %x is not in the area, in order", kept[:hdr+l])
			}
			rest, kept = rest[i+hdr+l:], kept[hdr+l:]
		}
	})
}

// TestExtendExpired: a key extended after its first expiry signs again,
// and its signatures verify, with a fixed clock; before the extension the
// same signature is refused.
func TestExtendExpired(t *testing.T) {
	k := testKeys(t)[0].key
	c, err := NewCertificate(k, testUID, testCreated, testCreated.AddDate(0, 0, 1), crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("signed after the first expiry\n")
	late := testSigTime // five months after the first expiry
	s, err := NewSigner(c, k, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := s.Sign(&out, bytes.NewReader(data), Options{Time: late}); err == nil {
		t.Fatalf("an expired key signed")
	}
	first := armoredCert(t, c)
	if err := c.Extend(k, late.AddDate(5, 0, 0), late.Add(-time.Hour), crypto.SHA512); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	c = reread(t, c)
	s, err = NewSigner(c, k, crypto.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	sig := sign(t, s, data, Options{Time: late})
	if err := Verify(c, bytes.NewReader(sig), bytes.NewReader(data)); err != nil {
		t.Errorf("Verify with the extended certificate: %v", err)
	}
	if _, err := openpgp.CheckDetachedSignature(openpgp.EntityList{c.entity}, bytes.NewReader(data), bytes.NewReader(sig), &packet.Config{Time: func() time.Time { return late }}); err != nil {
		t.Errorf("go-crypto CheckDetachedSignature at the signature's time: %v", err)
	}
	// sqv judges the key at the signature's time: the fixed clock is the
	// signature's creation time.
	if err := verifytest.SQV(t, armoredCert(t, c), data, sig); err != nil {
		t.Errorf("sqv with the extended certificate: %v", err)
	}
	if err := verifytest.SQV(t, first, data, sig); err == nil {
		t.Errorf("sqv accepts a signature made after the first expiry under the first certificate")
	}
	// gpgv 2.2 accepts it under either certificate: it only notes that
	// a key has expired, so it cannot tell the two apart.
	if err := verifytest.GPGV(t, armoredCert(t, c), data, sig); err != nil {
		t.Errorf("gpgv with the extended certificate: %v", err)
	}
}
