package translog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Proof is an inclusion proof in the C2SP tlog-proof format
// (https://c2sp.org/tlog-proof): the entry at Index, the Merkle path to
// the root of the checkpoint's tree, and the checkpoint itself, so that
// it verifies offline against the log key alone. The entry travels in
// the format's "extra" line: a client cannot rebuild it (it does not
// know the signing time the host recorded).
type Proof struct {
	Index      int64
	Entry      []byte
	Path       tlog.RecordProof
	Checkpoint Checkpoint
}

const proofHeader = "c2sp.org/tlog-proof@v1"

// maxProof bounds a proof: an entry, 64 hashes and a checkpoint.
const maxProof = 4*MaxEntrySize/3 + 64*48 + maxCheckpoint + 256

// Proof proves that entry index is in the tree of c, reading the tiles
// (each checked against c) and the entry.
func (d Dir) Proof(c Checkpoint, index int64) (Proof, error) {
	if index < 0 || index >= c.Size {
		return Proof{}, fmt.Errorf("prove entry %d: log has %d entries", index, c.Size)
	}
	es, err := d.Entries(c, index, index+1)
	if err != nil {
		return Proof{}, fmt.Errorf("prove entry %d: %v", index, err)
	}
	path, err := tlog.ProveRecord(c.Size, index, d.Hashes(c))
	if err != nil {
		return Proof{}, fmt.Errorf("prove entry %d: %v", index, err)
	}
	return Proof{Index: index, Entry: es[0], Path: path, Checkpoint: c}, nil
}

// MarshalText encodes p as a tlog-proof.
func (p Proof) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nextra %s\nindex %d\n", proofHeader, base64.StdEncoding.EncodeToString(p.Entry), p.Index)
	for _, h := range p.Path {
		fmt.Fprintf(&b, "%s\n", h)
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint.Note)
	return b.Bytes(), nil
}

// ParseProof reads a tlog-proof and checks it: the checkpoint must be
// signed by v, and the entry must hash into its tree at the index
// (tlog.CheckRecord). A Proof ParseProof returns is proven.
func ParseProof(b []byte, v note.Verifier) (Proof, error) {
	p, err := parseProof(b, v)
	if err != nil {
		return Proof{}, fmt.Errorf("check log proof: %v", err)
	}
	return p, nil
}

func parseProof(b []byte, v note.Verifier) (Proof, error) {
	if len(b) > maxProof {
		return Proof{}, fmt.Errorf("longer than %d bytes", maxProof)
	}
	head, cp, ok := strings.Cut(string(b), "\n\n")
	if !ok {
		return Proof{}, errors.New("no blank line before the checkpoint")
	}
	lines := strings.Split(head, "\n")
	if len(lines) < 3 || lines[0] != proofHeader {
		return Proof{}, fmt.Errorf("want %q, extra and index lines", proofHeader)
	}
	var p Proof
	var err error
	extra, ok := strings.CutPrefix(lines[1], "extra ")
	if p.Entry, err = base64.StdEncoding.DecodeString(extra); !ok || err != nil {
		return Proof{}, errors.New("extra: want the entry in base64")
	}
	idx, ok := strings.CutPrefix(lines[2], "index ")
	if p.Index, err = strconv.ParseInt(idx, 10, 64); !ok || err != nil || p.Index < 0 || strconv.FormatInt(p.Index, 10) != idx {
		return Proof{}, errors.New("index: want a decimal number")
	}
	for _, l := range lines[3:] {
		h, err := tlog.ParseHash(l)
		if err != nil || h.String() != l {
			return Proof{}, fmt.Errorf("proof hash %q is not 32 bytes of base64", l)
		}
		p.Path = append(p.Path, h)
	}
	if p.Checkpoint, err = ParseCheckpoint([]byte(cp), v); err != nil {
		return Proof{}, err
	}
	if err := tlog.CheckRecord(p.Path, p.Checkpoint.Size, p.Checkpoint.Hash, p.Index, tlog.RecordHash(p.Entry)); err != nil {
		return Proof{}, fmt.Errorf("entry %d is not in %s: %v", p.Index, p.Checkpoint, err)
	}
	return p, nil
}

// Consistency is a consistency proof between two sizes of a log (RFC
// 6962 section 2.1.2), as `log consistency OLD NEW` sends it:
//
//	signstar-log-consistency v1
//	old OLD
//	new NEW
//	<one base64 hash a line>
type Consistency struct {
	Old, New int64
	Path     tlog.TreeProof
}

const consistencyHeader = "signstar-log-consistency v1"

// Consistency proves that the tree of size old is a prefix of that of
// c, old <= c.Size, reading the tiles (each checked against c).
func (d Dir) Consistency(c Checkpoint, old int64) (Consistency, error) {
	return d.ConsistencyIn(c, old, c.Size)
}

// ConsistencyIn proves that the tree of size old is a prefix of the tree
// of size size, old <= size <= c.Size, both in c's tree: a client that
// holds signed checkpoints of both sizes checks them against each other
// without needing the latest, which may have grown meanwhile.
func (d Dir) ConsistencyIn(c Checkpoint, old, size int64) (Consistency, error) {
	if old < 0 || old > size || size > c.Size {
		return Consistency{}, fmt.Errorf("prove consistency of size %d with %d: log has %d entries", old, size, c.Size)
	}
	if old == 0 || old == size {
		// Every tree extends the empty one and itself: RFC 9162
		// section 2.1.4 has no proof for either.
		return Consistency{Old: old, New: size}, nil
	}
	path, err := tlog.ProveTree(size, old, d.Hashes(c))
	if err != nil {
		return Consistency{}, fmt.Errorf("prove consistency of size %d with %d: %v", old, size, err)
	}
	return Consistency{Old: old, New: size, Path: path}, nil
}

// MarshalText encodes p.
func (p Consistency) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nold %d\nnew %d\n", consistencyHeader, p.Old, p.New)
	for _, h := range p.Path {
		fmt.Fprintf(&b, "%s\n", h)
	}
	return b.Bytes(), nil
}

// ParseConsistency reads a consistency proof; [CheckConsistency] checks it.
func ParseConsistency(b []byte) (Consistency, error) {
	if len(b) > 64*48+256 {
		return Consistency{}, errors.New("parse consistency proof: too long")
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 || lines[0] != consistencyHeader || lines[len(lines)-1] != "" {
		return Consistency{}, fmt.Errorf("parse consistency proof: want %q, old and new lines", consistencyHeader)
	}
	var p Consistency
	var err error
	if p.Old, err = numberLine(lines[1], "old "); err != nil {
		return Consistency{}, err
	}
	if p.New, err = numberLine(lines[2], "new "); err != nil {
		return Consistency{}, err
	}
	for _, l := range lines[3 : len(lines)-1] {
		h, err := tlog.ParseHash(l)
		if err != nil || h.String() != l {
			return Consistency{}, fmt.Errorf("parse consistency proof: hash %q is not 32 bytes of base64", l)
		}
		p.Path = append(p.Path, h)
	}
	return p, nil
}

func numberLine(l, prefix string) (int64, error) {
	s, ok := strings.CutPrefix(l, prefix)
	n, err := strconv.ParseInt(s, 10, 64)
	if !ok || err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("parse consistency proof: want %q and a decimal number", prefix)
	}
	return n, nil
}

// ErrInconsistent says two checkpoints of one log cannot both be true:
// the log shrank or forked.
var ErrInconsistent = errors.New("log shrank or forked")

// CheckConsistency checks that newer extends older, both signed by the
// log key, with p (tlog.CheckTree); p may be nil when the sizes are
// equal. The error names both checkpoints and wraps [ErrInconsistent].
func CheckConsistency(older, newer Checkpoint, p Consistency) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s; had %s, now %s", ErrInconsistent, why, older, newer)
	}
	switch {
	case older.Origin != newer.Origin:
		return fmt.Errorf("compare checkpoints: origins differ: %q, %q", older.Origin, newer.Origin)
	case newer.Size < older.Size:
		return bad("it shrank")
	case newer.Size == older.Size && newer.Hash != older.Hash:
		return bad("same size, different root")
	case newer.Size == older.Size || older.Size == 0:
		return nil
	case p.Old != older.Size || p.New != newer.Size:
		return fmt.Errorf("check consistency: proof is for sizes %d to %d, want %d to %d", p.Old, p.New, older.Size, newer.Size)
	}
	if err := tlog.CheckTree(p.Path, newer.Size, newer.Hash, older.Size, older.Hash); err != nil {
		return bad("the new tree does not extend the old")
	}
	return nil
}
