// Command signstar-bench measures signstar against its floors and
// alternatives (issue 7) and writes docs/benchmarks.md and
// docs/benchmarks.svg. scripts/bench builds and runs it; see
// docs/benchmarks.md for what is measured and how.
//
//	signstar-bench -signstar bin/signstar -repo . -out docs
//
// It needs root (sshd switches to a throwaway account, created with
// useradd and removed at the end) and the tools scripts/bench installs.
// SIGNSTAR_BENCH_QUICK=1 shrinks every count for a smoke run;
// SIGNSTAR_BENCH_SECTIONS=1,7 runs only those sections (and writes to a
// temp dir unless -out says otherwise, never over docs/). Everything
// is bounded in count and time, and talks to 127.0.0.1 only. A benchmark
// never fails a build: a missed goal is reported, not an error.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	signstar := flag.String("signstar", "bin/signstar", "the signstar binary to measure (scripts/build)")
	repo := flag.String("repo", ".", "the signstar source tree (for sshd/50-signstar.conf and bench/notes.md)")
	out := flag.String("out", "", "where benchmarks.md and benchmarks.svg go (default: docs/ under -repo; a temp dir for a quick run)")
	replotFrom := flag.String("replot", "", "only draw benchmarks.svg again (into -out) from this benchmarks.md's summary table")
	obs := flag.String("obs-sign", "", "a built obs-sign checkout (sign, signd) for section 7; scripts/bench builds one")
	obsSkip := flag.String("obs-sign-skip", "", "why there is no obs-sign for section 7 (said in the report)")
	flag.Parse()
	if *replotFrom != "" {
		svg, err := replot(*replotFrom)
		if err != nil {
			fatal(err)
		}
		if *out == "" {
			*out = filepath.Dir(*replotFrom)
		}
		if err := os.WriteFile(filepath.Join(*out, "benchmarks.svg"), svg, 0o644); err != nil {
			fatal(err)
		}
		return
	}
	isQuick := os.Getenv("SIGNSTAR_BENCH_QUICK") == "1"
	sel, err := parseSections(os.Getenv("SIGNSTAR_BENCH_SECTIONS"))
	if err != nil {
		fatal(err)
	}
	if *obs == "" && *obsSkip == "" {
		*obsSkip = "no -obs-sign checkout given"
	}
	if *out == "" {
		*out = filepath.Join(*repo, "docs")
		if isQuick || !sel.all() {
			d, err := os.MkdirTemp("", "signstar-bench-quick-")
			if err != nil {
				fatal(err)
			}
			*out = d
		}
	}
	if os.Geteuid() != 0 {
		fatal(fmt.Errorf("needs root: sshd must switch to a throwaway account"))
	}
	f, err := newFixture(*signstar, os.Getenv("TMPDIR"))
	if f != nil {
		defer f.cleanup()
		interrupted := make(chan os.Signal, 1)
		signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-interrupted
			fmt.Fprintln(os.Stderr, "signstar-bench: interrupted; cleaning up")
			f.stopMasters()
			f.cleanup()
			os.Exit(130)
		}()
	}
	if err != nil {
		fail(f, err)
	}
	c := full
	if isQuick {
		c = quick
	}
	r, err := measure(f, c, sel, *repo, *obs, *obsSkip)
	if err != nil {
		fail(f, err)
	}
	r.quick, r.sel = isQuick, sel
	if err := r.write(*out, *repo); err != nil {
		fail(f, err)
	}
	r.printSummary(os.Stdout, *out)
}

// results is everything one run measured.
type results struct {
	quick              bool
	c                  counts
	machine            []fact
	started, ended     time.Time
	loadStart, loadEnd string
	small              *smallResult
	large              []*series
	growth             []growthRow
	ssh                []sshRow
	req                []reqRow
	front, x509, rss   []*series // section 6
	many               *manyResult
	sel                sections
}

// sections are the sections a run measures, by number.
type sections map[int]bool

const lastSection = 7

// parseSections reads SIGNSTAR_BENCH_SECTIONS: "" is all; section 5 reuses
// section 2's largest row, so it brings 2 along.
func parseSections(s string) (sections, error) {
	sel := sections{}
	if strings.TrimSpace(s) == "" {
		for n := 1; n <= lastSection; n++ {
			sel[n] = true
		}
		return sel, nil
	}
	for _, w := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 || n > lastSection {
			return nil, fmt.Errorf("SIGNSTAR_BENCH_SECTIONS=%q: want section numbers 1 to %d, comma-separated", s, lastSection)
		}
		sel[n] = true
	}
	if sel[5] {
		sel[2] = true
	}
	return sel, nil
}

func (s sections) all() bool { return len(s) == lastSection }

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "signstar-bench: "+format+"\n", args...)
}

func measure(f *fixture, c counts, sel sections, repo, obs, obsSkip string) (*results, error) {
	r := &results{c: c, started: time.Now(), loadStart: loadavg()}
	r.machine = machineFacts(f.signstar)
	if sel[7] && obs != "" {
		r.machine = append(r.machine, fact{"obs-sign (section 7)", obsSignVersion(obs)})
	}
	step("setup: SoftHSM2 token and keys, inputs, GnuPG keys, account and sshd in %s", f.dir)
	if err := f.token(); err != nil {
		return nil, err
	}
	if err := f.x509Key(); err != nil {
		return nil, err
	}
	sizes := []struct {
		label string
		size  int64
		need  bool
	}{
		{"1KiB", 1 << 10, true},
		{"1MiB", 1 << 20, sel[5]},
		{"4MiB", c.sshSize, sel[3]},
		{"100MiB", 100 << 20, sel[5] || sel[6]},
		{c.largeLabel, c.largeSize, sel[2] || sel[4]},
	}
	for _, in := range sizes {
		if !in.need {
			continue
		}
		if err := f.input(in.label, in.size); err != nil {
			return nil, err
		}
	}
	if sel[6] {
		if err := f.releaseInputs(); err != nil {
			return nil, err
		}
	}
	if err := f.gpg(); err != nil {
		return nil, err
	}
	if err := f.account(); err != nil {
		return nil, err
	}
	if err := f.startSSHD(repo); err != nil {
		return nil, err
	}
	if os.Getenv("SIGNSTAR_BENCH_HOLD") == "1" {
		hold(f)
	}
	var err error
	if sel[1] {
		step("1/7 small input: %d interleaved rounds", c.smallRuns)
		if r.small, err = f.small(c); err != nil {
			return nil, err
		}
	}
	if sel[2] {
		step("2/7 large input: %s, %d rounds", c.largeLabel, c.largeRuns)
		if r.large, err = f.large(c); err != nil {
			return nil, err
		}
	}
	if sel[5] {
		step("5/7 cost growth: 1 KiB .. %s", c.largeLabel)
		if r.growth, err = f.growth(c, r.large); err != nil {
			return nil, err
		}
	}
	if err := f.grant(); err != nil { // root runs may have added token files
		return nil, err
	}
	if sel[3] {
		step("3/7 over SSH: %d sessions per concurrency, mode and workload", c.sshTotal)
		if r.ssh, err = f.overSSH(c, time.Now().Add(10*time.Minute)); err != nil {
			return nil, err
		}
	}
	if sel[4] {
		step("4/7 digest-only requests: %d runs each", c.reqRuns)
		if r.req, err = f.digestOnly(c); err != nil {
			return nil, err
		}
	}
	if sel[6] {
		step("6/7 release tooling: gpg front end %d rounds, X.509 formats %d rounds, 100 MiB peak RSS %d rounds", c.frontRuns, c.x509Runs, c.rssRuns)
		if r.front, err = f.frontEnd(c); err != nil {
			return nil, err
		}
		if r.x509, err = f.x509Formats(c); err != nil {
			return nil, err
		}
		if r.rss, err = f.x509RSS(c); err != nil {
			return nil, err
		}
	}
	if sel[7] {
		if obs == "" {
			step("7/7 many files: obs-sign skipped: %s", obsSkip)
		}
		if r.many, err = f.many(c, repo, obs, obsSkip); err != nil {
			return nil, err
		}
	}
	r.ended, r.loadEnd = time.Now(), loadavg()
	return r, nil
}

// hold keeps the fixture up for poking at by hand (SIGNSTAR_BENCH_HOLD=1)
// until its hold file is removed.
func hold(f *fixture) {
	h := f.path("hold")
	os.WriteFile(h, nil, 0o644)
	step("holding: SOFTHSM2_CONF=%s SIGNSTAR_CONFIG=%s; ssh: %s; rm %s to go on",
		f.hsmConf, f.cliConf, strings.Join(f.ssh(nil), " "), h)
	for {
		if _, err := os.Stat(h); err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

func fail(f *fixture, err error) {
	fmt.Fprintf(os.Stderr, "signstar-bench: error: %v\n", err)
	if f != nil {
		if f.sshdLog != "" {
			if log, _ := os.ReadFile(f.sshdLog); len(log) > 0 {
				fmt.Fprintf(os.Stderr, "sshd log (last 2000 bytes):\n%s\n", log[max(0, len(log)-2000):])
			}
		}
		f.stopMasters()
		f.cleanup()
	}
	os.Exit(1)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "signstar-bench: error: %v\n", err)
	os.Exit(1)
}
