package translog

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// BadEntryError says which entry of a log directory is the first that
// does not check out, and why.
type BadEntryError struct {
	Index int64
	Err   error
}

func (e *BadEntryError) Error() string { return fmt.Sprintf("entry %d: %v", e.Index, e.Err) }

func (e *BadEntryError) Unwrap() error { return e.Err }

// Verify checks a log directory end to end against its checkpoint,
// which must be signed by v: every entry, read from the entry bundles,
// must be a canonical [Entry] and hash (RFC 6962 leaf hash) to the leaf
// of the checkpoint's tree at its index, as the tiles prove it. The
// first entry that does not is named by a [*BadEntryError].
//
// A directory can be whole and still have been truncated and
// re-signed: each of known (checkpoints seen before, by a client or a
// previous run) must be a prefix of the tree; if one is not, the error
// wraps [ErrInconsistent] and names both checkpoints.
func Verify(d Dir, v note.Verifier, known ...Checkpoint) (Checkpoint, error) {
	c, err := d.Checkpoint(v)
	if err != nil {
		return Checkpoint{}, err
	}
	if err := d.Walk(c.Tree(), 0, func(int64, Entry) error { return nil }); err != nil {
		return c, err
	}
	hr := d.Hashes(c)
	for _, old := range known {
		if err := verifyPrefix(c, hr, old); err != nil {
			return c, err
		}
	}
	return c, nil
}

// Walk calls fn with every entry of tree t from index from on, in order,
// each checked as [Verify] checks it (against t, which the caller
// trusts: a checkpoint's, or [Log.Tree] on the signing host). It stops
// at the first bad entry, returning a [*BadEntryError], or at fn's first
// error, returning it.
func (d Dir) Walk(t tlog.Tree, from int64, fn func(index int64, e Entry) error) error {
	hr := tlog.TileHashReader(t, tileReader{d})
	for k := max(from, 0) / tileWidth; k*tileWidth < t.N; k++ {
		es, err := verifyBundle(d, t, hr, k)
		if err != nil {
			return err
		}
		for j, e := range es {
			if i := k*tileWidth + int64(j); i >= from {
				if err := fn(i, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// verifyBundle reads the entries of bundle k and checks them against t.
func verifyBundle(d Dir, t tlog.Tree, hr tlog.HashReader, k int64) ([]Entry, error) {
	first := k * tileWidth
	w := int(min(tileWidth, t.N-first))
	es, err := d.bundle(k, w)
	if err != nil {
		return nil, &BadEntryError{first, err}
	}
	indexes := make([]int64, w)
	for j := range indexes {
		indexes[j] = tlog.StoredHashIndex(0, first+int64(j))
	}
	hs, err := hr.ReadHashes(indexes)
	if err != nil {
		return nil, &BadEntryError{firstBadLeaf(d, es, first), fmt.Errorf("the hash tiles do not match the checkpoint: %v", err)}
	}
	out := make([]Entry, len(es))
	for j, e := range es {
		if tlog.RecordHash(e) != hs[j] {
			return nil, &BadEntryError{first + int64(j), errors.New("does not hash to the leaf the checkpoint's tree has there")}
		}
		if out[j], err = ParseEntry(e); err != nil {
			return nil, &BadEntryError{first + int64(j), err}
		}
	}
	return out, nil
}

// firstBadLeaf is the index of the first entry of es whose hash differs
// from its level-0 tile (read unchecked): where a tile whose hashes do
// not add up was changed. If none differs, it is the bundle's first.
func firstBadLeaf(d Dir, es [][]byte, first int64) int64 {
	t := tlog.Tile{H: tileHeight, L: 0, N: first / tileWidth, W: len(es)}
	data, err := d.readTile(t)
	if err != nil {
		return first
	}
	for j, e := range es {
		h, err := tlog.HashFromTile(t, data, tlog.StoredHashIndex(0, first+int64(j)))
		if err != nil || h != tlog.RecordHash(e) {
			return first + int64(j)
		}
	}
	return first
}

// verifyPrefix checks that old's tree is the prefix of c's of its size.
func verifyPrefix(c Checkpoint, hr tlog.HashReader, old Checkpoint) error {
	if old.Origin != c.Origin {
		return fmt.Errorf("compare checkpoints: origins differ: %q, %q", old.Origin, c.Origin)
	}
	if old.Size > c.Size {
		return fmt.Errorf("%w: it shrank; had %s, now %s", ErrInconsistent, old, c)
	}
	h, err := tlog.TreeHash(old.Size, hr)
	if err != nil {
		return fmt.Errorf("compare checkpoints: %v", err)
	}
	if h != old.Hash {
		return fmt.Errorf("%w: the tree of size %d differs; had %s, now %s", ErrInconsistent, old.Size, old, c)
	}
	return nil
}
