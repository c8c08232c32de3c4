package translog

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Log appends to the log in a directory (see the package doc for its
// layout). Several processes may hold a Log on one directory: appends
// and checkpoint signing take the directory's lock file in turn.
//
// Appending needs no key: [Log.Append] records the new tree in the
// unsigned tree file, and [Log.Checkpoint] signs it when asked, so a
// signature costs the token one operation, not two. Lock order: a caller
// holding the token lock may take the log lock ([Log.Checkpoint] signs
// under it), never the other way round ([Log.Append] never waits for the
// token).
type Log struct {
	dir Dir
}

const (
	lockFile = ".lock" // the append lock
	treeFile = ".tree" // the tree as last appended, unsigned
)

// Open returns the log in dir, made (0755) if it does not exist. Open
// reads nothing else.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open log: %v", err)
	}
	return &Log{dir: OpenDir(dir)}, nil
}

// Dir is the log's directory, for reading.
func (l *Log) Dir() Dir { return l.dir }

// Tree is the tree as last appended (size 0 for a new log). It is what
// the log's own tiles say, not yet what a checkpoint vouches for.
func (l *Log) Tree() (tlog.Tree, error) {
	b, err := readFileMax(filepath.Join(l.dir.path, treeFile), 256)
	if errors.Is(err, fs.ErrNotExist) {
		return tlog.Tree{Hash: emptyHash()}, nil
	}
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("read tree: %v", err)
	}
	t, err := parseTree(b)
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("read tree: %v", err)
	}
	return t, nil
}

const treeHeader = "signstar-log-tree v1\n"

// formatTree is the tree file: a header line, then the size and root
// hash lines of a checkpoint body.
func formatTree(t tlog.Tree) []byte {
	return append([]byte(treeHeader), checkpointBody("", t)[1:]...)
}

func parseTree(b []byte) (tlog.Tree, error) {
	rest, ok := bytes.CutPrefix(b, []byte(treeHeader))
	if !ok || strings.Count(string(rest), "\n") != 2 {
		return tlog.Tree{}, errors.New("not a signstar log tree")
	}
	c, err := parseBody("\n" + string(rest) + "\n")
	return c.Tree(), err
}

func emptyHash() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// Append adds the entry leaf returns to the log and returns its index,
// once the entry and the tiles that prove it are on disk (fsync'd).
// leaf runs under the lock and learns the index the entry gets (the
// signing path writes it into the signature the entry records); if it
// fails, nothing is appended and its error is returned as it is. On
// error the tree file still describes data that is all there.
func (l *Log) Append(leaf func(index int64) (Entry, error)) (int64, error) {
	return l.AppendAll(func(first int64) ([]Entry, error) {
		e, err := leaf(first)
		return []Entry{e}, err
	})
}

// AppendAll is [Log.Append] for several entries under one lock and one
// round of fsyncs: entries gets the index of the first, and entry i goes
// to that index plus i.
func (l *Log) AppendAll(entries func(first int64) ([]Entry, error)) (int64, error) {
	unlock, err := lock(filepath.Join(l.dir.path, lockFile))
	if err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	defer unlock()
	t, err := l.Tree()
	if err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	es, err := entries(t.N)
	if err != nil {
		return 0, err
	}
	leaves, err := marshalAll(es)
	if err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	if err := l.append(t, leaves); err != nil {
		return 0, fmt.Errorf("append to log: %v", err)
	}
	return t.N, nil
}

func marshalAll(es []Entry) ([][]byte, error) {
	if len(es) == 0 {
		return nil, errors.New("no entries")
	}
	leaves := make([][]byte, len(es))
	for i, e := range es {
		b, err := e.MarshalText()
		if err != nil {
			return nil, err
		}
		leaves[i] = b
	}
	return leaves, nil
}

// append writes leaves after tree t: data first, the tree file last.
func (l *Log) append(t tlog.Tree, leaves [][]byte) error {
	hr := &growing{old: l.dir.Hashes(Checkpoint{Size: t.N, Hash: t.Hash}), base: tlog.StoredHashCount(t.N)}
	for i, leaf := range leaves {
		hs, err := tlog.StoredHashes(t.N+int64(i), leaf, hr)
		if err != nil {
			return err
		}
		hr.added = append(hr.added, hs...)
	}
	n := t.N + int64(len(leaves))
	root, err := tlog.TreeHash(n, hr)
	if err != nil {
		return err
	}
	w := newWriter(l.dir.path)
	if err := l.writeTiles(w, hr, t.N, n); err != nil {
		return err
	}
	if err := l.writeBundles(w, t.N, leaves); err != nil {
		return err
	}
	if err := w.sync(); err != nil {
		return err
	}
	if err := w.commit(treeFile, formatTree(tlog.Tree{N: n, Hash: root})); err != nil {
		return err
	}
	if t.N != l.signedSize() {
		// No checkpoint names the old size's partial tiles: readers
		// of the published directory never ask for them.
		w.removeSuperseded(t.N, n)
	}
	return nil
}

// signedSize is the size of the stored checkpoint, read without
// checking its signature (it only decides which partial tiles to keep);
// -1 if there is none.
func (l *Log) signedSize() int64 {
	b, err := readFileMax(filepath.Join(l.dir.path, checkpointFile), maxCheckpoint)
	if err != nil {
		return -1
	}
	body, _, _ := strings.Cut(string(b), "\n\n")
	c, err := parseBody(body + "\n")
	if err != nil {
		return -1
	}
	return c.Size
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

// writeBundles writes the entry bundles leaves go to, after the old
// entries: the partial bundle the old tree ended with, grown, and new
// ones.
func (l *Log) writeBundles(w *writer, old int64, leaves [][]byte) error {
	i := old
	for len(leaves) > 0 {
		k := i / tileWidth
		var data []byte
		if start := k * tileWidth; start < i {
			prev, err := l.dir.Entries(Checkpoint{Size: old}, start, i)
			if err != nil {
				return err
			}
			for _, e := range prev {
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

// Checkpoint returns the latest checkpoint, signing one with s first if
// the stored one is older than the tree (or missing): under the log
// lock, so concurrent callers sign at most once per tree. s is the log
// key's signer ([NewSigner]); its name is the origin. Before it signs,
// Checkpoint recomputes the root from the tiles: it signs only a tree
// its directory holds.
func (l *Log) Checkpoint(s note.Signer) (Checkpoint, error) {
	unlock, err := lock(filepath.Join(l.dir.path, lockFile))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %v", err)
	}
	defer unlock()
	t, err := l.Tree()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %v", err)
	}
	if c, err := l.stored(s); err == nil && c.Tree() == t {
		return c, nil
	}
	if got, err := tlog.TreeHash(t.N, tlog.TileHashReader(t, tileReader{l.dir})); err != nil || got != t.Hash {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: the tiles do not hash to the tree of size %d (%v)", t.N, err)
	}
	prev := l.signedSize()
	c, err := signCheckpoint(s, t)
	if err != nil {
		return Checkpoint{}, err
	}
	w := newWriter(l.dir.path)
	if err := w.commit(checkpointFile, c.Note); err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %v", err)
	}
	if prev >= 0 && prev < t.N {
		// The previous checkpoint's partial tiles, kept while it was
		// the latest (see append), now have wider ones.
		w.removeSuperseded(prev, t.N)
	}
	return c, nil
}

// stored reads the stored checkpoint, checking its signature where s is
// one of ours (whose public key is known).
func (l *Log) stored(s note.Signer) (Checkpoint, error) {
	if ours, ok := s.(*signer); ok {
		v, err := note.NewVerifier(mustVerifierKey(ours.name, ours.key.Public()))
		if err != nil {
			return Checkpoint{}, err
		}
		return l.dir.Checkpoint(v)
	}
	return Checkpoint{}, errors.New("stored checkpoint not checked: unknown signer")
}

func mustVerifierKey(name string, pub any) string {
	k, err := note.NewEd25519VerifierKey(name, pub.(ed25519.PublicKey))
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return k
}

// growing is the hash reader of a tree being appended to: stored hashes
// below base come from the tiles of the tree before (checked against its
// hash), the rest from added.
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
