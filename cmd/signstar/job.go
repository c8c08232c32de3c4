//go:build linux && cgo

package main

// A job is one signing request, from the CLI or the login shell. It ends
// with one audit record, and what it produced reaches stdout only after
// that record was written: a signature that was not recorded is never
// released. A signature by several keys (sign --key OLD --key NEW) ends
// with one record per key, all with the request's ID: each record keeps
// the meaning every field has always had (SIGNSTAR_KEY and
// SIGNSTAR_KEY_FINGERPRINT name the one key that signed), so a search of
// the trail by key finds the signatures of a key transition too.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
	"signstar/pkg/remote"
	"signstar/pkg/request"
)

type job struct {
	rec    *audit.Record
	sink   audit.Sink
	cfg    *config.Config
	stderr *moduleStderr  // the module's stderr, captured in the login shell
	also   []*keyring.Key // the keys after the first of a signature by several
	tl     jobLog         // the transparency log (translog.go)
}

// openJob opens the audit sink the config names, or journald if the config
// could not be read (cfgErr), so that failure is recorded too; if even
// that fails, the config's error is the one worth reporting.
func openJob(cfg *config.Config, cfgErr error, rec *audit.Record) (*job, error) {
	spec := ""
	if cfg != nil {
		spec = cfg.Audit.Sink
	}
	sink, err := audit.Open(spec, rec.Mode == audit.SSH)
	if err != nil && cfgErr != nil {
		return nil, fmt.Errorf("%w (not recorded: %v)", cfgErr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open audit trail: %w; refusing to sign without one", err)
	}
	return &job{rec: rec, sink: sink, cfg: cfg}, nil
}

// finish records how a signing job ended and, only if that worked, writes
// out the signature.
func (j *job) finish(out []byte, err error) error { return j.end(audit.Signed, out, err) }

// answer is finish for a request that signs nothing (cert, version, help):
// it is recorded as answered, so the trail knows who fetched what.
func (j *job) answer(out []byte, err error) error { return j.end(audit.Answered, out, err) }

func (j *job) end(ok audit.Result, out []byte, err error) error {
	defer j.sink.Close()
	out, err = j.settle(ok, out, err)
	if err != nil {
		return err
	}
	return j.release(ok, out)
}

// settle records how one request ended (ok, unless err says otherwise)
// and returns what may be released: out once every record for it is
// written, nil and the error to report otherwise. Every request goes
// through it, one on its own (end) and each of a batch (batch.go, a
// group at a time: settleAll), so what must happen before a signature may
// leave is written here once.
func (j *job) settle(ok audit.Result, out []byte, err error) ([]byte, error) {
	g := []outcome{{j, out, err}}
	settleAll(ok, g)
	return g[0].out, g[0].err
}

// outcome is one request as settleAll takes it and leaves it: its job,
// and what it produced or why not.
type outcome struct {
	j   *job
	out []byte
	err error
}

// settleAll is settle for a group of requests sharing one sink (a batch
// session's): their records are written at once, with one fsync(2) for
// the file sink, and if that fails none of them may be released.
func settleAll(ok audit.Result, g []outcome) {
	if ok == audit.Signed {
		appendLog(g) // their leaves first: the records carry their indexes
	}
	var recs []*audit.Record
	for i := range g {
		o := &g[i]
		o.j.rec.Result = ok
		if o.err != nil {
			o.j.rec.Result, o.j.rec.Error = audit.ResultOf(o.err), o.err.Error()
		}
		if o.j.stderr != nil {
			o.j.rec.ModuleOutput = o.j.stderr.output()
		}
		recs = append(recs, o.j.records()...)
	}
	werr := g[0].j.sink.WriteAll(recs)
	for i := range g {
		o := &g[i]
		switch {
		case werr != nil:
			o.out, o.err = nil, fmt.Errorf("write audit record: %v; %w", werr, errNotReleased)
		case o.err != nil:
			o.out = nil
		default:
			o.j.announceLog()
		}
	}
}

// errNotReleased marks settle's own failures: what must be written before
// anything is released could not be, so nothing was. A batch ends on it.
var errNotReleased = errors.New("nothing released")

// release writes out what settle let through; a signature that could not
// be written gets its undelivered record.
func (j *job) release(ok audit.Result, out []byte) error {
	// A client that hung up would kill signstar with SIGPIPE in the
	// write below, before the trail could say the signature never left.
	signal.Ignore(syscall.SIGPIPE)
	if _, err := os.Stdout.Write(out); err != nil {
		err = fmt.Errorf("write to the client: %w", err)
		if ok == audit.Signed {
			return j.undelivered(err)
		}
		return err
	}
	return nil
}

// undelivered adds a second record for a signature that was recorded as
// signed but could not be written out: the trail must not list it as
// delivered.
func (j *job) undelivered(err error) error {
	j.rec.Result, j.rec.Error = audit.Undelivered, err.Error()
	if werr := j.write(); werr != nil {
		return fmt.Errorf("%w (and the audit record saying so failed: %v)", err, werr)
	}
	return err
}

// write writes the job's records.
func (j *job) write() error { return j.sink.WriteAll(j.records()) }

// records is the job's record, and one more for each further key of a
// signature by several: the same record naming that key.
func (j *job) records() []*audit.Record {
	rs := []*audit.Record{j.rec}
	for i, k := range j.also {
		rec := *j.rec
		rec.Key, rec.KeyFingerprint = k.Name, k.Cert.Fingerprint()
		rec.LogIndex = j.logIndexOf(i + 1)
		rs = append(rs, &rec)
	}
	return rs
}

// openKeys opens the token and the named keys and notes them for the
// record(s). Two names of one key are refused: a signature by several
// keys holds one signature by each.
func (j *job) openKeys(names ...string) (*keyring.Keyring, []*keyring.Key, error) {
	kr, err := keyring.Open(j.cfg)
	if err != nil {
		return nil, nil, err
	}
	ks := make([]*keyring.Key, len(names))
	for i, name := range names {
		if ks[i], err = kr.Key(name); err != nil {
			kr.Close()
			return nil, nil, err
		}
		for _, prev := range ks[:i] {
			if prev.Cert.Fingerprint() == ks[i].Cert.Fingerprint() {
				kr.Close()
				return nil, nil, refusal.Errorf("keys %q and %q are one key", prev.Name, ks[i].Name)
			}
		}
	}
	j.rec.Key, j.rec.KeyFingerprint, j.also = ks[0].Name, ks[0].Cert.Fingerprint(), ks[1:]
	return kr, ks, nil
}

// openLocked opens the named keys, then locks the process down: the
// token is open, stdin not yet read.
func (j *job) openLocked(names ...string) (*keyring.Keyring, []*keyring.Key, error) {
	// The policy is worked out once: before the token is opened it says
	// whether this user can still reach the token's files once locked
	// down (checkIdentity), and then it is the lockdown. The log's
	// directory must exist by then (openLog makes it).
	var err error
	if j.tl.log, err = openLog(j.cfg); err != nil {
		return nil, nil, err
	}
	p, err := policy(j.cfg)
	if err == nil {
		err = checkIdentity(p)
	}
	if err != nil {
		return nil, nil, err
	}
	kr, ks, err := j.openKeys(names...)
	if err != nil {
		return nil, nil, err
	}
	if err := j.lockdown(p); err != nil {
		kr.Close()
		return nil, nil, err
	}
	return kr, ks, nil
}

// form is the kind of signature a job makes of the input it reads.
type form struct {
	armor bool // ASCII armor around a detached signature
	text  bool // a canonical-text signature (type 0x01)
	clear bool // a cleartext signed message (always armored text)
}

// formOf is the form a parsed sign command asks for; cmd.CheckForm has
// refused contradicting flags.
func formOf(cmd remote.Command) form {
	return form{armor: cmd.Armor, text: cmd.Text, clear: cmd.Clearsign}
}

// format is how the audit record names f.
func (f form) format() audit.Format {
	switch {
	case f.clear:
		return audit.Cleartext
	case f.text:
		return audit.DetachedText
	}
	return audit.Detached
}

// signArtifact signs what stdin holds, in form f, with each named key
// (one output holding a signature by each; stdin is read once). Lockdown
// comes after the token is open and before the first byte of stdin is
// read. A cleartext message holds the text itself, so it is kept in
// memory (up to pgp.MaxClearText) until the audit record is written; a
// detached signature streams.
func (j *job) signArtifact(names []string, f form) ([]byte, error) {
	kr, ks, err := j.openLocked(names...)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	notations := make([][]*packet.Notation, len(ks))
	for i, k := range ks {
		if len(ks) > 1 && !k.SignsHashes() {
			return nil, refusal.Errorf("key %q cannot sign with other keys at once: its token hashes the whole input itself (RSA on tpm2-pkcs11)", k.Name)
		}
		notations[i] = keyNotations(j.cfg, k.Name)
	}
	created := time.Now().UTC().Truncate(time.Second)
	o := signOptions(pgp.Options{Armor: f.armor, Text: f.text, Time: created})
	sign := keyring.SignAll
	if f.clear {
		sign = keyring.ClearSignAll
	}
	var out bytes.Buffer
	d, err := sign(ks, &out, j.stdin(), o, notations)
	if err := signError(err, j.keyNames()); err != nil {
		return nil, err
	}
	j.rec.Format = f.format()
	j.rec.InputSize, j.rec.InputSHA256, j.rec.InputSHA512 = d.Size, d.SHA256, d.SHA512
	j.rec.SignatureCreated = created
	return out.Bytes(), nil
}

// keyNames names the job's keys in an error: "repo", or "old", "new".
func (j *job) keyNames() string {
	names := strconv.Quote(j.rec.Key)
	for _, k := range j.also {
		names += ", " + strconv.Quote(k.Name)
	}
	return names
}

// signError is what signArtifact reports for err: what the client sent
// wrong (no input, binary input for a text signature, too much text for a
// cleartext message, too much or too slow input) as such.
func signError(err error, keys string) error {
	if limit, ok := inputLimit(err); ok {
		return limit
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgp.ErrEmptyInput):
		return fmt.Errorf("sign: %w (pipe the file to standard input)", err)
	case errors.Is(err, pgp.ErrNotText):
		return refusal.Errorf("%v: --text and --clearsign sign UTF-8 text only", err)
	case errors.Is(err, pgp.ErrTooLarge):
		return refusal.Errorf("%v: make a detached --text signature instead", err)
	}
	return fmt.Errorf("sign with key %s: %w", keys, err)
}

// signOptions adds to o the check made once the input is read and before
// the token signs: the client must still be there to receive the
// signature (an upload cut off mid-way ends like a complete one). Package
// keyring lets other signers use the token while the input streams in.
func signOptions(o pgp.Options) keyring.SignOptions {
	return keyring.SignOptions{Options: o, Ready: checkClient}
}

// signRequest answers a digest-only signing request (package request) on
// stdin, signing as upstream Signstar does: the file's SHA-512 travels in
// the data-digest@archlinux.org notation.
func (j *job) signRequest(name string) ([]byte, error) {
	kr, ks, err := j.openLocked(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	if err := signsRequests(ks[0]); err != nil {
		return nil, err
	}
	return j.respond(ks[0], j.stdin())
}

// signsRequests refuses a key that cannot answer digest-only requests.
func signsRequests(k *keyring.Key) error {
	if !k.SignsHashes() {
		return refusal.Errorf("key %q cannot sign digest-only requests: its token hashes the whole input itself (RSA on tpm2-pkcs11); send the file to sign, or use an ECDSA key", k.Name)
	}
	return nil
}

// respond answers the signing request r holds with key k, and notes in
// the job's record what it signed: one request on its own (signRequest)
// or one of a batch (batch.go). The token lock is let go while r is read.
func (j *job) respond(k *keyring.Key, r io.Reader) ([]byte, error) {
	created := time.Now().UTC().Truncate(time.Second)
	var req signingRequest
	sig, err := k.SignHash(r, req.read, signOptions(pgp.Options{Armor: true, Time: created, Notations: keyNotations(j.cfg, k.Name)}))
	if err != nil && req.digest != nil {
		return nil, fmt.Errorf("sign request with key %q: %w", k.Name, err)
	}
	if err != nil {
		return nil, err
	}
	j.rec.Format = audit.Request
	j.rec.InputSize, j.rec.InputSHA512, j.rec.SignatureCreated = int64(req.size), req.digest, created
	return request.Response(sig)
}

// requestError is how a signing request that could not be read is
// reported: what the client got wrong as a refusal.
func requestError(err error) error {
	if limit, ok := inputLimit(err); ok {
		return limit
	}
	if errors.Is(err, request.ErrInvalid) {
		return refusal.Errorf("%v", err)
	}
	return fmt.Errorf("read signing request: %w", err)
}

// signingRequest is what a digest-only signing request says of the file it
// stands for, once read.
type signingRequest struct {
	digest []byte // the file's SHA-512; nil until the request is read
	size   uint64
}

// read reads the request on r and returns the hash state to sign; it is
// signRequest's [keyring.Key.SignHash] read function. What the client got
// wrong is refused.
func (s *signingRequest) read(r io.Reader) (keyring.HashedInput, error) {
	req, err := request.Read(r)
	if err != nil {
		return keyring.HashedInput{}, requestError(err)
	}
	if f := req.Format(); f != "" {
		return keyring.HashedInput{}, refusal.Errorf("a %s signing request: send it with 'sign --request --format %s'", f, f)
	}
	h, err := req.Hash()
	if err != nil {
		return keyring.HashedInput{}, refusal.Errorf("%v", err)
	}
	digest, err := req.FileDigest()
	if err != nil {
		return keyring.HashedInput{}, refusal.Errorf("%v", err)
	}
	size, err := req.Size()
	if err != nil || size > 1<<62 {
		return keyring.HashedInput{}, refusal.Errorf("signing request: implausible input size")
	}
	s.digest, s.size = digest, size
	return keyring.HashedInput{Hash: h, Notations: []*packet.Notation{request.DigestNotation(digest)}}, nil
}
