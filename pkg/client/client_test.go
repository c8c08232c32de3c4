package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"signstar/internal/verifytest"
	"signstar/pkg/pgp"
)

var (
	certOnce  sync.Once
	testCert  *pgp.Certificate
	certASC   []byte
	otherCert *pgp.Certificate
)

// testCerts returns the pinned test certificate and its armored form.
func testCerts(t *testing.T) (*pgp.Certificate, []byte) {
	t.Helper()
	certOnce.Do(func() {
		var err error
		if testCert, err = newCert(testKey); err != nil {
			panic(err)
		}
		if otherCert, err = newCert(otherKey); err != nil {
			panic(err)
		}
		var b bytes.Buffer
		if err := testCert.WriteArmored(&b); err != nil {
			panic(err)
		}
		certASC = b.Bytes()
	})
	return testCert, certASC
}

// syncBuffer is a Log the test can read while workers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// options pins the test certificate and talks to the fake ssh.
func options(t *testing.T, log *syncBuffer, hosts ...string) Options {
	t.Helper()
	cert, _ := testCerts(t)
	o := Options{Hosts: hosts, Cert: cert, SSH: fakeSSH}
	if log != nil {
		o.Log = log
	}
	return o
}

func randomData(n int) []byte {
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dirNames lists dir, so a test can assert nothing else was left there.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSignSizes(t *testing.T) {
	_, asc := testCerts(t)
	for _, n := range []int{0, 1, 127, 128, 129, 1 << 20} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := randomData(n)
			file := writeFile(t, dir, "pkg.tar.zst", data)
			var log syncBuffer
			results, err := Sign(context.Background(), []string{file}, options(t, &log, "ok"))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			r := results[0]
			if r.Err != nil || r.Host != "ok" || r.Output != file+".sig" || r.Fingerprint != testCert.Fingerprint() {
				t.Fatalf("result = %+v", r)
			}
			sig, err := os.ReadFile(r.Output)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) == 0 || sig[0]&0x80 == 0 {
				t.Fatalf("signature is not binary: %.40q", sig)
			}
			if err := verifytest.GPGV(t, asc, data, sig); err != nil {
				t.Fatalf("gpgv: %v", err)
			}
			if err := verifytest.GPGV(t, asc, append(data, 0), sig); err == nil {
				t.Fatal("gpgv accepts the signature over other data")
			}
			if got := dirNames(t, dir); !slices.Equal(got, []string{"pkg.tar.zst", "pkg.tar.zst.sig"}) {
				t.Fatalf("directory holds %q", got)
			}
			if want := "signstar: signed " + file + " on ok: wrote " + file + ".sig\n"; log.String() != want {
				t.Fatalf("log = %q, want %q", log.String(), want)
			}
		})
	}
}

func TestArmor(t *testing.T) {
	_, asc := testCerts(t)
	dir := t.TempDir()
	data := randomData(1000)
	file := writeFile(t, dir, "db.tar.gz", data)
	o := options(t, nil, "ok")
	o.Armor = true
	results, err := Sign(context.Background(), []string{file}, o)
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Output != file+".asc" {
		t.Fatalf("output = %q", results[0].Output)
	}
	sig, err := os.ReadFile(file + ".asc")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sig, []byte("-----BEGIN PGP SIGNATURE-----\n")) || !bytes.HasSuffix(sig, []byte("-----END PGP SIGNATURE-----\n")) {
		t.Fatalf("not one armored signature:\n%s", sig)
	}
	if err := verifytest.GPGV(t, asc, data, sig); err != nil {
		t.Fatalf("gpgv: %v", err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"db.tar.gz", "db.tar.gz.asc"}) {
		t.Fatalf("directory holds %q", got)
	}
}

func TestFailover(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "a", []byte("a"))
	var log syncBuffer
	results, err := Sign(context.Background(), []string{file}, options(t, &log, "down", "ok"))
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Host != "ok" {
		t.Fatalf("signed by %q, want ok", results[0].Host)
	}
	want := "signstar: warning: " + file + ": down: cannot reach host (ssh exit 255): ssh: connect to host down port 22: Connection refused; trying ok\n"
	if !strings.HasPrefix(log.String(), want) {
		t.Fatalf("log = %q, want it to start with %q", log.String(), want)
	}
}

// TestBadServers: whatever a server does wrong, nothing is written, no
// temporary file is left, and the error says what happened.
func TestBadServers(t *testing.T) {
	for _, tt := range []struct {
		name    string
		hosts   []string
		timeout time.Duration
		wantErr string
	}{
		{"unreachable", []string{"down.1", "down.2"}, 0,
			"down.1: cannot reach host (ssh exit 255): ssh: connect to host down port 22: Connection refused; down.2: cannot reach host"},
		{"garbage", []string{"garbage"}, 0, "garbage: bad response: invalid signing response: not valid json"},
		{"flood", []string{"flood"}, 0, "flood: bad response: invalid signing response: response: larger than 65536 bytes"},
		{"other data", []string{"otherdata"}, 0, "otherdata: signature is over other data: its data-digest@archlinux.org is"},
		{"liar", []string{"liar"}, 0, "liar: signature does not verify over the file"},
		{"no notation", []string{"nonotation"}, 0, "nonotation: signature has 0 data-digest@archlinux.org notations, want 1"},
		{"wrong key", []string{"wrongkey"}, 0, "wrongkey: signature does not verify over the file (with key "},
		{"refused", []string{"refuse"}, 0,
			`refuse: server failed (exit 2): signstar: error: key "repo" is not allowed?[2J; signstar: hint: ask the admin`},
		{"hang", []string{"hang"}, 300 * time.Millisecond, "hang: no answer within 300ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := writeFile(t, dir, "f", randomData(300))
			o := options(t, nil, tt.hosts...)
			o.Timeout = tt.timeout
			results, err := Sign(context.Background(), []string{file}, o)
			if err == nil || results[0].Err == nil || results[0].Output != "" || results[0].Host != "" {
				t.Fatalf("Sign = %+v, %v; want an error", results, err)
			}
			want := file + ": not signed: " + tt.wantErr
			if !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("error = %q\nwant prefix %q", err, want)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n") {
				t.Fatalf("error holds a control character: %q", err)
			}
			if got := dirNames(t, dir); !slices.Equal(got, []string{"f"}) {
				t.Fatalf("directory holds %q", got)
			}
		})
	}
}

// TestBadServerThenGood: every kind of failure moves on to the next host.
func TestBadServerThenGood(t *testing.T) {
	for _, bad := range []string{"garbage", "otherdata", "liar", "nonotation", "wrongkey", "refuse"} {
		t.Run(bad, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, t.TempDir(), "f", randomData(200))
			results, err := Sign(context.Background(), []string{file}, options(t, nil, bad, "ok"))
			if err != nil || results[0].Host != "ok" {
				t.Fatalf("Sign = %+v, %v; want signed by ok", results, err)
			}
		})
	}
}

// TestStraggler: a process that keeps ssh's pipes open after ssh exits (a
// ControlPersist master) delays a file by at most waitDelay.
func TestStraggler(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f", []byte("data"))
	start := time.Now()
	results, err := Sign(context.Background(), []string{file}, options(t, nil, "straggler"))
	if err != nil || results[0].Host != "straggler" {
		t.Fatalf("Sign = %+v, %v", results, err)
	}
	if d := time.Since(start); d > waitDelay+3*time.Second {
		t.Fatalf("Sign took %v", d)
	}
}

// TestJobs: fifty files over eight workers, one session per file, are
// all signed, by runs that overlap in time.
func TestJobs(t *testing.T) {
	dir := t.TempDir()
	runs := filepath.Join(t.TempDir(), "runs")
	var files []string
	for i := range 50 {
		files = append(files, writeFile(t, dir, fmt.Sprintf("pkg-%02d.tar.zst", i), randomData(1000+i)))
	}
	o := options(t, nil, "ok")
	o.Jobs, o.NoBatch = 8, true
	o.SSHOptions = []string{"-o", logOption + runs}
	results, err := Sign(context.Background(), files, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		if r.File != files[i] || r.Err != nil || r.Host != "ok" {
			t.Fatalf("result %d = %+v", i, r)
		}
		verifyFile(t, r.Output, files[i])
	}
	if n := len(dirNames(t, dir)); n != 100 {
		t.Fatalf("directory holds %d files, want 100", n)
	}
	lines := readLines(t, runs)
	if len(lines) != 50 {
		t.Fatalf("%d ssh runs, want 50", len(lines))
	}
	if c := maxConcurrent(t, lines); c < 2 || c > 8 {
		t.Fatalf("at most %d ssh runs at once, want 2..8", c)
	}
}

func verifyFile(t *testing.T, sigPath, dataPath string) {
	t.Helper()
	cert, _ := testCerts(t)
	sig, err := os.Open(sigPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sig.Close()
	data, err := os.Open(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	if err := pgp.Verify(cert, sig, data); err != nil {
		t.Fatalf("%s: %v", sigPath, err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// maxConcurrent reads the "start end ..." lines of the fake ssh.
func maxConcurrent(t *testing.T, lines []string) int {
	t.Helper()
	type event struct {
		at    int64
		delta int
	}
	var events []event
	for _, l := range lines {
		var start, end int64
		if _, err := fmt.Sscan(l, &start, &end); err != nil {
			t.Fatalf("run line %q: %v", l, err)
		}
		events = append(events, event{start, 1}, event{end, -1})
	}
	sort.Slice(events, func(i, j int) bool {
		return events[i].at < events[j].at || events[i].at == events[j].at && events[i].delta < events[j].delta
	})
	cur, best := 0, 0
	for _, e := range events {
		cur += e.delta
		best = max(best, cur)
	}
	return best
}

// TestCommandLine: what ssh is given, word for word.
func TestCommandLine(t *testing.T) {
	runs := filepath.Join(t.TempDir(), "runs")
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	o := options(t, nil, "ok")
	o.Cert = nil
	o.Key = "repo"
	o.SSHOptions = []string{"-o", logOption + runs, "-p", "2222"}
	if _, err := Sign(context.Background(), []string{file}, o); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range readLines(t, runs) {
		got = append(got, strings.SplitN(l, " ", 3)[2])
	}
	want := []string{
		"-o " + logOption + runs + " -p 2222 -- ok cert --key repo",
		"-o " + logOption + runs + " -p 2222 -- ok sign --request --key repo",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ssh runs (after -T):\n%q\nwant\n%q", got, want)
	}
}

// TestTrustOnFirstUse: without a pinned certificate each host's is fetched
// once, announced with its fingerprint, and used to verify.
func TestTrustOnFirstUse(t *testing.T) {
	testCerts(t)
	dir := t.TempDir()
	runs := filepath.Join(t.TempDir(), "runs")
	var files []string
	for i := range 6 {
		files = append(files, writeFile(t, dir, strconv.Itoa(i), randomData(i)))
	}
	var log syncBuffer
	o := options(t, &log, "ok")
	o.Cert, o.Jobs = nil, 3
	o.SSHOptions = []string{"-o", logOption + runs}
	results, err := Sign(context.Background(), files, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		verifyFile(t, r.Output, files[i])
	}
	var fetches int
	for _, l := range readLines(t, runs) {
		if strings.HasSuffix(l, " -- ok cert") {
			fetches++
		}
	}
	if fetches != 1 {
		t.Fatalf("%d certificate fetches, want 1", fetches)
	}
	want := "signstar: warning: ok: no pinned certificate; trusting the one it serves on first use: " +
		testCert.Fingerprint() + " client test <test@signstar.invalid>\n"
	if !strings.HasPrefix(log.String(), want) || strings.Count(log.String(), "first use") != 1 {
		t.Fatalf("log = %q, want it to start with %q", log.String(), want)
	}

	// A host serving another certificate verifies against its own, and the
	// difference is pointed out.
	log = syncBuffer{}
	o.Hosts, o.Jobs = []string{"ok", "wrongkey"}, 1
	results, err = Sign(context.Background(), files[:1], o)
	if err != nil || results[0].Host != "ok" {
		t.Fatalf("Sign = %+v, %v", results, err)
	}
	o.Hosts = []string{"wrongkey"}
	results, err = Sign(context.Background(), files[:1], o)
	if err != nil || results[0].Fingerprint != otherCert.Fingerprint() {
		t.Fatalf("Sign = %+v, %v; want signed with %s", results, err, otherCert.Fingerprint())
	}
}

func TestTrustOnFirstUseWarnsOnDifferentCerts(t *testing.T) {
	testCerts(t)
	var log syncBuffer
	o := options(t, &log, "ok")
	o.Cert = nil
	s, err := newSigner(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"ok", "wrongkey"} {
		if _, err := s.certs.get(context.Background(), host); err != nil {
			t.Fatal(err)
		}
	}
	want := "signstar: warning: wrongkey serves certificate " + otherCert.Fingerprint() + ", another host served " + testCert.Fingerprint()
	if !strings.Contains(log.String(), want) {
		t.Fatalf("log = %q, want %q", log.String(), want)
	}
}

// TestSomeFilesFail: one bad file does not stop the others; the error
// counts the failures and Log names each one.
func TestSomeFilesFail(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good", []byte("good"))
	missing := filepath.Join(dir, "missing")
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	o := options(t, &log, "ok")
	o.Jobs = 2
	results, err := Sign(context.Background(), []string{missing, good, sub}, o)
	if err == nil || err.Error() != "2 of 3 files not signed" {
		t.Fatalf("error = %v", err)
	}
	if results[1].Err != nil || results[1].Host != "ok" {
		t.Fatalf("good file: %+v", results[1])
	}
	if want := missing + ": not signed: open: no such file or directory"; !errors.Is(results[0].Err, os.ErrNotExist) || results[0].Err.Error() != want {
		t.Fatalf("missing file: %v, want %q", results[0].Err, want)
	}
	if want := sub + ": not signed: not a regular file"; results[2].Err == nil || results[2].Err.Error() != want {
		t.Fatalf("directory: %v, want %q", results[2].Err, want)
	}
	for _, r := range []Result{results[0], results[2]} {
		if want := "signstar: " + r.Err.Error() + "\n"; !strings.Contains(log.String(), want) {
			t.Fatalf("log = %q, want %q", log.String(), want)
		}
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"good", "good.sig", "sub"}) {
		t.Fatalf("directory holds %q", got)
	}
}

func TestCanceled(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	results, err := Sign(ctx, []string{file, file}, options(t, nil, "ok"))
	if err == nil || !errors.Is(results[0].Err, context.Canceled) || !errors.Is(results[1].Err, context.Canceled) {
		t.Fatalf("Sign = %+v, %v", results, err)
	}
}

// TestCanceledWhileWaiting: cancelling stops a host that hangs at once,
// without trying the next host.
func TestCanceledWhileWaiting(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Sign(ctx, []string{file}, options(t, nil, "hang", "ok"))
	if err == nil || !strings.HasSuffix(err.Error(), "not signed: context deadline exceeded") {
		t.Fatalf("error = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Sign took %v after cancel", d)
	}
}

func TestOptionsRefused(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f", []byte("x"))
	for _, tt := range []struct {
		name    string
		files   []string
		hosts   []string
		key     string
		wantErr string
	}{
		{"no hosts", []string{file}, nil, "", "sign: no hosts given"},
		{"option as host", []string{file}, []string{"ok", "-oProxyCommand=sh"}, "", `sign: invalid host "-oProxyCommand=sh"`},
		{"empty host", []string{file}, []string{""}, "", `sign: invalid host ""`},
		{"space in host", []string{file}, []string{"a b"}, "", `sign: invalid host "a b"`},
		{"bad key", []string{file}, []string{"ok"}, "repo; rm", `sign: invalid key name "repo; rm"`},
		{"no files", nil, []string{"ok"}, "", "sign: no files given"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := options(t, nil, tt.hosts...)
			o.Key = tt.key
			results, err := Sign(context.Background(), tt.files, o)
			if err == nil || err.Error() != tt.wantErr || results != nil {
				t.Fatalf("Sign = %v, %v; want %q", results, err, tt.wantErr)
			}
		})
	}
}
