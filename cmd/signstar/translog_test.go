package main

// The transparency log (issue 18) on the signing path, through the real
// sshd: every released signature has a leaf, its index travels with it,
// and the proofs the log commands print verify with golang.org/x/mod's
// own tlog.Check* and note.Open, not the code that built them.

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/eddsa"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"signstar/internal/sshdtest"
	"signstar/internal/verifytest"
	"signstar/pkg/pgp"
	"signstar/pkg/request"
	"signstar/pkg/translog"
)

const testOrigin = "signstar.test/build"

// logFixture is an sshFixture whose host keeps a transparency log in
// dir, signed by the token key "tlog".
type logFixture struct {
	*sshFixture
	dir      string
	verifier note.Verifier
	viaSSH   bool
}

func newLogFixture(t *testing.T, viaSSH bool) *logFixture {
	t.Helper()
	var s *sshFixture
	if viaSSH {
		s = newSSHFixture(t, "")
	} else {
		f := newFixture(t)
		s = &sshFixture{fixture: f, repoCert: f.generate("repo", "ed25519")}
	}
	l := &logFixture{sshFixture: s, dir: filepath.Join(s.dir, "log"), viaSSH: viaSSH}
	l.verifier = logVerifier(t, s.generate("tlog", "ed25519"))
	if err := os.Mkdir(l.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, s.conf, fmt.Sprintf("[log]\nkey = \"tlog\"\ndir = %q\norigin = %q\n", l.dir, testOrigin))
	if viaSSH {
		s.srv.Grant(l.dir, s.hsm.Dir) // the token files of the new key too
	}
	return l
}

// logVerifier is the note verifier of the log key whose OpenPGP
// certificate is cert, built here from the key itself.
func logVerifier(t *testing.T, cert []byte) note.Verifier {
	t.Helper()
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(cert))
	if err != nil {
		t.Fatal(err)
	}
	pk, ok := el[0].PrimaryKey.PublicKey.(*eddsa.PublicKey)
	if !ok {
		t.Fatalf("log key is %T, want eddsa", el[0].PrimaryKey.PublicKey)
	}
	vkey, err := note.NewEd25519VerifierKey(testOrigin, ed25519.PublicKey(pk.X))
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// remote runs a client command in the login shell and wants it to
// succeed: through sshd if viaSSH, else signstar -c as sshd starts it,
// without the connection (faster, for the hundreds of requests of
// TestLog200; the lockdown is the same).
func (l *logFixture) remote(t *testing.T, stdin []byte, words ...string) sshdtest.Result {
	t.Helper()
	var cmd *exec.Cmd
	if l.viaSSH {
		cmd = l.srv.SSH(words...)
	} else {
		cmd = exec.Command(binary, "-c", strings.Join(words, " "))
		cmd.Env = append(slices.Clone(l.env), "USER=signer", "SSH_CONNECTION=192.0.2.7 51234 192.0.2.1 22")
	}
	r := sshdtest.Run(t, cmd, stdin)
	if r.Code != 0 {
		recs := readAllAudit(t, l.fixture)
		t.Fatalf("%s: exit %d: %s (last record: %v)", strings.Join(words, " "), r.Code, r.Stderr, recs[len(recs)-1])
	}
	return r
}

// checkpoint is the log's latest checkpoint, opened with note.Open.
func (l *logFixture) checkpoint(t *testing.T) tlog.Tree {
	t.Helper()
	return openCheckpoint(t, l.remote(t, nil, "log", "checkpoint").Stdout, l.verifier)
}

func openCheckpoint(t *testing.T, msg []byte, v note.Verifier) tlog.Tree {
	t.Helper()
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint %q: %v", msg, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != testOrigin {
		t.Fatalf("checkpoint text %q", n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tlog.ParseHash(lines[2])
	if err != nil {
		t.Fatal(err)
	}
	return tlog.Tree{N: size, Hash: h}
}

// inclusion fetches the proof of leaf i with 'log proof i', checks it
// with tlog.CheckRecord against want (the tree of the checkpoint it must
// carry) and returns the leaf.
func (l *logFixture) inclusion(t *testing.T, i int64, want tlog.Tree) translog.Entry {
	t.Helper()
	return l.inclusionIn(t, i, want, "log", "proof", strconv.FormatInt(i, 10))
}

// inclusionIn is inclusion with the command given, such as 'log proof i
// SIZE' for the tree of an older checkpoint.
func (l *logFixture) inclusionIn(t *testing.T, i int64, want tlog.Tree, words ...string) translog.Entry {
	t.Helper()
	out := l.remote(t, nil, words...).Stdout
	head, cp, ok := bytes.Cut(out, []byte("\n\n"))
	if !ok {
		t.Fatalf("proof %d: no checkpoint: %q", i, out)
	}
	if got := openCheckpoint(t, cp, l.verifier); got != want {
		t.Fatalf("proof %d carries checkpoint %v, want %v", i, got, want)
	}
	lines := strings.Split(string(head), "\n")
	if len(lines) < 3 || lines[0] != "c2sp.org/tlog-proof@v1" || lines[2] != "index "+strconv.FormatInt(i, 10) {
		t.Fatalf("proof %d: head %q", i, head)
	}
	leaf, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[1], "extra "))
	if err != nil {
		t.Fatal(err)
	}
	var path tlog.RecordProof
	for _, s := range lines[3:] {
		h, err := tlog.ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		path = append(path, h)
	}
	if err := tlog.CheckRecord(path, want.N, want.Hash, i, tlog.RecordHash(leaf)); err != nil {
		t.Fatalf("leaf %d: %v", i, err)
	}
	e, err := translog.ParseEntry(leaf)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// consistency checks 'log consistency OLD NEW' with tlog.CheckTree.
func (l *logFixture) consistency(t *testing.T, old, now tlog.Tree) {
	t.Helper()
	out := l.remote(t, nil, "log", "consistency", strconv.FormatInt(old.N, 10), strconv.FormatInt(now.N, 10)).Stdout
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) < 3 || lines[1] != fmt.Sprintf("old %d", old.N) || lines[2] != fmt.Sprintf("new %d", now.N) {
		t.Fatalf("consistency %d %d: %q", old.N, now.N, out)
	}
	var path tlog.TreeProof
	for _, s := range lines[3:] {
		h, err := tlog.ParseHash(s)
		if err != nil {
			t.Fatal(err)
		}
		path = append(path, h)
	}
	if err := tlog.CheckTree(path, now.N, now.Hash, old.N, old.Hash); err != nil {
		t.Fatalf("consistency %d %d: %v", old.N, now.N, err)
	}
}

// released is one signature as the client got it.
type released struct {
	form    string
	data    []byte
	out     []byte   // stdout
	packets [][]byte // its signature packets, binary
}

// logForms are the OpenPGP forms the 200 signatures cycle through.
var logForms = [][]string{{"sign"}, {"sign", "--armor"}, {"sign", "--text", "--armor"}, {"sign", "--clearsign"}, {"sign", "--request"}}

// sign makes signature i in form words and returns what the client got.
func (l *logFixture) sign(t *testing.T, i int, words []string) released {
	t.Helper()
	data := []byte(fmt.Sprintf("artifact %d\n", i))
	in := data
	if slices.Contains(words, "--request") {
		h := sha512.New()
		h.Write(data)
		state, err := request.State(h)
		if err != nil {
			t.Fatal(err)
		}
		if in, err = request.NewRequest(state); err != nil {
			t.Fatal(err)
		}
	}
	r := l.remote(t, in, words...)
	rel := released{form: strings.Join(words, " "), data: data, out: r.Stdout}
	sig := r.Stdout
	if slices.Contains(words, "--request") {
		var err error
		if sig, err = request.ReadResponse(bytes.NewReader(r.Stdout)); err != nil {
			t.Fatalf("%s: %v", rel.form, err)
		}
	}
	o, err := pgp.SplitOutput(sig)
	if err != nil {
		t.Fatalf("%s: %v", rel.form, err)
	}
	rel.packets = o.Packets
	return rel
}

// logIndex is the log-index@signstar notation of the signature packet
// p, which must be its unhashed area's only notation, non-critical.
func logIndex(t *testing.T, p []byte) int64 {
	t.Helper()
	n, body := subpacketLength(t, p[1:])
	if p[0] != 0xc2 || n != len(body) {
		t.Fatalf("not one new-format signature packet: % x", p[:min(len(p), 8)])
	}
	_, unhashed := sigAreas(t, body)
	ns := subpacketNotations(t, unhashed)
	if len(ns) != 1 || ns[0].name != "log-index@signstar" || ns[0].critical || !ns[0].readable {
		t.Fatalf("unhashed notations %+v, want one non-critical human-readable log-index@signstar", ns)
	}
	i, err := strconv.ParseInt(ns[0].value, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestLog200: 200 signatures in five OpenPGP forms through sshd, then
// every leaf's inclusion proof (log proof) verifies against the final
// checkpoint, each leaf records the signature the client got (its
// SHA-256, the notation's index), and the checkpoints taken at every
// tenth size are consistent with the final one (log consistency).
func TestLog200(t *testing.T) {
	l := newLogFixture(t, false)
	const n = 200
	rels := make([]released, n)
	var tenths []tlog.Tree
	for i := range n {
		rels[i] = l.sign(t, i, logForms[i%len(logForms)])
		if (i+1)%10 == 0 {
			tenths = append(tenths, l.checkpoint(t))
		}
	}
	final := l.checkpoint(t)
	if final.N != n {
		t.Fatalf("tree size %d after %d signatures", final.N, n)
	}
	for i, rel := range rels {
		if len(rel.packets) != 1 {
			t.Fatalf("%s: %d packets", rel.form, len(rel.packets))
		}
		if got := logIndex(t, rel.packets[0]); got != int64(i) {
			t.Fatalf("signature %d (%s) carries index %d", i, rel.form, got)
		}
		e := l.inclusion(t, int64(i), final)
		if e.Signature != sha256.Sum256(rel.packets[0]) {
			t.Fatalf("leaf %d does not record signature %d (%s)", i, i, rel.form)
		}
		if e.Account != "signer" || e.SSHKey != "-" || e.Format == "" || !bytes.Equal(e.Digest, sha512Of(rel.data)) {
			t.Errorf("leaf %d: %+v", i, e)
		}
	}
	for k, c := range tenths {
		if c.N != int64(10*(k+1)) {
			t.Fatalf("checkpoint %d has size %d", k, c.N)
		}
		l.consistency(t, c, final)
		if k > 0 {
			l.consistency(t, tenths[k-1], c) // NEW older than the latest
		}
	}
	// A leaf proven in the tree of an older checkpoint the client holds.
	for _, i := range []int64{0, 9, 55, 99, 150} {
		c := tenths[i/10]
		if e := l.inclusionIn(t, i, c, "log", "proof", strconv.FormatInt(i, 10), strconv.FormatInt(c.N, 10)); e.Signature != sha256.Sum256(rels[i].packets[0]) {
			t.Errorf("leaf %d in the tree of %d is not signature %d", i, c.N, i)
		}
	}
	// The notation breaks no verifier: gpgv and sqv on each form.
	for _, rel := range rels[:len(logForms)] {
		l.verifyReleased(t, rel)
	}
	// Each record names its leaf.
	i := 0
	for _, r := range readAuditFile(t, l.fixture) {
		if r["SIGNSTAR_RESULT"] == "signed" {
			r.want(t, map[string]string{"SIGNSTAR_LOG_INDEX": strconv.Itoa(i)})
			i++
		}
	}
	if i != n {
		t.Errorf("%d signed records, want %d", i, n)
	}
}

func sha512Of(b []byte) []byte {
	s := sha512.Sum512(b)
	return s[:]
}

// verifyReleased checks rel with gpgv and sqv.
func (l *logFixture) verifyReleased(t *testing.T, rel released) {
	t.Helper()
	if strings.Contains(rel.form, "--clearsign") {
		if err := verifytest.ClearGPGV(t, l.repoCert, rel.out); err != nil {
			t.Errorf("%s: gpgv: %v", rel.form, err)
		}
		if _, err := verifytest.ClearSQ(t, l.repoCert, rel.out); err != nil {
			t.Errorf("%s: sq: %v", rel.form, err)
		}
		return
	}
	sig := rel.packets[0]
	if err := verifytest.GPGV(t, l.repoCert, rel.data, sig); err != nil {
		t.Errorf("%s: gpgv: %v", rel.form, err)
	}
	if err := verifytest.SQV(t, l.repoCert, rel.data, sig); err != nil {
		t.Errorf("%s: sqv: %v", rel.form, err)
	}
}

// TestLogConcurrent: 32 signers at once through sshd; the tree holds one
// leaf per signature released, each the signature its client got, none
// twice and none lost, and every client's index is its leaf's.
func TestLogConcurrent(t *testing.T) {
	l := newLogFixture(t, true)
	const n = 32
	results := make([]sshdtest.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = sshdtest.Run(t, l.srv.SSH("sign"), []byte(fmt.Sprintf("artifact %d\n", i))) })
	}
	wg.Wait()
	want := map[int64][sha256.Size]byte{}
	for i, r := range results {
		if r.Code != 0 {
			t.Logf("session %d: exit %d: %s", i, r.Code, r.Stderr)
			continue
		}
		index := logIndex(t, r.Stdout)
		if _, dup := want[index]; dup {
			t.Fatalf("two signatures carry index %d", index)
		}
		want[index] = sha256.Sum256(r.Stdout)
		if err := verifytest.GPGV(t, l.repoCert, []byte(fmt.Sprintf("artifact %d\n", i)), r.Stdout); err != nil {
			t.Errorf("session %d: %v", i, err)
		}
	}
	final := l.checkpoint(t)
	if final.N != int64(len(want)) || len(want) < n/2 {
		t.Fatalf("tree of %d leaves for %d signatures released (of %d)", final.N, len(want), n)
	}
	for i := range final.N {
		e := l.inclusion(t, i, final)
		if sig, ok := want[i]; !ok || e.Signature != sig {
			t.Errorf("leaf %d is not the signature that carries its index", i)
		}
		if !strings.HasPrefix(e.SSHKey, "SHA256:") || e.Account != l.srv.User {
			t.Errorf("leaf %d: account %q, ssh key %q", i, e.Account, e.SSHKey)
		}
	}
}

// TestLogFailClosed: a log that cannot be appended to means no
// signature: exit 1, nothing on stdout, a failed record saying why.
// Root passes permission checks, so the log is made unwritable by what
// is in it: a file where its directory should be, and a file where the
// first append must make the tile directory (the append then fails after
// the token signed, in settle).
func TestLogFailClosed(t *testing.T) {
	for _, tt := range []struct{ name, file, want string }{
		{"log dir is a file", ".", "transparency log"},
		{"tile dir is a file", "tile", "append to the transparency log"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := newLogFixture(t, false)
			path := filepath.Join(l.dir, tt.file)
			if tt.file == "." {
				if err := os.Remove(l.dir); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(binary, "-c", "sign --armor")
			cmd.Env = append(slices.Clone(l.env), "USER=signer")
			r := sshdtest.Run(t, cmd, []byte("data\n"))
			if r.Code != exitFailed || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), "signing failed on the server") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, no signature", r.Code, r.Stdout, r.Stderr, exitFailed)
			}
			recs := readAuditFile(t, l.fixture)
			last := recs[len(recs)-1]
			last.want(t, map[string]string{"SIGNSTAR_RESULT": "failed", "SIGNSTAR_LOG_INDEX": "-"})
			if !strings.Contains(last["SIGNSTAR_ERROR"], tt.want) || !strings.Contains(last["SIGNSTAR_ERROR"], "nothing released") && tt.file != "." {
				t.Errorf("SIGNSTAR_ERROR = %q, want it to say %q", last["SIGNSTAR_ERROR"], tt.want)
			}
		})
	}
}

// TestLogKeyRefused: the log key signs checkpoints only, and the log
// commands refuse what they cannot answer.
func TestLogKeyRefused(t *testing.T) {
	l := newLogFixture(t, false)
	l.remote(t, []byte("data\n"), "sign")
	for _, tt := range []struct {
		words []string
		want  string
	}{
		{[]string{"sign", "--key", "tlog"}, `key "tlog" is the transparency log's key`},
		{[]string{"log", "proof", "1"}, "index 1 is not in the log, which has 1 entries"},
		{[]string{"log", "proof", "0", "5"}, "no tree of 5 entries: the log has 1"},
		{[]string{"log", "consistency", "1", "2"}, "no tree of 2 entries: the log has 1"},
	} {
		cmd := exec.Command(binary, "-c", strings.Join(tt.words, " "))
		cmd.Env = append(slices.Clone(l.env), "USER=signer")
		r := sshdtest.Run(t, cmd, []byte("data\n"))
		if r.Code != exitRefused || len(r.Stdout) != 0 || !strings.Contains(string(r.Stderr), tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", tt.words, r.Code, r.Stdout, r.Stderr, exitRefused, tt.want)
		}
	}
}

// TestLogLatency measures what the log costs a signature: 50 signatures
// through sshd without the log and 50 with it, one at a time, the two
// interleaved (the config rewritten before each) so that the machine's
// load falls on both alike. It only measures (SIGNSTAR_LOG_LATENCY=1):
// just bench owns the figures.
func TestLogLatency(t *testing.T) {
	if os.Getenv("SIGNSTAR_LOG_LATENCY") == "" {
		t.Skip("set SIGNSTAR_LOG_LATENCY=1 to measure")
	}
	s := newSSHFixture(t, "")
	s.generate("tlog", "ed25519")
	dir := filepath.Join(s.dir, "log")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.srv.Grant(dir, s.hsm.Dir)
	without, err := os.ReadFile(s.conf)
	if err != nil {
		t.Fatal(err)
	}
	with := append(slices.Clone(without), fmt.Sprintf("[log]\nkey = \"tlog\"\ndir = %q\norigin = %q\n", dir, testOrigin)...)
	const n = 50
	var d [2][]time.Duration
	for i := range 2 * n {
		if err := os.WriteFile(s.conf, [][]byte{without, with}[i%2], 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if r := sshdtest.Run(t, s.srv.SSH("sign"), []byte(fmt.Sprintf("artifact %d\n", i))); r.Code != 0 {
			t.Fatalf("signature %d: exit %d: %s", i, r.Code, r.Stderr)
		}
		d[i%2] = append(d[i%2], time.Since(start))
	}
	for k, name := range []string{"without the log", "with the log"} {
		slices.Sort(d[k])
		var sum time.Duration
		for _, x := range d[k] {
			sum += x
		}
		t.Logf("%s: %d signatures through sshd: median %v, mean %v, p90 %v", name, n, d[k][n/2].Round(time.Millisecond), (sum / n).Round(time.Millisecond), d[k][n*9/10].Round(time.Millisecond))
	}
}

// TestLogLockdown: with the log, the lockdown's only new writable path is
// the log's directory ('signstar check' prints the policy sign uses).
func TestLogLockdown(t *testing.T) {
	f := newFixture(t)
	f.generate("repo", "ed25519")
	f.generate("tlog", "ed25519")
	policy := func() map[string][]string {
		t.Helper()
		r := f.run(nil, "check")
		for _, line := range strings.Split(string(r.stdout), "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[1] == "lockdown" {
				parts := map[string][]string{}
				for _, p := range strings.Split(strings.Join(f[2:], " "), "; ") {
					what, paths, _ := strings.Cut(p, " /")
					parts[what] = strings.Fields("/" + paths)
				}
				return parts
			}
		}
		t.Fatalf("no lockdown line in %q (%s)", r.stdout, r.stderr)
		return nil
	}
	before := policy()
	dir := filepath.Join(f.dir, "log")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	appendFile(t, f.conf, fmt.Sprintf("[log]\nkey = \"tlog\"\ndir = %q\n", dir))
	after := policy()
	if want := append(before["read-write"], dir); !slices.Equal(after["read-write"], want) {
		t.Errorf("read-write %v with the log, want %v", after["read-write"], want)
	}
	for what, paths := range before {
		if what != "read-write" && !slices.Equal(after[what], paths) {
			t.Errorf("%s %v with the log, %v without", what, after[what], paths)
		}
	}
	if len(after) != len(before) {
		t.Errorf("policy %v with the log, %v without", after, before)
	}
}

// TestLogSeveralKeys: a signature by two keys is two leaves, one per
// signature packet, with consecutive indexes, each in its key's record.
func TestLogSeveralKeys(t *testing.T) {
	l := newLogFixture(t, false)
	pkgCert := l.generate("pkg", "p256")
	data := []byte("artifact\n")
	l.remote(t, data, "sign")
	out := l.remote(t, data, "sign", "--key", "repo", "--key", "pkg").Stdout
	o, err := pgp.SplitOutput(out)
	if err != nil || len(o.Packets) != 2 {
		t.Fatalf("%d packets, %v", len(o.Packets), err)
	}
	for i, p := range o.Packets {
		if got := logIndex(t, p); got != int64(1+i) {
			t.Errorf("packet %d carries index %d, want %d", i, got, 1+i)
		}
	}
	if got := verifytest.GPGVSigners(t, [][]byte{l.repoCert, pkgCert}, data, out); len(got) != 2 {
		t.Errorf("gpgv accepts %d of the 2 signatures: %v", len(got), got)
	}
	final := l.checkpoint(t)
	for i, p := range o.Packets {
		if e := l.inclusion(t, int64(1+i), final); e.Signature != sha256.Sum256(p) {
			t.Errorf("leaf %d is not packet %d", 1+i, i)
		}
	}
	recs := readAuditFile(t, l.fixture)
	for i, key := range []string{"repo", "pkg"} {
		recs[1+i].want(t, map[string]string{"SIGNSTAR_KEY": key, "SIGNSTAR_LOG_INDEX": strconv.Itoa(1 + i)})
	}
}

// BenchmarkLogAppend is what the log adds to one signature in settle: one
// leaf appended (lock, tiles, entry bundle, tree file, each fsync'd with
// its directory), in a directory on the test's temporary file system.
func BenchmarkLogAppend(b *testing.B) {
	l, err := translog.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	e := translog.Entry{Time: time.Now(), Account: "build", SSHKey: "-", Key: "6C1CDDA2CE70772B6902C48D751AAC3A6B6D4DAB",
		Format: "detached", Size: 1, DigestHash: crypto.SHA512, Digest: make([]byte, 64)}
	for i := 0; b.Loop(); i++ {
		e.Signature = sha256.Sum256([]byte(strconv.Itoa(i)))
		if _, err := l.Append(func(int64) (translog.Entry, error) { return e, nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLogX509: an X.509 signature is logged too: a detached CMS signature
// as released (its index on stderr, once recorded), and the output of an
// X.509 digest-only request (its index in the response's log-index).
func TestLogX509(t *testing.T) {
	l := newLogFixture(t, false)
	l.generate("x", "rsa3072")
	l.ok(nil, "key", "x509", "self-sign", "--name", "x", "--subject", "CN=Signstar test x", "--usage", "codesign")
	data := []byte("artifact\n")
	r := l.remote(t, data, "sign", "--format", "cms", "--key", "x")
	if string(r.Stderr) != "signstar: log index 0\n" {
		t.Errorf("stderr %q, want the log index", r.Stderr)
	}
	digest := sha256.Sum256(data)
	req, err := request.NewDigestRequest("cms", digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := l.remote(t, req, "sign", "--request", "--format", "cms", "--key", "x")
	if len(resp.Stderr) != 0 {
		t.Errorf("stderr %q for a response", resp.Stderr)
	}
	if i, ok, err := request.ReadLogIndex(resp.Stdout); err != nil || !ok || i != 1 {
		t.Fatalf("response log-index %d %v %v, want 1: %s", i, ok, err, resp.Stdout)
	}
	out, err := request.ReadOutput(bytes.NewReader(resp.Stdout), "cms")
	if err != nil {
		t.Fatal(err)
	}
	final := l.checkpoint(t)
	if e := l.inclusion(t, 0, final); e.Signature != sha256.Sum256(r.Stdout) || e.Format != "cms" || !bytes.Equal(e.Digest, sha512Of(data)) {
		t.Errorf("leaf 0 is not the CMS signature released: %+v", e)
	}
	if e := l.inclusion(t, 1, final); e.Signature != sha256.Sum256(out) || e.Size != -1 || !bytes.Equal(e.Digest, digest[:]) {
		t.Errorf("leaf 1 is not the request's output: %+v", e)
	}
	recs := slices.DeleteFunc(readAuditFile(t, l.fixture), func(r record) bool { return r["SIGNSTAR_RESULT"] != "signed" })
	if len(recs) != 2 {
		t.Fatalf("%d signed records, want 2", len(recs))
	}
	for i, r := range recs {
		r.want(t, map[string]string{"SIGNSTAR_FORMAT": "cms", "SIGNSTAR_LOG_INDEX": strconv.Itoa(i)})
	}
}

// TestLogCLI: signstar sign on the signing host itself is logged too,
// with "-" for the SSH key it has none of.
func TestLogCLI(t *testing.T) {
	l := newLogFixture(t, false)
	data := []byte("artifact\n")
	sig := l.ok(data, "sign")
	if i := logIndex(t, sig); i != 0 {
		t.Fatalf("index %d, want 0", i)
	}
	if err := verifytest.GPGV(t, l.repoCert, data, sig); err != nil {
		t.Fatal(err)
	}
	e := l.inclusion(t, 0, l.checkpoint(t))
	if e.Signature != sha256.Sum256(sig) || e.SSHKey != "-" || e.Account == "" {
		t.Errorf("leaf 0: %+v", e)
	}
	readAuditFile(t, l.fixture)[0].want(t, map[string]string{"SIGNSTAR_MODE": "cli", "SIGNSTAR_LOG_INDEX": "0"})
}
