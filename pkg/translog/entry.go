package translog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Entry is one released signature, as the log records it (see the
// package doc for its encoding).
type Entry struct {
	Time    time.Time // when it was signed; recorded in UTC to the second
	Account string    // the signing account
	SSHKey  string    // the client's SSH key fingerprint (SHA256:...)
	Key     string    // the signing key's fingerprint
	Format  string    // the signature format
	Size    int64     // input size in bytes; -1: not seen (digest-only)
	// DigestHash and Digest are the input's hash, or the digest the
	// client sent.
	DigestHash crypto.Hash
	Digest     []byte
	// Signature is the SHA-256 of the signature bytes released
	// ([SignatureSum]).
	Signature [sha256.Size]byte
}

// SignatureSum is the value of [Entry.Signature] for sig.
func SignatureSum(sig []byte) [sha256.Size]byte { return sha256.Sum256(sig) }

const (
	entryHeader = "signstar-log-entry v1"
	maxValue    = 256
	// MaxEntrySize bounds an encoded entry; an entry bundle's length
	// prefix is 16 bits.
	MaxEntrySize = 4096
)

// entryFields are the lines after the header, in their order.
var entryFields = []string{"time", "account", "ssh-key", "key", "format", "size", "digest", "signature"}

// digestNames are the hashes a digest may name, as the entry spells them.
var digestNames = map[crypto.Hash]string{
	crypto.SHA1: "sha1", crypto.SHA224: "sha224", crypto.SHA256: "sha256",
	crypto.SHA384: "sha384", crypto.SHA512: "sha512",
}

// MarshalText encodes e canonically; it refuses an entry that has no
// encoding (an empty or non-printable value, an unknown hash, a digest of
// the wrong length).
func (e Entry) MarshalText() ([]byte, error) {
	name, ok := digestNames[e.DigestHash]
	if !ok || len(e.Digest) != e.DigestHash.Size() {
		return nil, fmt.Errorf("encode log entry: digest is not one of sha1, sha224, sha256, sha384, sha512 of its length")
	}
	ts := e.Time.UTC().Format(time.RFC3339)
	if _, err := parseTime(ts); err != nil {
		return nil, fmt.Errorf("encode log entry: %v", err)
	}
	size := "-"
	if e.Size >= 0 {
		size = strconv.FormatInt(e.Size, 10)
	}
	values := []string{
		ts, e.Account, e.SSHKey, e.Key, e.Format, size,
		name + ":" + hex.EncodeToString(e.Digest),
		"sha256:" + hex.EncodeToString(e.Signature[:]),
	}
	var b bytes.Buffer
	b.WriteString(entryHeader + "\n")
	for i, v := range values {
		if err := checkValue(v); err != nil {
			return nil, fmt.Errorf("encode log entry: %s: %v", entryFields[i], err)
		}
		fmt.Fprintf(&b, "%s %s\n", entryFields[i], v)
	}
	return b.Bytes(), nil
}

// checkValue says why v cannot be a value, if it cannot.
func checkValue(v string) error {
	if v == "" || len(v) > maxValue {
		return fmt.Errorf("must be 1 to %d bytes", maxValue)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return errors.New("must be printable ASCII without space")
		}
	}
	return nil
}

// ParseEntry decodes an entry, accepting only the canonical encoding
// [Entry.MarshalText] makes: ParseEntry(b) succeeds exactly when
// MarshalText gives b back.
func ParseEntry(b []byte) (Entry, error) {
	e, err := parseEntry(b)
	if err != nil {
		return Entry{}, fmt.Errorf("parse log entry: %v", err)
	}
	return e, nil
}

func parseEntry(b []byte) (Entry, error) {
	if len(b) > MaxEntrySize {
		return Entry{}, fmt.Errorf("longer than %d bytes", MaxEntrySize)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) != len(entryFields)+2 || lines[0] != entryHeader || lines[len(lines)-1] != "" {
		return Entry{}, fmt.Errorf("want the line %q and %d more, each ended by a newline", entryHeader, len(entryFields))
	}
	v := make([]string, len(entryFields))
	for i, f := range entryFields {
		name, value, _ := strings.Cut(lines[i+1], " ")
		if name != f {
			return Entry{}, fmt.Errorf("line %d: want %q", i+2, f)
		}
		if err := checkValue(value); err != nil {
			return Entry{}, fmt.Errorf("%s: %v", f, err)
		}
		v[i] = value
	}
	var e Entry
	var err error
	if e.Time, err = parseTime(v[0]); err != nil {
		return Entry{}, err
	}
	e.Account, e.SSHKey, e.Key, e.Format = v[1], v[2], v[3], v[4]
	if e.Size, err = parseSize(v[5]); err != nil {
		return Entry{}, err
	}
	if e.DigestHash, e.Digest, err = parseDigest(v[6]); err != nil {
		return Entry{}, err
	}
	h, sum, err := parseDigest(v[7])
	if err != nil || h != crypto.SHA256 {
		return Entry{}, errors.New("signature: want sha256:HEX")
	}
	copy(e.Signature[:], sum)
	return e, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UTC().Format(time.RFC3339) != s {
		return time.Time{}, errors.New("time: want RFC 3339 UTC to the second (2006-01-02T15:04:05Z)")
	}
	return t.UTC(), nil
}

func parseSize(s string) (int64, error) {
	if s == "-" {
		return -1, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, errors.New(`size: want a decimal number of bytes or "-"`)
	}
	return n, nil
}

func parseDigest(s string) (crypto.Hash, []byte, error) {
	name, x, _ := strings.Cut(s, ":")
	for h, n := range digestNames {
		if n != name {
			continue
		}
		sum, err := hex.DecodeString(x)
		if err != nil || len(sum) != h.Size() || hex.EncodeToString(sum) != x {
			return 0, nil, fmt.Errorf("digest: want %d lower-case hex digits after %s:", 2*h.Size(), n)
		}
		return h, sum, nil
	}
	return 0, nil, errors.New("digest: want sha1, sha224, sha256, sha384 or sha512, a colon and hex")
}
