package translog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed tree head: the log's size and root hash, as its
// key signed them.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
	// Note is the signed note as the log wrote it, to keep or pass on.
	Note []byte
}

// Tree is the checkpoint's tree, as tlog's functions take it.
func (c Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: c.Size, Hash: c.Hash} }

func (c Checkpoint) String() string {
	return fmt.Sprintf("%s size %d root %s", c.Origin, c.Size, c.Hash)
}

// maxCheckpoint bounds a checkpoint note: a few lines and signatures.
const maxCheckpoint = 8 << 10

// checkpointBody is the C2SP tlog-checkpoint body: origin, size, base64
// root hash, each line ended by a newline.
func checkpointBody(origin string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// signCheckpoint signs t as the checkpoint of the log whose origin is
// s.Name().
func signCheckpoint(s note.Signer, t tlog.Tree) (Checkpoint, error) {
	msg, err := note.Sign(&note.Note{Text: string(checkpointBody(s.Name(), t))}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %v", err)
	}
	return Checkpoint{Origin: s.Name(), Size: t.N, Hash: t.Hash, Note: msg}, nil
}

// ParseCheckpoint opens a signed checkpoint: the note must carry a valid
// signature by v, and its origin line must be v's name (C2SP
// tlog-checkpoint: the key name identifies the log). Extension lines
// after the root hash are allowed and ignored.
func ParseCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	if len(msg) > maxCheckpoint {
		return Checkpoint{}, fmt.Errorf("open checkpoint: longer than %d bytes", maxCheckpoint)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %v", err)
	}
	c, err := parseBody(n.Text)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %v", err)
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("open checkpoint: origin %q is not the log key's name %q", c.Origin, v.Name())
	}
	c.Note = msg
	return c, nil
}

func parseBody(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, errors.New("want origin, size and root hash lines")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("tree size %q is not a decimal number", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, errors.New("root hash is not 32 bytes of base64")
	}
	return Checkpoint{Origin: lines[0], Size: n, Hash: tlog.Hash(h)}, nil
}
