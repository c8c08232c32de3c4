package translog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tamper changes the byte at off of the file rel in dir.
func tamper(t *testing.T, dir, rel string, off int) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bundleOffset is where the bytes of entry i of a bundle start.
func bundleOffset(t *testing.T, i int) int {
	t.Helper()
	off := 0
	for j := range i {
		b, _ := testEntry(j).MarshalText()
		off += 2 + len(b)
	}
	return off + 2
}

// TestVerifyTampered changes one byte of the log's files and checks
// that Verify names the first bad entry.
func TestVerifyTampered(t *testing.T) {
	tests := []struct {
		name      string
		rel       string
		off       func(t *testing.T) int
		wantIndex int64
		wantErr   string
	}{
		{"entry", "tile/entries/000.p/200", func(t *testing.T) int { return bundleOffset(t, 137) + 40 }, 137, "does not hash"},
		{"entry length", "tile/entries/000.p/200", func(t *testing.T) int { return bundleOffset(t, 3) - 1 }, 0, "bundle"},
		{"leaf hash tile", "tile/0/000.p/200", func(*testing.T) int { return 42*32 + 5 }, 42, "hash tiles do not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, v := newTestLog(t, 200)
			if _, err := Verify(l.Dir(), v); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tamper(t, l.Dir().Path(), tt.rel, tt.off(t))
			_, err := Verify(l.Dir(), v)
			var bad *BadEntryError
			if !errors.As(err, &bad) || bad.Index != tt.wantIndex || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Verify = %v, want entry %d: ...%s...", err, tt.wantIndex, tt.wantErr)
			}
		})
	}
}

func TestVerifyCheckpointTampered(t *testing.T) {
	l, v := newTestLog(t, 20)
	tamper(t, l.Dir().Path(), "checkpoint", 3)
	if _, err := Verify(l.Dir(), v); err == nil || !strings.Contains(err.Error(), "open checkpoint") {
		t.Fatalf("Verify = %v, want a checkpoint that does not open", err)
	}
}

func TestVerifyMissingBundle(t *testing.T) {
	l, v := newTestLog(t, 300)
	if err := os.Remove(filepath.Join(l.Dir().Path(), "tile/entries/001.p/44")); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(l.Dir(), v)
	var bad *BadEntryError
	if !errors.As(err, &bad) || bad.Index != 256 || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Verify = %v, want entry 256 missing", err)
	}
}

// TestVerifyTruncated re-signs a shorter log with the same key: the
// directory is whole, but not consistent with a checkpoint seen before.
func TestVerifyTruncated(t *testing.T) {
	long, v := newTestLog(t, 200)
	seen, err := long.Dir().Checkpoint(v)
	if err != nil {
		t.Fatal(err)
	}
	short, _ := newTestLog(t, 150)
	c, err := Verify(short.Dir(), v)
	if err != nil {
		t.Fatalf("the short log alone: %v", err)
	}
	_, err = Verify(short.Dir(), v, seen)
	if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), seen.String()) || !strings.Contains(err.Error(), c.String()) {
		t.Fatalf("Verify = %v, want the log shrank, naming %q and %q", err, seen, c)
	}
}
