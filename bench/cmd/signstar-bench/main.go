// Command signstar-bench measures signstar against its floors and
// alternatives (issue 7) and writes docs/benchmarks.md and
// docs/benchmarks.svg. scripts/bench builds and runs it; see
// docs/benchmarks.md for what is measured and how.
//
//	signstar-bench -signstar bin/signstar -repo . -out docs
//
// It needs root (sshd switches to a throwaway account, created with
// useradd and removed at the end) and the tools scripts/bench installs.
// SIGNSTAR_BENCH_QUICK=1 shrinks every count for a smoke run. Everything
// is bounded in count and time, and talks to 127.0.0.1 only. A benchmark
// never fails a build: a missed goal is reported, not an error.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	signstar := flag.String("signstar", "bin/signstar", "the signstar binary to measure (scripts/build)")
	repo := flag.String("repo", ".", "the signstar source tree (for sshd/50-signstar.conf and bench/notes.md)")
	out := flag.String("out", "", "where benchmarks.md and benchmarks.svg go (default: docs/ under -repo; a temp dir for a quick run)")
	replotFrom := flag.String("replot", "", "only draw benchmarks.svg again (into -out) from this benchmarks.md's summary table")
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
	if *out == "" {
		*out = filepath.Join(*repo, "docs")
		if isQuick {
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
	r, err := measure(f, c, *repo)
	if err != nil {
		fail(f, err)
	}
	r.quick = isQuick
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
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "signstar-bench: "+format+"\n", args...)
}

func measure(f *fixture, c counts, repo string) (*results, error) {
	r := &results{c: c, started: time.Now(), loadStart: loadavg()}
	r.machine = machineFacts(f.signstar)
	step("setup: SoftHSM2 token and keys, inputs, GnuPG keys, account and sshd in %s", f.dir)
	if err := f.token(); err != nil {
		return nil, err
	}
	if err := f.x509Key(); err != nil {
		return nil, err
	}
	for _, in := range []struct {
		label string
		size  int64
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"4MiB", c.sshSize}, {"100MiB", 100 << 20}, {c.largeLabel, c.largeSize}} {
		if err := f.input(in.label, in.size); err != nil {
			return nil, err
		}
	}
	if err := f.releaseInputs(); err != nil {
		return nil, err
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
	step("1/6 small input: %d interleaved rounds of %d commands", c.smallRuns, 13)
	if r.small, err = f.small(c); err != nil {
		return nil, err
	}
	step("2/6 large input: %s, %d rounds", c.largeLabel, c.largeRuns)
	if r.large, err = f.large(c); err != nil {
		return nil, err
	}
	step("5/6 cost growth: 1 KiB .. %s", c.largeLabel)
	if r.growth, err = f.growth(c, r.large); err != nil {
		return nil, err
	}
	if err := f.grant(); err != nil { // root runs may have added token files
		return nil, err
	}
	step("3/6 over SSH: %d sessions per concurrency, mode and workload", c.sshTotal)
	if r.ssh, err = f.overSSH(c, time.Now().Add(10*time.Minute)); err != nil {
		return nil, err
	}
	step("4/6 digest-only requests: %d runs each", c.reqRuns)
	if r.req, err = f.digestOnly(c); err != nil {
		return nil, err
	}
	step("6/6 release tooling: gpg front end %d rounds, X.509 formats %d rounds, 100 MiB peak RSS %d rounds", c.frontRuns, c.x509Runs, c.rssRuns)
	if r.front, err = f.frontEnd(c); err != nil {
		return nil, err
	}
	if r.x509, err = f.x509Formats(c); err != nil {
		return nil, err
	}
	if r.rss, err = f.x509RSS(c); err != nil {
		return nil, err
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
