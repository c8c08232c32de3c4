package client

import (
	"bytes"
	"crypto"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"

	"signstar/pkg/pgp"
	"signstar/pkg/request"
)

const (
	// bufSize is the one buffer a file is streamed through, so memory stays
	// flat whatever its size and however many files are in flight.
	bufSize = 64 << 10
	// progressMin is the smallest file that gets a progress bar: SHA-512
	// runs at several hundred MiB/s, so smaller ones are done in a blink.
	progressMin = 64 << 20
)

// digest is what the client knows of a file before any host is asked.
type digest struct {
	size    int64
	sum     []byte    // SHA-512 of the file: the data-digest notation's value
	request []byte    // the signing request JSON carrying the hasher's state
	h       hash.Hash // the hasher itself, for checking the signature that comes back
	info    os.FileInfo
}

// openRegular opens file for reading and refuses anything but a regular
// file: the signature is verified by reading the file a second time, which
// a pipe or a device cannot give back.
func openRegular(file string) (*os.File, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, pathless(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, pathless(err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, errors.New("not a regular file")
	}
	return f, nil
}

// pathless drops the file name from an *fs.PathError: every message about
// a file already starts with its name.
func pathless(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// hashFile streams f through SHA-512 and builds the signing request from
// the hasher's state (request.md: the server finishes the hash itself).
// The file's size and modification time are taken before it is read, for
// [checkUnchanged].
func (s *signer) hashFile(f *os.File) (digest, error) {
	info, err := f.Stat()
	if err != nil {
		return digest{}, fmt.Errorf("hash: %v", pathless(err))
	}
	h := sha512.New()
	n, err := s.copyFile(h, f, "hashing")
	if err != nil {
		return digest{}, fmt.Errorf("hash: %v", pathless(err))
	}
	state, err := request.State(h)
	if err != nil {
		return digest{}, fmt.Errorf("BUG: %v", err)
	}
	req, err := request.NewRequest(state)
	if err != nil {
		return digest{}, fmt.Errorf("BUG: %v", err)
	}
	return digest{size: n, sum: h.Sum(nil), request: req, h: h, info: info}, nil
}

// verifyHash checks bin, one binary signature, against cert over the file
// as it was read for the request: a copy of the hasher kept from that one
// pass is finished with the signature's trailer (pgp.VerifyHash), so the
// file is read once however large it is. That the file still holds those
// bytes when the signature is written is [checkUnchanged]'s part.
func verifyHash(cert *pgp.Certificate, bin []byte, d digest) error {
	if err := pgp.VerifyHash(cert, bytes.NewReader(bin), d.h, crypto.SHA512); err != nil {
		return fmt.Errorf("signature does not verify over the file (with key %s): %v", cert.Fingerprint(), err)
	}
	return nil
}

// errChanged is a file that changed between its hashing and the writing
// of its signature: no other host can help, so it is not retried.
var errChanged = errors.New("file changed while being signed (size or modification time differs from when it was hashed); signature not written")

// checkUnchanged compares f's size and modification time, by fstat(2) on
// the descriptor that was hashed, with those taken before the hashing: a
// file rewritten in between (a build still writing it, a second run) is
// not given a signature over bytes it no longer holds. Modification times
// are as fine as the file system keeps them (nanoseconds on ext4, XFS and
// btrfs, but set from the kernel's coarse clock before Linux 6.13's
// multigrain timestamps), so two writes within one clock tick look alike;
// the size still differs unless the rewrite keeps it.
func checkUnchanged(f *os.File, d digest) error {
	now, err := f.Stat()
	if err != nil {
		return fmt.Errorf("check file: %v", pathless(err))
	}
	if now.Size() != d.info.Size() || !now.ModTime().Equal(d.info.ModTime()) || now.Size() != d.size {
		return errChanged
	}
	return nil
}

// copyFile copies f from its current offset into w through one fixed
// buffer. Wrapping the reader hides *os.File's WriterTo, so io.CopyBuffer
// really uses the buffer.
func (s *signer) copyFile(w io.Writer, f *os.File, label string) (int64, error) {
	return io.CopyBuffer(w, struct{ io.Reader }{s.progress(f, label)}, make([]byte, bufSize))
}

// progress wraps f in a progress bar on a terminal Log when f is large.
func (s *signer) progress(f *os.File, label string) io.Reader {
	if !s.log.tty {
		return f
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() < progressMin {
		return f
	}
	return &progressReader{r: f, log: s.log, label: label, name: f.Name(), total: fi.Size()}
}
