//go:build linux && cgo

package main

// The transparency log (issue 18, package translog) on the signing path:
// every signature job.settle is about to release gets its leaf first (a
// batch's group of signatures theirs under one lock and one fsync round),
// under the same fail-closed rule as the audit record, and the remote
// commands that read the log (log checkpoint, log proof, log
// consistency).
//
// The order of one append, and why:
//
//  1. the token has signed and closed (the signing functions close the
//     keyring before settle): an append never holds the token lock, so
//     it cannot deadlock with a checkpoint signer, which takes the token
//     lock and then the log lock (package translog's lock order);
//  2. translog.Log.AppendAll takes the log lock and reads the next index;
//  3. under it, each OpenPGP signature packet gets that index in an
//     unhashed notation log-index@signstar: it cannot be hashed, since
//     the leaf covers the signature bytes, and the signature's own hash
//     covers its hashed area;
//  4. the leaf records SHA-256 of those final packet bytes, notation
//     included, so what the client holds is exactly what the log holds;
//  5. leaf and tiles are written and fsync'd, the lock let go;
//  6. only then is the audit record written, carrying the index
//     (SIGNSTAR_LOG_INDEX), and only after that is anything released.
//
// If the append fails, nothing is released: the record says failed and
// why, and the client gets exit 1, as when the audit record cannot be
// written. A leaf whose signature then never leaves (the audit record
// failed, the client hung up) stays in the log: the log may list a
// signature nobody received, never miss one somebody did.

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
	"signstar/pkg/remote"
	"signstar/pkg/request"
	"signstar/pkg/sandbox"
	"signstar/pkg/translog"
)

// jobLog is a job's part in the transparency log.
type jobLog struct {
	log    *translog.Log // nil: the host keeps none
	index  int64         // the first signature's leaf, once appended
	logged bool          // appended
	notice bool          // the index goes to stderr (X.509 forms)
}

// LogIndexNotation names the unhashed notation that carries an OpenPGP
// signature's index in the transparency log; its value is the index in
// decimal, flagged human-readable.
const LogIndexNotation = "log-index@signstar"

// openLog opens the config's transparency log, before the lockdown: its
// directory is made here if missing, since afterwards only the directory
// itself is writable. Without a [log] key there is none (nil).
func openLog(cfg *config.Config) (*translog.Log, error) {
	if cfg == nil || !cfg.Log.Enabled() {
		return nil, nil
	}
	l, err := translog.Open(cfg.Log.LogDir())
	if err != nil {
		return nil, fmt.Errorf("transparency log: %w; refusing to sign without it", err)
	}
	return l, nil
}

// logPolicy adds what appending to the log needs after lockdown: its
// directory, read-write, and the calls that write it (seccomp.Log). A
// directory that is not there (yet: openLog makes it before a signing
// job's policy is worked out) is left out, and an append then fails.
func logPolicy(p *sandbox.Policy, cfg *config.Config) {
	if fi, err := os.Stat(cfg.Log.LogDir()); cfg.Log.Enabled() && err == nil && fi.IsDir() {
		p.ReadWrite = append(p.ReadWrite, cfg.Log.LogDir())
		p.Log = true
	}
}

// appendLog gives each signature of g that settle is about to release
// its leaves in the log, the group's under one lock and one round of
// fsyncs (a batch's group, settleAll), and sets its out to what must be
// released instead: the signature with its index in it. The index goes
// into the job's record, written next. If the append fails, none of the
// group is released.
func appendLog(g []outcome) {
	var ls []leaves
	var at []*outcome
	for i := range g {
		o := &g[i]
		if o.err != nil || o.j.cfg == nil || !o.j.cfg.Log.Enabled() {
			continue
		}
		if o.j.tl.log == nil {
			o.out, o.err = nil, errors.New("transparency log: BUG: not opened before the lockdown; nothing released")
			continue
		}
		l, err := o.j.leaves(o.out)
		if err != nil {
			o.out, o.err = nil, logError(err)
			continue
		}
		ls, at = append(ls, l), append(at, o)
	}
	if len(ls) == 0 {
		return
	}
	firsts := make([]int64, len(ls))
	_, err := at[0].j.tl.log.AppendAll(func(first int64) ([]translog.Entry, error) {
		var es []translog.Entry
		for i, l := range ls {
			firsts[i] = first + int64(len(es))
			e, err := l.entries(firsts[i])
			if err != nil {
				return nil, err
			}
			es = append(es, e...)
		}
		return es, nil
	})
	for i, o := range at {
		ferr := err
		if ferr == nil {
			o.out, ferr = ls[i].finish(firsts[i])
		}
		if ferr != nil {
			o.out, o.err = nil, logError(ferr)
		}
	}
}

func logError(err error) error {
	return fmt.Errorf("append to the transparency log: %w; nothing released", err)
}

// leaves is what one signature adds to the log: entries makes its leaves
// under the log lock, given the index of the first; finish then returns
// the output to release, carrying that index.
type leaves struct {
	entries func(first int64) ([]translog.Entry, error)
	finish  func(first int64) ([]byte, error)
}

// leaves are out's leaves, by its format.
func (j *job) leaves(out []byte) (leaves, error) {
	switch {
	case j.rec.Format.X509():
		return j.x509Leaves(out)
	case j.rec.Format == audit.Request:
		return j.responseLeaves(out)
	}
	return j.openPGPLeaves(out)
}

// openPGPLeaves logs each signature packet of out (one per key of a
// signature by several) as its own leaf, in key order, with consecutive
// indexes.
func (j *job) openPGPLeaves(out []byte) (leaves, error) {
	o, err := pgp.SplitOutput(out)
	if err != nil {
		return leaves{}, err
	}
	if len(o.Packets) != 1+len(j.also) {
		return leaves{}, fmt.Errorf("BUG: %d signature packets for %d keys", len(o.Packets), 1+len(j.also))
	}
	entries := func(first int64) ([]translog.Entry, error) {
		es := make([]translog.Entry, len(o.Packets))
		for i := range o.Packets {
			p, err := pgp.AddUnhashedNotation(o.Packets[i], indexNotation(first+int64(i)))
			if err != nil {
				return nil, err
			}
			o.Packets[i] = p
			if es[i], err = j.entry(i, p); err != nil {
				return nil, err
			}
		}
		return es, nil
	}
	finish := func(first int64) ([]byte, error) {
		j.tl.index, j.tl.logged = first, true
		j.rec.LogIndex = strconv.FormatInt(first, 10)
		return o.Bytes()
	}
	return leaves{entries, finish}, nil
}

// responseLeaves logs the signature in a digest-only response; the
// response released has the signature carrying its index, and the index
// in its log-index field.
func (j *job) responseLeaves(out []byte) (leaves, error) {
	sig, err := request.ReadResponse(bytes.NewReader(out))
	if err != nil {
		return leaves{}, fmt.Errorf("BUG: own response: %v", err)
	}
	l, err := j.openPGPLeaves(sig)
	if err != nil {
		return leaves{}, err
	}
	finish := l.finish
	l.finish = func(first int64) ([]byte, error) {
		sig, err := finish(first)
		if err != nil {
			return nil, err
		}
		resp, err := request.Response(sig)
		if err != nil {
			return nil, err
		}
		return request.WithLogIndex(resp, first)
	}
	return l, nil
}

// x509Leaves logs an X.509 signature: the bytes released, or for a
// digest-only request the output its response carries, which then gets
// the log-index field. The direct forms have no room for the index in
// what they release; the client is told it on stderr once the record is
// written (announceLog).
func (j *job) x509Leaves(out []byte) (leaves, error) {
	sig, isResponse := out, len(out) > 0 && out[0] == '{'
	if isResponse {
		var err error
		if sig, err = request.ReadOutput(bytes.NewReader(out), string(j.rec.Format)); err != nil {
			return leaves{}, fmt.Errorf("BUG: own response: %v", err)
		}
	}
	entries := func(int64) ([]translog.Entry, error) {
		e, err := j.entry(0, sig)
		return []translog.Entry{e}, err
	}
	finish := func(index int64) ([]byte, error) {
		j.tl.index, j.tl.logged, j.rec.LogIndex = index, true, strconv.FormatInt(index, 10)
		if !isResponse {
			j.tl.notice = true
			return out, nil
		}
		return request.WithLogIndex(out, index)
	}
	return leaves{entries, finish}, nil
}

// logIndexOf is the leaf of the signature by the job's key i (0: the
// first; the others follow it), for that key's record.
func (j *job) logIndexOf(i int) string {
	if !j.tl.logged {
		return ""
	}
	return strconv.FormatInt(j.tl.index+int64(i), 10)
}

// announceLog tells the client the index of an X.509 signature whose form
// has no room for it, once its record is written.
func (j *job) announceLog() {
	if j.tl.notice {
		fmt.Fprintf(os.Stderr, "signstar: log index %d\n", j.tl.index)
	}
}

func indexNotation(i int64) *packet.Notation {
	return &packet.Notation{Name: LogIndexNotation, Value: []byte(strconv.FormatInt(i, 10)), IsHumanReadable: true}
}

// entry is the leaf of the signature sig by the job's key i (0: the
// first), from what its record says.
func (j *job) entry(i int, sig []byte) (translog.Entry, error) {
	r := j.rec
	e := translog.Entry{
		Time:       r.SignatureCreated,
		Account:    orDash(r.User),
		SSHKey:     orDash(r.SSHKey),
		Key:        r.KeyFingerprint,
		Format:     string(r.Format),
		Size:       r.InputSize,
		DigestHash: crypto.SHA512,
		Digest:     r.InputSHA512,
		Signature:  sha256.Sum256(sig),
	}
	if i > 0 {
		e.Key = j.also[i-1].Cert.Fingerprint()
	}
	if r.InputSHA512 == nil { // an X.509 digest-only request: the signed digest
		h, ok := digestHash(len(r.SignedDigest))
		if !ok {
			return translog.Entry{}, fmt.Errorf("BUG: signed digest of %d bytes", len(r.SignedDigest))
		}
		e.Size, e.DigestHash, e.Digest = -1, h, r.SignedDigest
	}
	return e, nil
}

// digestHash is the hash whose digests are n bytes long.
func digestHash(n int) (crypto.Hash, bool) {
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if h.Size() == n {
			return h, true
		}
	}
	return 0, false
}

// orDash is s, or "-" for nothing (a leaf's values are never empty): the
// admin CLI's signatures have no SSH key.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// logQuery answers a log command: any client of the account may read the
// log, which is meant to be published. The log key signs a checkpoint of
// the latest tree if none does yet (translog.Log.Checkpoint), so the
// token is opened and the process locked down as for a signature.
func (j *job) logQuery(q remote.LogQuery) ([]byte, error) {
	if j.cfg == nil || !j.cfg.Log.Enabled() {
		return nil, refusal.Errorf("this host keeps no transparency log")
	}
	origin, err := logOrigin(j.cfg, j.rec.User)
	if err != nil {
		return nil, err
	}
	kr, ks, err := j.openLocked(j.cfg.Log.Key)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	s, err := translog.NewSigner(origin, ks[0].Signer())
	if err != nil {
		return nil, err
	}
	c, err := j.tl.log.Checkpoint(s)
	if err != nil {
		return nil, err
	}
	return answerLog(j.tl.log.Dir(), c, s, q)
}

// answerLog is what a log command prints: the checkpoint (a signed note),
// an inclusion proof (C2SP tlog-proof, the entry in its extra line, the
// checkpoint last) or a consistency proof (translog.Consistency). Proofs
// are in the latest checkpoint's tree c unless the client names an
// older size it holds a checkpoint of (SIZE, NEW): an inclusion proof in
// that tree carries a checkpoint of it, signed now (a true statement of
// a prefix of c's tree, whose root is read from tiles checked against c).
func answerLog(d translog.Dir, c translog.Checkpoint, s note.Signer, q remote.LogQuery) ([]byte, error) {
	size := c.Size
	if q.Size != 0 {
		size = q.Size
	}
	if size > c.Size {
		return nil, refusal.Errorf("log: no tree of %d entries: the log has %d", size, c.Size)
	}
	switch q.What {
	case remote.LogCheckpoint:
		return c.Note, nil
	case remote.LogConsistency:
		p, err := d.ConsistencyIn(c, q.Old, size)
		if err != nil {
			return nil, err
		}
		return p.MarshalText()
	}
	if q.Index >= size {
		return nil, refusal.Errorf("log proof: index %d is not in the log, which has %d entries", q.Index, size)
	}
	if size != c.Size {
		var err error
		if c, err = olderCheckpoint(d, c, s, size); err != nil {
			return nil, err
		}
	}
	p, err := d.Proof(c, q.Index)
	if err != nil {
		return nil, err
	}
	return p.MarshalText()
}

// olderCheckpoint signs the checkpoint of the first size leaves of c's
// tree (C2SP tlog-checkpoint body: origin, size, base64 root hash).
func olderCheckpoint(d translog.Dir, c translog.Checkpoint, s note.Signer, size int64) (translog.Checkpoint, error) {
	h, err := tlog.TreeHash(size, d.Hashes(c))
	if err != nil {
		return translog.Checkpoint{}, fmt.Errorf("log: root of the tree of %d entries: %w", size, err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", s.Name(), size, base64.StdEncoding.EncodeToString(h[:]))
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return translog.Checkpoint{}, fmt.Errorf("log: sign checkpoint of size %d: %w", size, err)
	}
	return translog.Checkpoint{Origin: s.Name(), Size: size, Hash: h, Note: msg}, nil
}

// logOrigin is the log's origin: the config's, or the host name and the
// account, read before the lockdown hides /proc.
func logOrigin(cfg *config.Config, account string) (string, error) {
	if cfg.Log.Origin != "" {
		return cfg.Log.Origin, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("transparency log origin: %w", err)
	}
	return cfg.Log.OriginFor(host, account), nil
}
