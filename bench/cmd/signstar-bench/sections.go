package main

// The five measurements of issue 7 (section 6 is in release.go). Each
// returns its figures for the report.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// counts are the bounded sizes of one run (full or quick).
type counts struct {
	smallRuns  int   // per command, 1 KiB
	largeSize  int64 // the "1 GiB" input
	largeLabel string
	largeRuns  int
	growthRuns []int // per size of growthSizes, except the largest (reused)
	sshTotal   int   // sessions per (concurrency, mode, workload)
	sshSize    int64
	reqRuns    int
	frontRuns  int // section 6: per command, the gpg front end
	x509Runs   int // section 6: per command, the X.509 formats
	rssRuns    int // section 6: per command, 100 MiB under GNU time
	many       manyCounts
}

var full = counts{
	smallRuns: 60, largeSize: 1 << 30, largeLabel: "1GiB", largeRuns: 5,
	growthRuns: []int{20, 20, 5}, sshTotal: 500, sshSize: 4 << 20, reqRuns: 3,
	frontRuns: 30, x509Runs: 15, rssRuns: 3,
	many: manyCounts{small: 1000, large: 100, sshSmall: 40, sshLarge: 10, obsSmall: 60, obsLarge: 20, rounds: 3, jobs: 4},
}

var quick = counts{
	smallRuns: 8, largeSize: 64 << 20, largeLabel: "64MiB", largeRuns: 2,
	growthRuns: []int{3, 3, 2}, sshTotal: 40, sshSize: 4 << 20, reqRuns: 1,
	frontRuns: 3, x509Runs: 2, rssRuns: 1,
	many: manyCounts{small: 100, large: 5, sshSmall: 20, sshLarge: 2, obsSmall: 40, obsLarge: 5, rounds: 1, jobs: 4},
}

// sign is 'signstar sign [--key KEY] < in > out' as root or the account.
func (f *fixture) sign(label, key, in, out string, account bool) spec {
	s := spec{label: label, argv: []string{f.signstar, "sign"}, env: f.env(f.cliConf), stdin: in, stdout: out}
	if key != "" {
		s.argv = append(s.argv, "--key", key)
	}
	if account {
		s.env = f.env(f.acctConf)
		s.cred = f.asAccount()
	}
	return s
}

func (f *fixture) pkcs11Tool(key, mech, in, out string) spec {
	return spec{
		label: "pkcs11-tool --sign (" + key + ")",
		argv: []string{"pkcs11-tool", "--module", f.module, "--login", "--pin", pin, "--sign",
			"--mechanism", mech, "--id", f.ids[key], "-i", in, "-o", out},
		env: f.env(f.cliConf),
	}
}

// --- 1. small input, whole process --------------------------------------

type smallResult struct {
	rows  []*series
	byKey map[string]*series
}

func (f *fixture) small(c counts) (*smallResult, error) {
	in, out := f.inputs["1KiB"], f.path("small.sig")
	probe := func(label string, argv []string, stdin string, account bool) spec {
		s := spec{label: label, argv: append([]string{f.signstar}, argv...), env: f.env(f.cliConf), stdin: stdin, stdout: out, wantFail: true}
		if account {
			s.env, s.cred = f.env(f.acctConf), f.asAccount()
		}
		return s
	}
	specs := []spec{
		f.sign("signstar sign (ed25519)", "ed25519", in, out, false),
		f.pkcs11Tool("ed25519", "EDDSA", in, out),
		f.gpgSign("ed25519", in, out),
		f.sign("signstar sign (rsa3072)", "rsa3072", in, out, false),
		f.pkcs11Tool("rsa3072", "SHA512-RSA-PKCS", in, out),
		f.gpgSign("rsa3072", in, out),
		// Phase probes: each stops at a known point, see phases().
		{label: "signstar --version", argv: []string{f.signstar, "--version"}, stdout: out},
		// Since 42179a3 the login shell records every request, version
		// too: it reads the config and writes an audit record.
		{label: "signstar -c version (login-shell path: no CLI parser)", argv: []string{f.signstar, "-c", "version"}, env: f.env(f.cliConf), stdout: out},
		probe("signstar sign --key absent (stops after login)", []string{"sign", "--key", "absent"}, in, false),
		probe("signstar sign < /dev/null (stops after lockdown)", []string{"sign", "--key", "ed25519"}, "", false),
		f.sign("signstar sign (ed25519), as the account", "ed25519", in, out, true),
		probe("signstar sign < /dev/null, as the account", []string{"sign", "--key", "ed25519"}, "", true),
		f.sign("signstar sign (rsa3072), as the account", "rsa3072", in, out, true),
	}
	for _, key := range []string{"ed25519", "rsa3072"} {
		s := f.sign("signstar sign ("+key+"), with the transparency log", key, in, out, false)
		s.env = f.env(f.logConf)
		specs = append(specs, s)
	}
	if f.baseline != "" {
		// SIGNSTAR_BENCH_BASELINE: an older build, interleaved with this
		// one, so that a change is measured under the same load.
		for _, key := range []string{"ed25519", "rsa3072"} {
			s := f.sign("signstar sign ("+key+"), baseline", key, in, out, false)
			s.argv[0] = f.baseline
			specs = append(specs, s)
		}
	}
	rows, err := interleave(specs, 3, c.smallRuns, time.Minute)
	if err != nil {
		return nil, err
	}
	r := &smallResult{rows: rows, byKey: map[string]*series{}}
	for _, s := range rows {
		r.byKey[s.label] = s
	}
	return r, nil
}

// --- 2. large input -----------------------------------------------------

func (f *fixture) large(c counts) ([]*series, error) {
	in, out := f.inputs[c.largeLabel], f.path("large.sig")
	specs := []spec{
		{label: "sha512sum", argv: []string{"sha512sum"}, stdin: in, stdout: out},
		{label: "sha256sum", argv: []string{"sha256sum"}, stdin: in, stdout: out},
		f.sign("signstar sign (ed25519)", "ed25519", in, out, false),
		f.gpgSign("ed25519", in, out),
	}
	for i := range specs {
		specs[i].rss = true
	}
	return interleave(specs, 1, c.largeRuns, 5*time.Minute)
}

// --- 5. cost growth -----------------------------------------------------

type growthRow struct {
	size     string
	bytes    int64
	signstar *series
	floor    *series // sha512sum
}

var growthSizes = []struct {
	label string
	bytes int64
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"100MiB", 100 << 20}}

func (f *fixture) growth(c counts, large []*series) ([]growthRow, error) {
	var rows []growthRow
	for i, sz := range growthSizes {
		in, out := f.inputs[sz.label], f.path("growth.sig")
		specs := []spec{
			f.sign("signstar sign (ed25519)", "ed25519", in, out, false),
			{label: "sha512sum", argv: []string{"sha512sum"}, stdin: in, stdout: out},
		}
		for i := range specs {
			specs[i].rss = true
		}
		ss, err := interleave(specs, 1, c.growthRuns[i], 5*time.Minute)
		if err != nil {
			return nil, err
		}
		rows = append(rows, growthRow{sz.label, sz.bytes, ss[0], ss[1]})
	}
	rows = append(rows, growthRow{c.largeLabel, c.largeSize, large[2], large[0]})
	return rows, nil
}

// --- 3. over SSH --------------------------------------------------------

type sshRow struct {
	conc     int
	mode     string // "new connection" or "ControlMaster"
	masters  int
	workload string // "sign" or "version"
	total    int
	failed   int
	wall     time.Duration
	lat      stat // ms
}

func (r sshRow) rate() float64 { return float64(r.total-r.failed) / r.wall.Seconds() }

// sshMaxSessions is the drop-in's MaxSessions (sshd's default is 10): a
// ControlMaster connection carries at most this many sessions at once.
const sshMaxSessions = 32

func (f *fixture) overSSH(c counts, deadline time.Time) ([]sshRow, error) {
	var rows []sshRow
	in := f.inputs["4MiB"]
	for _, conc := range []int{1, 8, 32} {
		for _, mode := range []string{"new connection", "ControlMaster"} {
			var socks []string
			if mode == "ControlMaster" {
				n := (conc + sshMaxSessions - 1) / sshMaxSessions
				for i := 0; i < n; i++ {
					sock := f.path(fmt.Sprintf("cm-%d-%d", conc, i))
					if err := f.startMaster(sock); err != nil {
						return rows, err
					}
					socks = append(socks, sock)
				}
			}
			for _, w := range []string{"version", "sign"} {
				row, err := f.sshLoad(conc, socks, w, in, c.sshTotal, deadline)
				if err != nil {
					f.stopMasters()
					return rows, err
				}
				row.mode = mode
				rows = append(rows, row)
			}
			f.stopMasters()
		}
	}
	return rows, nil
}

// sshRowTime bounds one row: no session starts after it, so a row may
// hold fewer than the count (the table says how many ran).
const sshRowTime = 45 * time.Second

// sshLoad runs total sessions of workload w with conc at a time, or as
// many as start within sshRowTime; worker i uses ControlMaster socket
// socks[i % len(socks)], if any.
func (f *fixture) sshLoad(conc int, socks []string, w, in string, total int, deadline time.Time) (sshRow, error) {
	row := sshRow{conc: conc, masters: len(socks), workload: w}
	var next, started, failed atomic.Int64
	stopStarting := time.Now().Add(sshRowTime)
	var mu sync.Mutex
	var lat []float64
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for i := 0; i < conc; i++ {
		var extra []string
		if len(socks) > 0 {
			extra = []string{"-o", "ControlMaster=no", "-o", "ControlPath=" + socks[i%len(socks)]}
		}
		out := f.path(fmt.Sprintf("ssh-out-%d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := next.Add(1) - 1
				if n >= int64(total) || ctx.Err() != nil || time.Now().After(stopStarting) {
					return
				}
				started.Add(1)
				t0 := time.Now()
				err := sshOnce(ctx, f.ssh(extra, w), in, out, w)
				d := ms(time.Since(t0))
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	row.wall = time.Since(start)
	if ctx.Err() != nil {
		return row, fmt.Errorf("ssh %s at concurrency %d: over the time bound", w, conc)
	}
	row.total, row.failed = int(started.Load()), int(failed.Load())
	row.lat = summarize(lat)
	if row.failed > total/10 {
		return row, fmt.Errorf("ssh %s at concurrency %d: %d of %d failed; first: %v", w, conc, row.failed, total, firstErr.Load())
	}
	return row, nil
}

// sshOnce runs one session; a signature must come back.
func sshOnce(ctx context.Context, argv []string, in, out, w string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if w == "sign" {
		fh, err := os.Open(in)
		if err != nil {
			return err
		}
		defer fh.Close()
		cmd.Stdin = fh
	}
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	defer o.Close()
	cmd.Stdout = o
	var stderr limitedBuf
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, stderr.b)
	}
	if fi, err := o.Stat(); err != nil || fi.Size() == 0 {
		return fmt.Errorf("no output")
	}
	return nil
}

type limitedBuf struct{ b []byte }

func (l *limitedBuf) Write(p []byte) (int, error) {
	if len(l.b) < 2048 {
		l.b = append(l.b, p[:min(len(p), 2048-len(l.b))]...)
	}
	return len(p), nil
}

// --- 4. digest-only requests --------------------------------------------

type reqRow struct {
	label string
	wall  stat // ms
	sent  stat // bytes
}

var sentRE = regexp.MustCompile(`Transferred: sent (\d+), received \d+ bytes`)

// measureSent runs argv (which logs with ssh -v -E log) runs times.
func measureSent(label string, mk func(log string) spec, runs int) (reqRow, error) {
	var walls, sent []float64
	for i := 0; i < runs; i++ {
		log := filepath.Join(os.TempDir(), fmt.Sprintf("signstar-bench-ssh-%d-%d.log", os.Getpid(), i))
		os.Remove(log)
		s := mk(log)
		smp, err := run(s, 10*time.Minute)
		data, _ := os.ReadFile(log)
		os.Remove(log)
		if err != nil {
			return reqRow{}, err
		}
		m := sentRE.FindSubmatch(data)
		if m == nil {
			return reqRow{}, fmt.Errorf("%s: ssh -v did not report bytes sent", label)
		}
		n, _ := strconv.Atoi(string(m[1]))
		walls = append(walls, ms(smp.wall))
		sent = append(sent, float64(n))
	}
	return reqRow{label: label, wall: summarize(walls), sent: summarize(sent)}, nil
}

func (f *fixture) digestOnly(c counts) ([]reqRow, error) {
	cert := filepath.Join(f.dir, "certs", "ed25519.asc")
	request := func(file string) func(string) spec {
		return func(log string) spec {
			a := []string{f.signstar, "request", "--cert", cert, "--host", f.target()}
			for _, o := range append(f.sshOptions(), "-v", "-E", log) {
				a = append(a, "--ssh-option="+o)
			}
			return spec{label: "signstar request", argv: append(a, file)}
		}
	}
	type job struct {
		label string
		mk    func(string) spec
	}
	big := f.inputs[c.largeLabel]
	jobs := []job{
		{"ssh host version (the session alone)", func(log string) spec {
			return spec{label: "ssh version", argv: f.ssh([]string{"-v", "-E", log}, "version"), stdout: f.path("req.out")}
		}},
		{"signstar request, 1 KiB file", request(f.inputs["1KiB"])},
		{"signstar request, " + c.largeLabel + " file", request(big)},
		{"ssh host < " + c.largeLabel + " file (whole file sent)", func(log string) spec {
			return spec{label: "ssh < file", argv: f.ssh([]string{"-v", "-E", log}), stdin: big, stdout: f.path("req.sig")}
		}},
	}
	var rows []reqRow
	for _, j := range jobs {
		r, err := measureSent(j.label, j.mk, c.reqRuns)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}
