//go:build linux

package audit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fsAppendFL is FS_APPEND_FL of linux/fs.h, chattr's "a".
const fsAppendFL = 0x20

// inNamespaceEnv marks a test binary that inMountNamespace re-executed.
const inNamespaceEnv = "AUDIT_TEST_IN_MOUNT_NAMESPACE"

// TestFileSinkFullDisk fills a 64 KiB tmpfs with records until one does
// not fit: that Write fails, and the part of its record the disk took is
// cut back, so the file holds whole lines only. Once space is freed, the
// next record is whole too, and nothing needed repairing.
func TestFileSinkFullDisk(t *testing.T) {
	if os.Getenv(inNamespaceEnv) != "1" {
		inMountNamespace(t)
		return
	}
	path, filler := fullDisk(t, false)
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	written, before, err := fill(t, s, path)
	if err == nil || !strings.HasPrefix(err.Error(), "write audit entry: ") {
		t.Fatalf("Write on a full disk = %v, want a write audit entry error", err)
	}
	if size := fileSize(t, path); size != before {
		t.Fatalf("after the failed write the file has %d bytes, want %d as before it", size, before)
	}
	if n := len(readLines(t, path)); n != written {
		t.Fatalf("%d lines after the failed write, want %d", n, written)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(testRecords(testID)[0]); err != nil {
		t.Fatalf("Write after space was freed: %v", err)
	}
	// A new sink finds nothing to repair.
	s2, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Write(testRecords(testID)[1]); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path) // fails on a line that is not JSON
	if len(lines) != written+2 {
		t.Fatalf("%d lines, want %d", len(lines), written+2)
	}
	for i, l := range lines[written:] {
		if want := testRecords(testID)[i].Warning; l["SIGNSTAR_WARNING"] != want {
			t.Errorf("record %d: SIGNSTAR_WARNING = %q, want %q", written+i+1, l["SIGNSTAR_WARNING"], want)
		}
	}
}

// TestFileSinkFullDiskAppendOnly is a full disk with an append-only audit
// file (chattr +a), which cannot be cut back: the fragment stays, and the
// sink's next record starts on a line of its own and says so.
func TestFileSinkFullDiskAppendOnly(t *testing.T) {
	if os.Getenv(inNamespaceEnv) != "1" {
		inMountNamespace(t)
		return
	}
	path, filler := fullDisk(t, true)
	s, err := Open("file:"+path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	written, before, err := fill(t, s, path)
	if err == nil || !strings.Contains(err.Error(), "cutting the partial record back failed") {
		t.Fatalf("Write on a full disk = %v, want the cut back to fail", err)
	}
	if size := fileSize(t, path); size == before {
		t.Fatalf("test setup: the failed write left no fragment")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	recs := testRecords(testID)
	for _, r := range recs[:2] {
		if err := s.Write(r); err != nil {
			t.Fatalf("Write after space was freed: %v", err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fragment, rest, _ := strings.Cut(string(b[before:]), "\n")
	if !strings.HasPrefix(fragment, "{") || strings.HasSuffix(fragment, "}") {
		t.Fatalf("line %d = %q, want the fragment", written+1, fragment)
	}
	lines := jsonTail(t, path, 2)
	if want := recs[0].Warning + "; " + repairWarning; lines[0]["SIGNSTAR_WARNING"] != want {
		t.Errorf("record after the fragment: SIGNSTAR_WARNING = %q, want %q", lines[0]["SIGNSTAR_WARNING"], want)
	}
	if w, ok := lines[1]["SIGNSTAR_WARNING"]; ok {
		t.Errorf("second record after the fragment: SIGNSTAR_WARNING = %q, want none", w)
	}
	if n := strings.Count(rest, "\n"); n != 2 {
		t.Errorf("%d lines after the fragment, want 2: %q", n, rest)
	}
}

// fullDisk mounts a 64 KiB tmpfs and returns the path of an audit file on
// it, created empty (append-only if appendOnly, chattr +a), and of a
// 16 KiB filler file to remove to free space.
func fullDisk(t *testing.T, appendOnly bool) (path, filler string) {
	t.Helper()
	dir := mountTmpfs(t, "64k")
	path, filler = filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 16<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if appendOnly {
		// tmpfs takes inode flags since Linux 6.0; the flag goes with
		// the tmpfs when the test unmounts it.
		if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, fsAppendFL); err != nil {
			t.Fatalf("chattr +a: %v", err)
		}
	}
	return path, filler
}

// fill writes test records to s until one fails, and returns how many
// were written, the file's size before the failing one, and its error.
func fill(t *testing.T, s Sink, path string) (written int, before int64, err error) {
	t.Helper()
	recs := testRecords(testID)
	for written = 0; written < 1000; written++ {
		before = fileSize(t, path)
		if err := s.Write(recs[written%len(recs)]); err != nil {
			t.Logf("record %d: %v", written+1, err)
			if before%int64(os.Getpagesize()) == 0 {
				t.Fatalf("test setup: the failing write started on a page boundary (%d bytes), so the disk took none of it", before)
			}
			return written, before, err
		}
	}
	t.Fatalf("%d records fit on a 64 KiB tmpfs", written)
	return
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// mountTmpfs mounts a tmpfs of size on a new directory, unmounted when the
// test ends.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("audit-test", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount a %s tmpfs: %v", size, err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// inMountNamespace runs the calling test again, in a re-executed test
// binary in a private mount namespace (unshare(1)), so that what it mounts
// is never seen on the host and goes away with it. It needs root; without
// it the test is skipped, or fails under SIGNSTAR_E2E=1.
func inMountNamespace(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "mounting a tmpfs in a mount namespace needs root")
	}
	unshare := testenv.Tool(t, "unshare")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "--mount", "--propagation", "private",
		exe, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), inNamespaceEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a mount namespace: %v\n%s", t.Name(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a mount namespace did not pass:\n%s", t.Name(), out)
	}
	t.Logf("in a mount namespace:\n%s", out)
}
