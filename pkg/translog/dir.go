package translog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the tlog-tiles tile height: 2^8 hashes or entries a tile.
const tileHeight = 8

const tileWidth = 1 << tileHeight

// checkpointFile is the checkpoint's name in the directory.
const checkpointFile = "checkpoint"

// Dir reads a log directory: the signing host's or a copy of it. Nothing
// it reads is trusted until a checkpoint signed by the log key vouches
// for it: [Dir.Hashes] checks every tile against the checkpoint, and
// [Verify] every entry.
type Dir struct{ path string }

// OpenDir returns the log directory at path; it reads nothing yet.
func OpenDir(path string) Dir { return Dir{path: path} }

// Path is the directory's path.
func (d Dir) Path() string { return d.path }

// Checkpoint reads the latest checkpoint, which must be signed by v.
// A log that has none yet has size 0: Checkpoint returns [ErrEmpty].
func (d Dir) Checkpoint(v note.Verifier) (Checkpoint, error) {
	b, err := readFileMax(filepath.Join(d.path, checkpointFile), maxCheckpoint)
	if errors.Is(err, fs.ErrNotExist) {
		return Checkpoint{}, ErrEmpty
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("read checkpoint: %v", err)
	}
	return ParseCheckpoint(b, v)
}

// ErrEmpty says a log directory has no checkpoint yet.
var ErrEmpty = errors.New("log has no checkpoint yet")

// Hashes reads the tree's stored hashes (tlog.StoredHashIndex) from the
// tiles, checking each tile it reads against c (tlog.TileHashReader):
// whatever it returns is proven to be in c's tree.
func (d Dir) Hashes(c Checkpoint) tlog.HashReader {
	return tlog.TileHashReader(c.Tree(), tileReader{d})
}

// Entries returns the entries [from, to) of the log of size c.Size
// (to <= c.Size), as the entry bundles hold them. They are not checked
// against c: see [Verify] and [Dir.InclusionProof].
func (d Dir) Entries(c Checkpoint, from, to int64) ([][]byte, error) {
	if from < 0 || from > to || to > c.Size {
		return nil, fmt.Errorf("read entries %d to %d: log has %d", from, to, c.Size)
	}
	var out [][]byte
	for k := from / tileWidth; k*tileWidth < to; k++ {
		w := min(tileWidth, c.Size-k*tileWidth)
		b, err := d.bundle(k, int(w))
		if err != nil {
			return nil, err
		}
		lo, hi := max(from-k*tileWidth, 0), min(to-k*tileWidth, w)
		out = append(out, b[lo:hi]...)
	}
	return out, nil
}

// bundle reads the first w entries of entry bundle k.
func (d Dir) bundle(k int64, w int) ([][]byte, error) {
	t := tlog.Tile{H: tileHeight, L: -1, N: k, W: w}
	data, err := d.readTile(t)
	if err != nil {
		return nil, err
	}
	es, err := splitBundle(data, w)
	if err != nil {
		return nil, fmt.Errorf("read %s: %v (index %d)", tilePath(t), err, k*tileWidth)
	}
	return es, nil
}

// splitBundle splits an entry bundle into its first w entries, each a
// big-endian uint16 length and that many bytes (C2SP tlog-tiles).
func splitBundle(data []byte, w int) ([][]byte, error) {
	es := make([][]byte, 0, w)
	for len(es) < w {
		if len(data) < 2 {
			return nil, fmt.Errorf("bundle ends after %d of %d entries", len(es), w)
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, fmt.Errorf("entry %d of the bundle is cut short", len(es))
		}
		es = append(es, data[2:2+n])
		data = data[2+n:]
	}
	return es, nil
}

// appendBundle appends e to an entry bundle.
func appendBundle(b, e []byte) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(e))), e...)
}

// tilePath is t's path in the tlog-tiles layout: tlog.Tile.Path without
// the height (fixed at 8 there), and "entries" for the data level.
func tilePath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", tileHeight))
	if t.L == -1 {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

// readTile reads tile t; when its partial width is gone (the log grew
// and replaced it), it reads the next wider one there is, whose prefix it
// is. A hash tile comes back exactly t.W hashes long; an entry bundle
// whole (the caller takes its first t.W entries).
func (d Dir) readTile(t tlog.Tile) ([]byte, error) {
	for w := t.W; w <= tileWidth; w++ {
		wt := t
		wt.W = w
		b, err := readFileMax(filepath.Join(d.path, filepath.FromSlash(tilePath(wt))), maxTile)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %v", tilePath(t), err)
		}
		if t.L >= 0 {
			if len(b) != w*tlog.HashSize {
				return nil, fmt.Errorf("read %s: %d bytes, want %d", tilePath(wt), len(b), w*tlog.HashSize)
			}
			b = b[:t.W*tlog.HashSize]
		}
		return b, nil
	}
	return nil, fmt.Errorf("read %s: missing (index %d)", tilePath(t), t.N<<(tileHeight*max(t.L, 0)))
}

// maxTile bounds a tile read: a full bundle of the largest entries.
const maxTile = tileWidth * (2 + MaxEntrySize)

func readFileMax(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > limit {
		return nil, fmt.Errorf("%s: not a regular file of at most %d bytes", filepath.Base(path), limit)
	}
	b := make([]byte, fi.Size())
	_, err = f.ReadAt(b, 0)
	return b, err
}

// tileReader is tlog.TileReader over a Dir.
type tileReader struct{ d Dir }

func (r tileReader) Height() int { return tileHeight }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.d.readTile(t)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (r tileReader) SaveTiles([]tlog.Tile, [][]byte) {}
