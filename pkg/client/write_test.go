package client

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.sig")
	for _, data := range []string{"first", "second, longer", "3"} {
		if err := WriteAtomic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != data {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0o644 &^ umask(t); fi.Mode().Perm() != want {
		t.Fatalf("mode %v, want %v", fi.Mode().Perm(), want)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"f.sig"}) {
		t.Fatalf("directory holds %q", got)
	}
}

// umask reads the process umask without changing it (proc(5), Linux 4.7).
func umask(t *testing.T) os.FileMode {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return os.FileMode(m)
		}
	}
	t.Skip("no Umask in /proc/self/status")
	return 0
}

// TestWriteAtomicFails: a failed write leaves the old file, or nothing,
// and no temporary file.
func TestWriteAtomicFails(t *testing.T) {
	dir := t.TempDir()
	// rename(2) cannot replace a non-empty directory.
	target := filepath.Join(dir, "f.sig")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(target, []byte("sig")); err == nil {
		t.Fatal("WriteAtomic over a directory succeeded")
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"f.sig"}) {
		t.Fatalf("directory holds %q", got)
	}
	if err := WriteAtomic(filepath.Join(dir, "missing", "f.sig"), []byte("sig")); err == nil {
		t.Fatal("WriteAtomic into a missing directory succeeded")
	}
}

// TestWriteAtomicLongName: the temporary name of a 255-byte file name
// still fits NAME_MAX.
func TestWriteAtomicLongName(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("n", 251)+".sig")
	if err := WriteAtomic(path, []byte("sig")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, []byte("sig")) {
		t.Fatalf("read back %q, %v", got, err)
	}
}
