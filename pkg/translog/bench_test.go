package translog

import (
	"os"
	"testing"
)

// BenchmarkAppend measures one Append (one entry, its tiles, the fsyncs)
// in SIGNSTAR_BENCH_DIR (default: the test's temporary directory), so
// tmpfs and disk can be compared:
//
//	SIGNSTAR_BENCH_DIR=/dev/shm go test -run - -bench Append ./pkg/translog
func BenchmarkAppend(b *testing.B) {
	l := benchLog(b)
	e := testEntry(1)
	for b.Loop() {
		if _, err := l.Append(func(int64) (Entry, error) { return e, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendCheckpoint adds signing a checkpoint (software Ed25519
// here; the token's signature comes on top) after every append.
func BenchmarkAppendCheckpoint(b *testing.B) {
	l := benchLog(b)
	s, err := NewSigner(testOrigin, testKey())
	if err != nil {
		b.Fatal(err)
	}
	e := testEntry(1)
	for b.Loop() {
		if _, err := l.Append(func(int64) (Entry, error) { return e, nil }); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Checkpoint(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendAll32 appends 32 entries a call (a batch's worth), to
// show what one lock and one round of fsyncs for many entries saves;
// ns/op is per call, so per entry divide by 32.
func BenchmarkAppendAll32(b *testing.B) {
	l := benchLog(b)
	es := make([]Entry, 32)
	for i := range es {
		es[i] = testEntry(i)
	}
	for b.Loop() {
		if _, err := l.AppendAll(func(int64) ([]Entry, error) { return es, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLog(b *testing.B) *Log {
	b.Helper()
	dir := b.TempDir()
	if d := os.Getenv("SIGNSTAR_BENCH_DIR"); d != "" {
		var err error
		if dir, err = os.MkdirTemp(d, "translog-bench-"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	l, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	return l
}
