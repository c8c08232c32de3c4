package client

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"
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
	sum     []byte // SHA-512 of the file: the data-digest notation's value
	request []byte // the signing request JSON carrying the hasher's state
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
func (s *signer) hashFile(f *os.File) (digest, error) {
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
	return digest{size: n, sum: h.Sum(nil), request: req}, nil
}

// verifyFile checks bin, one binary signature, against cert over the file
// read again from its start: what is published is checked against what is
// on disk, not against what was sent.
func (s *signer) verifyFile(cert *pgp.Certificate, bin []byte, f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("verify: rewind file: %v", err)
	}
	r := s.progress(f, "verifying")
	if err := pgp.Verify(cert, bytes.NewReader(bin), r); err != nil {
		return fmt.Errorf("signature does not verify over the file (with key %s): %v", cert.Fingerprint(), err)
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
