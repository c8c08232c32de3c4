package translog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "signstar.example/log"

// testKey is a fixed Ed25519 key standing in for the token's.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
}

func testEntry(i int) Entry {
	d := sha512.Sum512(fmt.Appendf(nil, "input %d", i))
	return Entry{
		Time:       time.Date(2026, 11, 29, 19, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Account:    "signstar",
		SSHKey:     "SHA256:Xz0m3p4bW8i3Hq2V1Tc0zZ0w6t9n1y3dQyQ2o8B3x5c",
		Key:        "7C3F0C7A0B9E6A5F1D2C3B4A5968776655443322",
		Format:     "openpgp-detached",
		Size:       int64(i),
		DigestHash: crypto.SHA512,
		Digest:     d[:],
		Signature:  SignatureSum(fmt.Appendf(nil, "signature %d", i)),
	}
}

// newTestLog is a log in a fresh directory with n entries, and a
// checkpoint signed by testKey.
func newTestLog(t testing.TB, n int) (*Log, note.Verifier) {
	t.Helper()
	l, err := Open(testDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		got, err := l.Append(func(index int64) (Entry, error) {
			if index != int64(i) {
				t.Fatalf("Append #%d: leaf called with index %d", i, index)
			}
			return testEntry(i), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got != int64(i) {
			t.Fatalf("Append #%d: index %d", i, got)
		}
	}
	s, v := testSigner(t)
	if _, err := l.Checkpoint(s); err != nil {
		t.Fatal(err)
	}
	return l, v
}

// testDir is a fresh directory, on tmpfs where there is one: the tests
// append thousands of entries, each fsync'd (BenchmarkAppend measures
// disks).
func testDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "translog-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func testSigner(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	s, err := NewSigner(testOrigin, testKey())
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := VerifierKey(testOrigin, testKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// treeOf is the tree of the first n test entries, computed in memory,
// independently of the tiles.
func treeOf(t testing.TB, n int) tlog.Tree {
	t.Helper()
	var stored []tlog.Hash
	r := tlog.HashReaderFunc(func(xs []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(xs))
		for i, x := range xs {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i := range n {
		b, err := testEntry(i).MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.StoredHashes(int64(i), b, r)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	h, err := tlog.TreeHash(int64(n), r)
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Tree{N: int64(n), Hash: h}
}

// TestAppendProofs appends 200 entries, then checks with tlog's Check*
// functions that every entry's proof verifies against the final
// checkpoint and that every tenth size is consistent with every later
// tenth size, and that the checkpoint's root is the tree computed in
// memory from the entries.
func TestAppendProofs(t *testing.T) {
	const n = 200
	l, v := newTestLog(t, n)
	c, err := l.Dir().Checkpoint(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := treeOf(t, n); c.Tree() != want {
		t.Fatalf("checkpoint %v, want tree %v", c, want)
	}
	for i := range int64(n) {
		p, err := l.Dir().Proof(c, i)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := testEntry(int(i)).MarshalText()
		if err := tlog.CheckRecord(p.Path, c.Size, c.Hash, i, tlog.RecordHash(b)); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
		text, _ := p.MarshalText()
		if _, err := ParseProof(text, v); err != nil {
			t.Errorf("entry %d: %v", i, err)
		}
	}
	trees := map[int64]tlog.Tree{}
	for size := int64(10); size <= n; size += 10 {
		trees[size] = treeOf(t, int(size))
	}
	for old := int64(10); old <= n; old += 10 {
		for size := old; size <= n; size += 10 {
			p, err := l.Dir().ConsistencyIn(c, old, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(p.Path, size, trees[size].Hash, old, trees[old].Hash); err != nil {
				t.Errorf("size %d to %d: %v", old, size, err)
			}
		}
		p, err := l.Dir().Consistency(c, old)
		if err != nil {
			t.Fatal(err)
		}
		older := Checkpoint{Origin: c.Origin, Size: old, Hash: trees[old].Hash}
		if err := CheckConsistency(older, c, p); err != nil {
			t.Errorf("size %d to %d: %v", old, n, err)
		}
	}
}

// TestPartialTilesKept: the partial tiles of the signed checkpoint stay
// until the next one is signed; those of unsigned sizes go at once.
func TestPartialTilesKept(t *testing.T) {
	l, _ := newTestLog(t, 5) // signed at 5
	for i := 5; i < 8; i++ {
		if _, err := l.Append(func(int64) (Entry, error) { return testEntry(i), nil }); err != nil {
			t.Fatal(err)
		}
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(l.Dir().Path(), rel))
		return err == nil
	}
	want := map[string]bool{
		"tile/0/000.p/5": true, "tile/entries/000.p/5": true,
		"tile/0/000.p/6": false, "tile/entries/000.p/7": false,
		"tile/0/000.p/8": true, "tile/entries/000.p/8": true,
	}
	for rel, w := range want {
		if exists(rel) != w {
			t.Errorf("before signing 8: %s exists: %v, want %v", rel, !w, w)
		}
	}
	s, _ := testSigner(t)
	if _, err := l.Checkpoint(s); err != nil {
		t.Fatal(err)
	}
	if exists("tile/0/000.p/5") || exists("tile/entries/000.p/5") || !exists("tile/0/000.p/8") {
		t.Error("after signing 8: the tiles of 5 are still there, or those of 8 gone")
	}
}

// TestConcurrentAppend appends from 4 Logs on one directory at once, as
// 4 signstar processes would (each takes the flock through its own open
// file): no entry lost or doubled, and the result verifies.
func TestConcurrentAppend(t *testing.T) {
	dir := testDir(t)
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		l, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for i := range each {
				_, err := l.Append(func(int64) (Entry, error) { return testEntry(w*each + i), nil })
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	l, _ := Open(dir)
	s, v := testSigner(t)
	if _, err := l.Checkpoint(s); err != nil {
		t.Fatal(err)
	}
	c, err := Verify(l.Dir(), v)
	if err != nil || c.Size != writers*each {
		t.Fatalf("Verify = %v, %v; want %d entries", c, err, writers*each)
	}
	seen := map[int64]bool{}
	l.Dir().Walk(c.Tree(), 0, func(_ int64, e Entry) error {
		seen[e.Size] = true
		return nil
	})
	if len(seen) != writers*each {
		t.Fatalf("%d distinct entries, want %d", len(seen), writers*each)
	}
}
