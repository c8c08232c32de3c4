// Package audit keeps signstar's audit trail: one record per request (one
// per key for a signature by several keys, sharing the request ID), naming
// who asked (account, SSH key, client address), what they asked for, with
// which key, and how it ended, its [Result]:
//
//   - [Signed]: a signature was made, with the size and digests of what was
//     signed; it is released only after this record is written.
//   - [Answered]: a request that signs nothing (cert, version, help) was
//     answered; a certificate answer names the key and its fingerprint.
//   - [Refused]: the client asked for something it may not have.
//   - [Failed]: a valid request that could not be carried out.
//   - [Changed]: a key lifecycle command of the admin CLI did its work;
//     its [Event] says which (generate, adopt, import, extend, revoke,
//     rotate, delete, x509). A refused or failed one is recorded as
//     [Refused] or [Failed] with its event.
//
// A signed request whose signature could then not be written out (the
// client hung up) gets a second record with the same request id,
// [Undelivered], repeating the key and digests: only a signed record with
// no undelivered one after it stands for a signature someone received.
//
// It promises four things. A [Sink] acquires every file and socket it needs
// in [Open], so [Sink.Write] runs unchanged after the seccomp and landlock
// lockdown. [Sink.Write] returns only once the entry has been handed to
// journald, or written whole and fsync'd to the file, and an error
// otherwise: the caller holds the signature back until then and fails
// closed. A record never says more than happened: [Record] refuses, as a
// BUG, a signature without its key and digests, an answer with digests, a
// refusal or failure without its reason; and the file sink never leaves half
// a record behind (see [Open]). And nothing secret is logged: no PIN and no
// input content, only its size and digests; every value is cut to a bound and
// stripped of control characters, so a client cannot forge or bloat entries.
package audit

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"signstar/pkg/refusal"
	"signstar/pkg/remote"
)

// Result is how a request ended.
type Result string

const (
	// Signed: a signature was made. The record carries the key, its
	// fingerprint, the form of signature ([Format]), the input's size and
	// digests and the signature's creation time, and is written before
	// the signature is released.
	Signed Result = "signed"
	// Answered: a request that produced no signature but an answer (cert,
	// version, help). It may name a key and its fingerprint (cert: the
	// certificate handed out), never digests or an error.
	Answered Result = "answered"
	Refused  Result = "refused" // the client asked for something it may not have
	Failed   Result = "failed"  // a valid request that could not be carried out
	// Undelivered: a second record for a request already recorded as
	// Signed, written when the signature could not be written to the
	// requester (the client hung up). It carries why in Error and the same
	// key, fingerprint, size, digests and creation time as the signed
	// record, so that an auditor can match the two.
	Undelivered Result = "undelivered"
	// Changed: a key lifecycle command (the admin CLI, never the login
	// shell) did its work. The record carries the [Event], the key and
	// its fingerprint; a command that acted on several keys (rotate)
	// leaves one record per key with the same request id, as a signature
	// by several keys does.
	Changed Result = "changed"
)

// Event is the key lifecycle command a record stands for: on a Changed
// record, and on a Refused or Failed one of such a command.
type Event string

const (
	KeyGenerate Event = "generate" // key generate: a new key pair on the token
	KeyAdopt    Event = "adopt"    // key adopt: a key pair made by another tool
	KeyImport   Event = "import"   // key import: an existing OpenPGP key put on the token
	KeyExtend   Event = "extend"   // key extend: a new self-signature with another expiry
	KeyRevoke   Event = "revoke"   // key revoke: a key revocation signature
	KeyRotate   Event = "rotate"   // key rotate: a new key certified by the old, made default
	KeyDelete   Event = "delete"   // key delete: a key taken out of the config (and the token)
	KeyX509     Event = "x509"     // key x509: an X.509 certificate made, requested or imported
)

// known reports whether e is one of the events above.
func (e Event) known() bool {
	switch e {
	case KeyGenerate, KeyAdopt, KeyImport, KeyExtend, KeyRevoke, KeyRotate, KeyDelete, KeyX509:
		return true
	}
	return false
}

// Format is the form of signature a signed record stands for.
type Format string

const (
	Detached     Format = "detached"      // a detached binary-document signature (type 0x00)
	DetachedText Format = "detached-text" // a detached canonical-text signature (type 0x01, gpg -t)
	Cleartext    Format = "cleartext"     // a cleartext signed message (RFC 4880 section 7)
	Request      Format = "request"       // the answer to a digest-only signing request

	Kmod         Format = "kmod"         // a Linux kernel module signature (CMS, scripts/sign-file)
	Authenticode Format = "authenticode" // a UEFI PE/COFF image signed with Authenticode
	CMS          Format = "cms"          // a detached CMS (PKCS #7) signature
)

// X509 reports whether f is one of the X.509 formats.
func (f Format) X509() bool { return f == Kmod || f == Authenticode || f == CMS }

// Mode is how signstar was started.
type Mode string

const (
	CLI Mode = "cli" // the admin command line, "signstar sign"
	SSH Mode = "ssh" // the login shell of an SSH account
)

// Record is one request. Write fills in MESSAGE, PRIORITY and
// SYSLOG_IDENTIFIER; empty fields are left out of the entry.
type Record struct {
	RequestID string // NewRequestID, shared by every line logged for the request
	Mode      Mode
	Result    Result
	Error     string // why: refused, failed or undelivered; empty otherwise
	// Warning is a lockdown downgrade, e.g. "landlock best-effort: ...",
	// or the file sink's note that it repaired the file (see [Open]).
	Warning string
	// ModuleOutput is what the PKCS#11 module and the libraries under it
	// wrote to stderr, kept from the SSH client (one line, " | " between
	// the module's lines).
	ModuleOutput string

	User   string // local account
	SSHKey string // fingerprint of the authenticating key, "SHA256:..."
	Client string // "address port" from SSH_CONNECTION

	Request        string // the client's command line, raw: Write sanitizes it
	Key            string // key name
	KeyFingerprint string // OpenPGP fingerprint of the key
	// Format is the form of signature made, in a signed or undelivered
	// record only.
	Format Format

	// InputSize and the digests describe the signed bytes (pgp.Digest),
	// in a signed or undelivered record only.
	// InputSHA256 is nil for a signing request (package request), where
	// signstar sees only a SHA-512 state: size and SHA-512 come from it.
	InputSize        int64
	InputSHA256      []byte
	InputSHA512      []byte
	SignatureCreated time.Time
	// SignedDigest is the digest an X.509 signature covers where it is
	// not the input's: a kernel module's without its old signature, a
	// PE image's Authenticode hash.
	SignedDigest []byte
	// LogIndex is the signature's leaf in the transparency log (package
	// translog), decimal, in a signed or undelivered record; empty when
	// the host keeps no log.
	LogIndex string

	// Event is the key lifecycle command recorded, in the CLI only; with
	// it, Result is Changed, Refused or Failed.
	Event Event
	// Detail says in a few words what the lifecycle command changed
	// ("ed25519, expires 2028-01-31", "reason retired"), with Event only.
	Detail string

	// Batch is the session ID of the batch ('sign --batch') a record
	// belongs to, and BatchSeq the request's place in it, from 1; see
	// batch.go.
	Batch    string
	BatchSeq int
}

// ResultOf is the Result for a signing request that ended with err: Signed,
// Refused or Failed. Answered and Undelivered are set by the caller, who
// knows the request signs nothing or the signature did not get out.
func ResultOf(err error) Result {
	switch {
	case err == nil:
		return Signed
	case errors.Is(err, refusal.Err):
		return Refused
	}
	return Failed
}

// NewRequestID returns a random 128-bit request id in hex.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24)
	return hex.EncodeToString(b[:])
}

// Sink is where records go.
type Sink interface {
	// Write records r. A nil error means the entry is with journald or on
	// disk; on error the caller must not release the signature.
	Write(r *Record) error
	// WriteAll records rs as Write does, all or none: the file sink
	// writes them with one write(2) and one fsync(2), so a batch pays
	// one sync for a group of signatures (cmd/signstar, batch.go).
	// journald and stderr send them one by one: nothing to sync.
	WriteAll(rs []*Record) error
	Close() error
}

// writeEach is WriteAll for a sink with nothing to sync.
func writeEach(s Sink, rs []*Record) error {
	for _, r := range rs {
		if err := s.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// ErrStderrInLoginShell refuses the stderr sink in the login shell, where
// stderr goes back to the SSH client.
var ErrStderrInLoginShell = errors.New("audit sink stderr is not allowed in the login shell: stderr goes to the SSH client")

// Open acquires the sink spec names (see ParseSink): the journald socket is
// created and connected, the file opened, here and not in Write. loginShell
// refuses the stderr sink with [ErrStderrInLoginShell].
//
// The file must be a regular file, not writable by group or others; a FIFO,
// socket or device is refused at once, never waited on. Each record is one
// JSON line appended with one write(2); a write the file system did not take
// whole (a full disk) is cut back, so the file holds whole lines only. A file
// found ending in an unterminated line (a crash, power loss, or a full disk
// when the cut itself failed) is terminated here with a newline, and the
// next record this sink writes says so in its warning.
func Open(spec string, loginShell bool) (Sink, error) {
	kind, path, err := parseSink(spec)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "journald":
		return openJournald(journalSocket)
	case "file":
		return openFile(path)
	}
	if loginShell {
		return nil, ErrStderrInLoginShell
	}
	return newStderr(), nil
}

// Bounds on field values, in bytes before the "..." that marks a cut. With
// every value bounded an entry stays under 8 KiB, far below a datagram's
// limit, so journald's memfd path for big entries is never needed.
const (
	maxShort   = 256  // names, addresses, fingerprints
	maxLong    = 1024 // error and warning text
	maxMessage = 2048
)

// field is one journal field. Names are fixed here and match
// [A-Z0-9_]+, not starting with '_', as journald requires.
type field struct{ name, value string }

// fields is the entry for r, in a fixed order, values sanitized and bounded.
// It fails on a record that cannot be right, so a caller's bug withholds
// the signature instead of logging a wrong entry.
func (r *Record) fields() ([]field, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	f := []field{
		{"MESSAGE", clean(r.message(), maxMessage)},
		{"PRIORITY", strconv.Itoa(r.priority())},
		{"SYSLOG_IDENTIFIER", "signstar"},
		{"SIGNSTAR_REQUEST_ID", clean(r.RequestID, maxShort)},
		{"SIGNSTAR_MODE", string(r.Mode)},
		{"SIGNSTAR_RESULT", string(r.Result)},
	}
	add := func(name, value string, n int) {
		if value != "" {
			f = append(f, field{name, clean(value, n)})
		}
	}
	add("SIGNSTAR_ERROR", r.Error, maxLong)
	add("SIGNSTAR_WARNING", r.Warning, maxLong)
	add("SIGNSTAR_MODULE_OUTPUT", r.ModuleOutput, maxLong)
	add("SIGNSTAR_USER", r.User, maxShort)
	add("SIGNSTAR_SSH_KEY", r.SSHKey, maxShort)
	add("SIGNSTAR_CLIENT", r.Client, maxShort)
	if r.Mode == SSH {
		// Always there in the login shell: empty means the client sent no
		// command, which signs with the default key.
		f = append(f, field{"SIGNSTAR_REQUEST", remote.Sanitize(r.Request)})
	}
	add("SIGNSTAR_KEY", r.Key, maxShort)
	add("SIGNSTAR_KEY_FINGERPRINT", r.KeyFingerprint, maxShort)
	add("SIGNSTAR_EVENT", string(r.Event), maxShort)
	add("SIGNSTAR_DETAIL", r.Detail, maxLong)
	add("SIGNSTAR_BATCH", r.Batch, maxShort)
	if r.BatchSeq > 0 {
		f = append(f, field{"SIGNSTAR_BATCH_SEQ", strconv.Itoa(r.BatchSeq)})
	}
	if r.Result == Signed || r.Result == Undelivered {
		f = append(f, field{"SIGNSTAR_FORMAT", string(r.Format)})
		if r.InputSHA512 != nil { // nil: an X.509 digest-only request, see SignedDigest
			f = append(f, field{"SIGNSTAR_INPUT_SIZE", strconv.FormatInt(r.InputSize, 10)})
			add("SIGNSTAR_INPUT_SHA256", hex.EncodeToString(r.InputSHA256), maxShort)
			f = append(f, field{"SIGNSTAR_INPUT_SHA512", hex.EncodeToString(r.InputSHA512)})
		}
		f = append(f, field{"SIGNSTAR_SIGNATURE_CREATED", r.SignatureCreated.UTC().Format(time.RFC3339)})
		add("SIGNSTAR_SIGNED_DIGEST", hex.EncodeToString(r.SignedDigest), maxShort)
		add("SIGNSTAR_LOG_INDEX", r.LogIndex, maxShort)
	}
	return f, nil
}

// check rejects records that would log a lie: a signature without its
// key and digests, an answer that claims input or an error, a refusal,
// failure or undelivered signature without its reason.
func (r *Record) check() error {
	switch {
	case r.RequestID == "":
		return errors.New("BUG: audit record without a request id")
	case r.Mode != CLI && r.Mode != SSH:
		return fmt.Errorf("BUG: audit record with mode %q", r.Mode)
	}
	if r.Event == BatchEnd {
		return r.checkBatchEnd()
	}
	if r.BatchSeq < 0 || r.BatchSeq > 0 && r.Batch == "" {
		return errors.New("BUG: audit record with a batch place but no batch")
	}
	if r.Event != "" || r.Result == Changed || r.Detail != "" {
		return r.checkEvent()
	}
	switch r.Result {
	case Signed, Answered:
		if r.Error != "" {
			return fmt.Errorf("BUG: audit record %s with an error", r.Result)
		}
	case Refused, Failed, Undelivered:
		if r.Error == "" {
			return fmt.Errorf("BUG: audit record %s without an error", r.Result)
		}
	default:
		return fmt.Errorf("BUG: audit record with result %q", r.Result)
	}
	switch r.Result {
	case Signed, Undelivered:
		return r.checkSignature()
	case Answered:
		return r.checkAnswer()
	}
	return nil
}

// checkSignature wants what identifies a signature: key, fingerprint,
// format, input size, SHA-512 (SHA-256 too, unless a signing request gave
// only a SHA-512 state; neither for an X.509 digest-only request, which
// has the signed digest instead) and creation time.
func (r *Record) checkSignature() error {
	switch r.Format {
	case Detached, DetachedText, Cleartext, Request, CMS:
	case Kmod, Authenticode:
		if len(r.SignedDigest) < 32 {
			return fmt.Errorf("BUG: audit record %s of format %s without the signed digest", r.Result, r.Format)
		}
	default:
		return fmt.Errorf("BUG: audit record %s with format %q", r.Result, r.Format)
	}
	// An X.509 digest-only request shows signstar only the digest it
	// signs: no input, so no input size or digests.
	digestOnly := r.InputSHA512 == nil && r.InputSHA256 == nil && r.InputSize == 0 &&
		r.Format.X509() && len(r.SignedDigest) >= 32
	if !digestOnly && len(r.InputSHA512) != 64 {
		return fmt.Errorf("BUG: audit record %s without the input's SHA-512", r.Result)
	}
	// A signing request may be for an empty file (only streamed input
	// must not be empty), so size 0 is a valid size.
	if r.InputSize < 0 ||
		(r.InputSHA256 != nil && len(r.InputSHA256) != 32) ||
		r.SignatureCreated.IsZero() || r.Key == "" || r.KeyFingerprint == "" {
		return fmt.Errorf("BUG: audit record %s without key, input size, digest or creation time", r.Result)
	}
	return nil
}

// checkAnswer refuses an answer that claims something was signed, or that
// names a key without the fingerprint of what was handed out (or the
// reverse).
func (r *Record) checkAnswer() error {
	switch {
	case r.InputSize != 0 || r.InputSHA256 != nil || r.InputSHA512 != nil || !r.SignatureCreated.IsZero() || r.Format != "" || r.SignedDigest != nil:
		return errors.New("BUG: audit record answered with input digests, a signature time or format: nothing was signed")
	case (r.Key == "") != (r.KeyFingerprint == ""):
		return errors.New("BUG: audit record answered with a key name but no fingerprint, or the reverse")
	}
	return nil
}

// checkEvent wants of a key lifecycle record: a known event, from the
// admin CLI (nothing of it is reachable from the login shell); for a
// change, the key and its fingerprint and no error; for a refusal or
// failure, its reason; never input, digests, a format or a signature time.
func (r *Record) checkEvent() error {
	switch {
	case !r.Event.known():
		return fmt.Errorf("BUG: audit record %s with event %q", r.Result, r.Event)
	case r.Mode != CLI:
		return fmt.Errorf("BUG: audit record of key %s in mode %s", r.Event, r.Mode)
	case r.InputSize != 0 || r.InputSHA256 != nil || r.InputSHA512 != nil || !r.SignatureCreated.IsZero() || r.Format != "" || r.SignedDigest != nil:
		return fmt.Errorf("BUG: audit record of key %s with input digests, a signature time or format", r.Event)
	}
	switch r.Result {
	case Changed:
		if r.Error != "" || r.Key == "" || r.KeyFingerprint == "" {
			return fmt.Errorf("BUG: audit record of key %s changed with an error, or without key and fingerprint", r.Event)
		}
	case Refused, Failed:
		if r.Error == "" {
			return fmt.Errorf("BUG: audit record of key %s %s without an error", r.Event, r.Result)
		}
	default:
		return fmt.Errorf("BUG: audit record of key %s with result %q", r.Event, r.Result)
	}
	return nil
}

// priority is the syslog level, RFC 5424 section 6.2.1. Undelivered is a
// warning, as refused is: nothing failed on the signing host and nothing
// was released that should not have been, but the signed record before it
// no longer means someone holds a signature, and a run of them (uploads
// cut off on purpose) deserves a look.
func (r *Record) priority() int {
	switch r.Result {
	case Signed, Answered:
		return 6 // info
	case Changed:
		return 5 // notice: a key came, went or changed, rare and worth reading
	case Refused, Undelivered:
		return 4 // warning
	}
	return 3 // err
}

// message is the one line an admin reads in plain journalctl output.
func (r *Record) message() string {
	var m string
	switch {
	case r.Event == BatchEnd:
		m = r.batchEndMessage()
	case r.Event != "":
		m = r.eventMessage()
	case r.Result == Signed:
		m = fmt.Sprintf("signed %s with key %q for %s", r.signed(" (%s)"), r.Key, r.who())
	case r.Result == Answered:
		m = "answered " + r.asked()
		if r.Key != "" {
			m += fmt.Sprintf(" for key %q", r.Key)
		}
		m += " to " + r.who()
	case r.Result == Undelivered:
		m = fmt.Sprintf("signature for request %s (%s) with key %q was NOT delivered to %s: %s",
			clean(r.RequestID, maxShort), r.signed(", %s"), r.Key, r.who(), clean(r.Error, maxLong))
	default:
		m = fmt.Sprintf("%s %s: %s", r.Result, r.who(),
			strings.TrimPrefix(clean(r.Error, maxLong), "refused: "))
	}
	if r.Warning != "" {
		m += " [warning: " + clean(r.Warning, maxLong) + "]"
	}
	return m
}

// eventMessage is the line for a key lifecycle record: `key generate
// "repo" (C0FFEE...) by root via cli: ed25519`, or `refused key delete
// "repo" by root via cli: give --yes`.
func (r *Record) eventMessage() string {
	m := "key " + string(r.Event)
	if r.Key != "" {
		m += fmt.Sprintf(" %q", clean(r.Key, maxShort))
	}
	if r.KeyFingerprint != "" {
		m += " (" + clean(r.KeyFingerprint, maxShort) + ")"
	}
	m += " by " + r.who()
	if r.Result != Changed {
		return fmt.Sprintf("%s %s: %s", r.Result, m, strings.TrimPrefix(clean(r.Error, maxLong), "refused: "))
	}
	if r.Detail != "" {
		m += ": " + clean(r.Detail, maxLong)
	}
	return m
}

// signed says what was signed: "1234 bytes" and, after it in form, the
// start of the input's SHA-256, or of its SHA-512 for a signing request
// ("sha256 5891b5b522d5df08..."); for an X.509 digest-only request, "a
// kmod digest" and the signed digest.
func (r *Record) signed(form string) string {
	if r.InputSHA512 == nil {
		return fmt.Sprintf("a %s digest"+form, r.Format, fmt.Sprintf("%x...", r.SignedDigest[:8]))
	}
	alg, sum := "sha256", r.InputSHA256
	if sum == nil {
		alg, sum = "sha512", r.InputSHA512
	}
	return fmt.Sprintf("%d bytes"+form, r.InputSize, fmt.Sprintf("%s %x...", alg, sum[:8]))
}

// asked is what an answered request asked for, the first word of its
// command line ("cert", "version", "help"), or "a request" if it has none.
func (r *Record) asked() string {
	w, _, _ := strings.Cut(strings.TrimSpace(remote.Sanitize(r.Request)), " ")
	if w == "" {
		return "a request"
	}
	return clean(w, 32)
}

// who names the requester: "signer (SHA256:...) from 192.0.2.7 51234", or
// "root via cli".
func (r *Record) who() string {
	w := clean(r.User, maxShort)
	if w == "" {
		w = "unknown user"
	}
	if r.SSHKey != "" {
		w += " (" + clean(r.SSHKey, maxShort) + ")"
	}
	if r.Client != "" {
		w += " from " + clean(r.Client, maxShort)
	}
	if r.Mode == CLI {
		w += " via cli"
	}
	return w
}

// clean makes s safe for one log field: invalid UTF-8 and runes that are
// not printable (control characters, newlines, bidi overrides) become '?',
// and it is cut to at most n bytes, on a rune boundary, plus "...".
func clean(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
