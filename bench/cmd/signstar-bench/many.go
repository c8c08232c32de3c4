package main

// Section 7, many files (issue 17): a thousand small files and a hundred
// large ones signed by `signstar request --jobs N` over one host, by one
// `ssh host sign < f` session per file, and by obs-sign's `sign -d`
// against its `signd` on this machine; with the raw rate of an open token
// beside them. Every signature is checked by gpgv.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// manyCounts bound section 7.
type manyCounts struct {
	small, large       int // files of 4 KiB and of 10 MiB
	sshSmall, sshLarge int // of those, how many the per-file ssh sessions sign
	obsSmall, obsLarge int // and how many obs-sign signs
	rounds             int
	jobs               int // parallel batches, sessions or sign processes
}

const (
	manySmallSize = 4 << 10
	manyLargeSize = 10 << 20
	manyKey       = "ed25519"
)

// manyMethod is one way of signing a set of files.
type manyMethod struct {
	name string
	ext  string // the signature file it writes next to each input
	// sample: sign only the first files (per-file ssh sessions would take
	// minutes for all of them; their rate is what the table shows).
	sample func(size string) int
	run    func(files []string) error
	// keyring verifies its signatures with gpgv.
	keyring string
}

// manyRow is one method on one input size, every round.
type manyRow struct {
	size, method string
	bytes        int64 // per file
	files        int   // per run
	walls        []float64
	checked, bad int
}

func (r *manyRow) rates() stat {
	var xs []float64
	for _, w := range r.walls {
		xs = append(xs, float64(r.files)/w)
	}
	return summarize(xs)
}

func (r *manyRow) wall() stat { return summarize(r.walls) }

type manyResult struct {
	rows               []*manyRow
	token              []float64 // ns per signature on an open token, one per round
	jobs               int
	batch              bool   // signstar request used sign --batch
	obsSkip            string // why obs-sign is not in the tables
	pkcs11Skip         string // why obs-sign's PKCS#11 backend is not
	loadStart, loadEnd string
	took               time.Duration
}

func (m *manyResult) row(size, method string) *manyRow {
	for _, r := range m.rows {
		if r.size == size && r.method == method {
			return r
		}
	}
	return nil
}

func (m *manyResult) tokenRate() float64 { return 1e9 / summarize(m.token).median }

// manyFiles writes n files of size bytes into dir.
func (f *fixture) manyFiles(dir string, n int, size int64) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := f.input("many-seed", size); err != nil {
		return nil, err
	}
	seed, err := os.ReadFile(f.inputs["many-seed"])
	if err != nil {
		return nil, err
	}
	var files []string
	for i := 0; i < n; i++ {
		// Each file differs in its first bytes, so that no two
		// signatures are over the same digest.
		copy(seed, fmt.Sprintf("%08d", i))
		p := filepath.Join(dir, fmt.Sprintf("f%04d", i))
		if err := os.WriteFile(p, seed, 0o644); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	return files, os.Remove(f.inputs["many-seed"])
}

// many runs section 7; obs is a built obs-sign checkout ("" with skip
// saying why not).
func (f *fixture) many(c counts, repo, obs, skip string) (*manyResult, error) {
	m := &manyResult{jobs: c.many.jobs, obsSkip: skip, loadStart: loadavg()}
	start := time.Now()
	sets := []struct {
		size  string
		bytes int64
		files []string
	}{{"4 KiB", manySmallSize, nil}, {"10 MiB", manyLargeSize, nil}}
	var err error
	if sets[0].files, err = f.manyFiles(f.path("many-4k"), c.many.small, manySmallSize); err != nil {
		return nil, err
	}
	if sets[1].files, err = f.manyFiles(f.path("many-10m"), c.many.large, manyLargeSize); err != nil {
		return nil, err
	}
	tokenBench, err := f.buildTokenBench(repo)
	if err != nil {
		return nil, err
	}
	methods, err := f.manyMethods(c, obs, m)
	if err != nil {
		return nil, err
	}
	auditBefore := f.batchRecords()
	for _, set := range sets {
		for _, meth := range methods {
			n := len(set.files)
			if meth.sample != nil {
				n = min(n, meth.sample(set.size))
			}
			m.rows = append(m.rows, &manyRow{size: set.size, method: meth.name, bytes: set.bytes, files: n})
		}
	}
	for round := 0; round < c.many.rounds; round++ {
		ns, err := runTokenBench(tokenBench)
		if err != nil {
			return nil, err
		}
		m.token = append(m.token, ns)
		for _, set := range sets {
			for _, meth := range methods {
				row := m.row(set.size, meth.name)
				step("7/7 many files: round %d/%d, %s, %s: %d files", round+1, c.many.rounds, set.size, meth.name, row.files)
				if err := f.manyRun(meth, set.files[:row.files], row); err != nil {
					return nil, err
				}
			}
		}
	}
	m.batch = f.batchRecords() > auditBefore
	m.took, m.loadEnd = time.Since(start), loadavg()
	return m, nil
}

// manyRun signs files once with meth, times it, and checks every signature.
func (f *fixture) manyRun(meth manyMethod, files []string, row *manyRow) error {
	for _, in := range files {
		if err := os.Remove(in + meth.ext); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	t0 := time.Now()
	if err := meth.run(files); err != nil {
		return fmt.Errorf("%s: %v", meth.name, err)
	}
	row.walls = append(row.walls, time.Since(t0).Seconds())
	bad, err := gpgvAll(meth.keyring, files, meth.ext)
	if err != nil {
		return fmt.Errorf("%s: %v", meth.name, err)
	}
	row.checked += len(files)
	row.bad += bad
	if bad > 0 {
		return fmt.Errorf("%s: gpgv rejected %d of %d signatures", meth.name, bad, len(files))
	}
	return nil
}

// gpgvAll checks FILE+ext against FILE for every file, two at a time (the
// machine has two cores), and returns how many gpgv rejected.
func gpgvAll(keyring string, files []string, ext string) (int, error) {
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				cmd := exec.Command("gpgv", "--keyring", keyring, files[i]+ext, files[i])
				if err := cmd.Run(); err != nil {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(bad.Load()), nil
}

// manyMethods are the ways of signing that this machine can run.
func (f *fixture) manyMethods(c counts, obs string, m *manyResult) ([]manyMethod, error) {
	keyring, err := f.dearmor(filepath.Join(f.dir, "certs", manyKey+".asc"), "signstar.gpg")
	if err != nil {
		return nil, err
	}
	sock := f.path("cm-many")
	if err := f.startMaster(sock); err != nil {
		return nil, err
	}
	f.onCleanup(f.stopMasters)
	cm := []string{"-o", "ControlMaster=no", "-o", "ControlPath=" + sock}
	methods := []manyMethod{
		{
			name: fmt.Sprintf("signstar request --jobs %d", c.many.jobs), ext: ".sig", keyring: keyring,
			run: func(files []string) error { return f.request(files, c.many.jobs, cm) },
		},
		{
			name: "ssh host sign < FILE, one session each", ext: ".ssh.sig", keyring: keyring,
			sample: first(c.many.sshSmall, c.many.sshLarge),
			run:    func(files []string) error { return f.sshEach(files, c.many.jobs, cm) },
		},
	}
	if obs == "" {
		return methods, nil
	}
	o, err := f.startObsSign(obs)
	if err != nil {
		return nil, fmt.Errorf("obs-sign: %v", err)
	}
	m.pkcs11Skip = o.pkcs11Skip
	return append(methods, manyMethod{
		name: fmt.Sprintf("obs-sign: sign -d, %d processes (signd, gpg key)", c.many.jobs), ext: ".asc", keyring: o.keyring,
		sample: first(c.many.obsSmall, c.many.obsLarge),
		run:    func(files []string) error { return o.sign(files, c.many.jobs) },
	}), nil
}

// first is a manyMethod's sample: the first small or large files.
func first(small, large int) func(string) int {
	return func(size string) int {
		if size == "4 KiB" {
			return small
		}
		return large
	}
}

// dearmor writes an armored certificate as the binary keyring gpgv reads.
func (f *fixture) dearmor(cert, name string) (string, error) {
	out := f.path(name)
	_, err := sh(nil, "gpg", "--batch", "--yes", "--dearmor", "-o", out, cert)
	return out, err
}

// request is `signstar request --jobs N` for all files at once, over the
// ControlMaster connection cm: as a release engineer would run it.
func (f *fixture) request(files []string, jobs int, cm []string) error {
	a := []string{f.signstar, "request", "--cert", filepath.Join(f.dir, "certs", manyKey+".asc"),
		"--host", f.target(), "--key", manyKey, "--jobs", strconv.Itoa(jobs)}
	for _, o := range append(f.sshOptions(), cm...) {
		a = append(a, "--ssh-option="+o)
	}
	_, err := run(spec{label: "signstar request", argv: append(a, files...)}, 10*time.Minute)
	return err
}

// sshEach signs every file in its own session, jobs at a time.
func (f *fixture) sshEach(files []string, jobs int, cm []string) error {
	return parallel(files, jobs, func(in string) error {
		_, err := run(spec{label: "ssh host sign", argv: f.ssh(cm, "sign", "--key", manyKey), stdin: in, stdout: in + ".ssh.sig"}, 2*time.Minute)
		return err
	})
}

// parallel runs do on every file, jobs at a time; the first error wins.
func parallel(files []string, jobs int, do func(string) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) || first.Load() != nil {
					return
				}
				if err := do(files[i]); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// batchRecords counts the account's audit records of batch sessions.
func (f *fixture) batchRecords() int {
	data, _ := os.ReadFile(f.path("audit-account.jsonl"))
	return strings.Count(string(data), "sign --batch")
}

// --- the raw token rate ----------------------------------------------------

// buildTokenBench compiles bench/keyringbench's tests: BenchmarkTokenSign's
// ed25519/sign is one signature on an open, logged-in SoftHSM2 token (hash,
// C_Sign, verification), what a signer that never exits pays.
func (f *fixture) buildTokenBench(repo string) (string, error) {
	out := f.path("keyringbench.test")
	cmd := exec.Command("go", "test", "-c", "-o", out, "./bench/keyringbench")
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go test -c ./bench/keyringbench: %v\n%s", err, b)
	}
	return out, nil
}

var nsPerOp = regexp.MustCompile(`BenchmarkTokenSign/ed25519/sign\S*\s+\d+\s+([0-9.]+) ns/op`)

func runTokenBench(bin string) (float64, error) {
	out, err := exec.Command(bin, "-test.run", "^$", "-test.bench", "^BenchmarkTokenSign$/^ed25519$/^sign$", "-test.benchtime", "2s").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s: %v\n%s", bin, err, out)
	}
	m := nsPerOp.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s: no ns/op in %q", bin, out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// --- the report --------------------------------------------------------------

func (m *manyResult) requestRow(size string) *manyRow {
	return m.row(size, fmt.Sprintf("signstar request --jobs %d", m.jobs))
}

func (m *manyResult) obsRow(size string) *manyRow {
	for _, r := range m.rows {
		if r.size == size && strings.HasPrefix(r.method, "obs-sign") {
			return r
		}
	}
	return nil
}

// goals: issue 17's, reported, never asserted.
func (m *manyResult) goals() []goal {
	req := m.requestRow("4 KiB").rates().median
	v := req / m.tokenRate()
	gs := []goal{{"many files, 4 KiB: signstar request / open-token rate", fmt.Sprintf("%.2fx", v), ">= 0.80x", 0.8 / v}}
	for _, size := range []string{"4 KiB", "10 MiB"} {
		if o := m.obsRow(size); o != nil {
			v := m.requestRow(size).rates().median / o.rates().median
			gs = append(gs, goal{"many files, " + size + ": signstar request / obs-sign rate", fmt.Sprintf("%.2fx", v), ">= 5.00x", 5 / v})
		}
	}
	return gs
}

func (m *manyResult) section(w io.Writer, c counts) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 7. Many files\n\n")
	p("%d files of 4 KiB and %d of 10 MiB (pseudo-random, page-cached), signed with key `%s` (Ed25519 on the SoftHSM2 token) by each method in turn, %d interleaved round(s); medians over the rounds. ", c.many.small, c.many.large, manyKey, c.many.rounds)
	p("Every method runs %d at a time: `signstar request --jobs %d` (all files in one command), %d workers of one `ssh host sign --key %s < FILE > FILE.ssh.sig` session per file, %d `sign -d` processes of obs-sign each over its share of the files. ", m.jobs, m.jobs, m.jobs, manyKey, m.jobs)
	p("The SSH sessions of both signstar methods ride on one ControlMaster connection (section 3: the cheapest way to start a session here). To keep the section within minutes the slower methods sign the first files only (the *files per run* column): the per-file sessions %d small and %d large, obs-sign %d and %d; their rate is what counts. ", c.many.sshSmall, c.many.sshLarge, c.many.obsSmall, c.many.obsLarge)
	if m.batch {
		p("`signstar request` used batch sessions (`sign --batch`, one per job: the account's audit records say so). ")
	} else {
		p("**`signstar request` used one session per file**: this build's client or server does not batch yet, so its row is per-file sessions with the hashing done locally. ")
	}
	p("After each run, and outside its time, gpgv checks every signature it wrote against its file. The open-token rate is `bench/keyringbench`'s `BenchmarkTokenSign/ed25519/sign` in each round (one signature on an open, logged-in token: hash, C_Sign, verification; no process start, no SSH, no audit record). ")
	p("Load average (1, 5, 15 min) at the section's start / end: %s / %s; it took %s.\n\n", m.loadStart, m.loadEnd, m.took.Round(time.Second))
	if m.obsSkip != "" {
		p("obs-sign is not in these tables: %s.\n\n", m.obsSkip)
	} else {
		p("obs-sign: `signd` on 127.0.0.1 with a new Ed25519 gpg key in its own GnuPG home, configured as generously as it allows: `use-agent` (signd asks gpg-agent to sign the hash), `keycache` (no `gpg --locate-key` per request), unprivileged ports (root's reserved ports run out in TIME_WAIT after a few hundred connections); `sign -4 -h sha512 -d`: v4 signatures over SHA-512, as signstar's. Its PKCS#11 backend is not measured: %s.\n\n", m.pkcs11Skip)
	}
	p("| input | method | files per run | median s | files/s (median) | MB/s (median) | signatures checked by gpgv (bad) |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range m.rows {
		rate := r.rates().median
		p("| %s | %s | %d | %.2f | %.1f | %.2f | %d (%d) |\n", r.size, r.method, r.files, r.wall().median, rate, rate*float64(r.bytes)/1e6, r.checked, r.bad)
	}
	tok := summarize(m.token)
	p("| - | open token, one signature after another (`BenchmarkTokenSign/ed25519/sign`, %.2f ms each) | | | %.1f | | |\n", tok.median/1e6, m.tokenRate())
	p("\n| ratio of median rates | 4 KiB | 10 MiB |\n| --- | ---: | ---: |\n")
	both := func(name string, f func(size string) float64) {
		p("| %s | %s | %s |\n", name, ratioCell(f("4 KiB")), ratioCell(f("10 MiB")))
	}
	req := func(size string) float64 { return m.requestRow(size).rates().median }
	// At 10 MiB hashing, not the token, bounds every method.
	p("| signstar request / open token (goal: >= 0.80x) | %s | - |\n", ratioCell(req("4 KiB")/m.tokenRate()))
	if m.obsSkip == "" {
		both("signstar request / obs-sign (goal: >= 5.00x)", func(size string) float64 { return req(size) / m.obsRow(size).rates().median })
		p("| obs-sign / open token | %s | - |\n", ratioCell(m.obsRow("4 KiB").rates().median/m.tokenRate()))
	}
	both("signstar request / one ssh session per file", func(size string) float64 {
		return req(size) / m.row(size, "ssh host sign < FILE, one session each").rates().median
	})
}

func ratioCell(v float64) string {
	if v < 0.1 {
		return fmt.Sprintf("%.3fx", v)
	}
	return fmt.Sprintf("%.2fx", v)
}
