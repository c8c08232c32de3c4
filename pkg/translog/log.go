package translog

import (
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Log appends to the log in a directory (see the package doc for its
// layout). Several processes may hold a Log on one directory: appends
// take the directory's lock file in turn.
type Log struct {
	dir      Dir
	signer   note.Signer
	verifier note.Verifier
}

// lockFile is the append lock's name in the directory.
const lockFile = ".lock"

// Open returns the log in dir, whose origin is name and whose
// checkpoints key signs (an Ed25519 token key, see [NewSigner]). dir is
// made (0755) if it does not exist; Open reads nothing else, so opening
// costs no token operation.
func Open(dir, name string, key crypto.Signer) (*Log, error) {
	s, err := NewSigner(name, key)
	if err != nil {
		return nil, err
	}
	vkey, err := VerifierKey(name, key.Public())
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("BUG: own verifier key %q: %v", vkey, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open log: %v", err)
	}
	return &Log{dir: OpenDir(dir), signer: s, verifier: v}, nil
}

// Dir is the log's directory, for reading.
func (l *Log) Dir() Dir { return l.dir }

// Verifier is the log key's verifier.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Checkpoint is the latest checkpoint; a log nothing was appended to
// yet has an unsigned one of size 0 (Note nil).
func (l *Log) Checkpoint() (Checkpoint, error) {
	c, err := l.dir.Checkpoint(l.verifier)
	if errors.Is(err, ErrEmpty) {
		return Checkpoint{Origin: l.signer.Name(), Hash: emptyHash()}, nil
	}
	return c, err
}

func emptyHash() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// Append adds e to the log and returns its index, once e, the tiles that
// prove it and a new checkpoint signed by the log key are on disk
// (fsync'd). On error nothing the checkpoint points at has changed.
func (l *Log) Append(e Entry) (int64, error) {
	return l.AppendAll([]Entry{e})
}

// AppendAll adds es to the log under one lock, one checkpoint signature
// and one round of fsyncs, and returns the index of the first; es[i] is
// at that index plus i.
func (l *Log) AppendAll(es []Entry) (int64, error) {
	if len(es) == 0 {
		return 0, errors.New("append to log: no entries")
	}
	leaves := make([][]byte, len(es))
	for i, e := range es {
		b, err := e.MarshalText()
		if err != nil {
			return 0, err
		}
		leaves[i] = b
	}
	unlock, err := lock(filepath.Join(l.dir.path, lockFile))
	if err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	defer unlock()
	c, err := l.Checkpoint()
	if err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	if err := l.append(c, leaves); err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	return c.Size, nil
}

// append writes leaves after the tree of c: data first, checkpoint last.
func (l *Log) append(c Checkpoint, leaves [][]byte) error {
	hr := &growing{old: l.dir.Hashes(c), base: tlog.StoredHashCount(c.Size)}
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(c.Size+int64(i), leaf, hr)
		if err != nil {
			return err
		}
		hr.added = append(hr.added, hs...)
	}
	n := c.Size + int64(len(leaves))
	root, err := tlog.TreeHash(n, hr)
	if err != nil {
		return err
	}
	w := newWriter(l.dir.path)
	if err := l.writeTiles(w, hr, c.Size, n); err != nil {
		return err
	}
	if err := l.writeBundles(w, c, leaves); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	next, err := signCheckpoint(l.signer, tlog.Tree{N: n, Hash: root})
	if err != nil {
		return err
	}
	if err := w.commit(checkpointFile, next.Note); err != nil {
		return err
	}
	w.removeSuperseded(c.Size, n)
	return nil
}

// writeTiles writes the hash tiles the tree of size n has and that of
// size old had not (tlog.NewTiles: partial ones included).
func (l *Log) writeTiles(w *writer, hr tlog.HashReader, old, n int64) error {
	for _, t := range tlog.NewTiles(tileHeight, old, n) {
		data, err := tlog.ReadTileData(t, hr)
		if err != nil {
			return err
		}
		if err := w.write(tilePath(t), data); err != nil {
			return err
		}
	}
	return nil
}

// writeBundles writes the entry bundles leaves go to: the partial bundle
// c's tree ended with, grown, and new ones.
func (l *Log) writeBundles(w *writer, c Checkpoint, leaves [][]byte) error {
	i := c.Size
	for len(leaves) > 0 {
		k := i / tileWidth
		var data []byte
		if start := k * tileWidth; start < i {
			old, err := l.dir.Entries(c, start, i)
			if err != nil {
				return err
			}
			for _, e := range old {
				data = appendBundle(data, e)
			}
		}
		for len(leaves) > 0 && i < (k+1)*tileWidth {
			data = appendBundle(data, leaves[0])
			leaves, i = leaves[1:], i+1
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: k, W: int(i - k*tileWidth)}
		if err := w.write(tilePath(t), data); err != nil {
			return err
		}
	}
	return nil
}

// growing is the hash reader of a tree being appended to: stored hashes
// below base come from the tiles of the tree before (checked against its
// checkpoint), the rest from added.
type growing struct {
	old   tlog.HashReader
	base  int64
	added []tlog.Hash
}

func (g *growing) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	var oldIdx []int64
	var oldAt []int
	for i, x := range indexes {
		switch {
		case x < g.base:
			oldIdx, oldAt = append(oldIdx, x), append(oldAt, i)
		case x-g.base < int64(len(g.added)):
			out[i] = g.added[x-g.base]
		default:
			return nil, fmt.Errorf("BUG: stored hash %d not yet computed", x)
		}
	}
	if len(oldIdx) > 0 {
		hs, err := g.old.ReadHashes(oldIdx)
		if err != nil {
			return nil, err
		}
		for j, h := range hs {
			out[oldAt[j]] = h
		}
	}
	return out, nil
}
