package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"syscall"
	"testing"
)

// TestAuditFullDiskLockedDown: a record the disk takes only in part is
// cut back after lockdown too (seccomp allows ftruncate on the audit file
// alone), and the request fails with an error line instead of SIGSYS.
func TestAuditFullDiskLockedDown(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0755"); err != nil {
		testenv.SkipOrFatal(t, "mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	audit := filepath.Join(mnt, "audit.jsonl")
	f := newFixtureWith(t, "file:"+audit)
	f.generate("k", "ed25519")

	// Whole lines, ending 96 bytes short of a page: the next record (about
	// 600 bytes) fits only in part once the rest of the disk is full.
	pad := []byte(`{"PAD":"` + strings.Repeat("x", 4000-11) + "\"}\n")
	if err := os.WriteFile(audit, pad, 0o600); err != nil {
		t.Fatal(err)
	}
	fill(t, filepath.Join(mnt, "filler"))

	r := f.run([]byte("data\n"), "sign")
	assertError(t, r, exitFailed, "write audit record: ")
	if !strings.Contains(string(r.stderr), "wrote 96 of") {
		t.Errorf("stderr %q does not say the record was written in part", r.stderr)
	}
	got, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pad) {
		t.Errorf("audit file holds %d bytes after the failed write, want the %d it had: %q", len(got), len(pad), got[min(len(got), len(pad)):])
	}
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunk := make([]byte, 512)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
