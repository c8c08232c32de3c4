package main

// Running one measured command and summarizing many.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// spec is one command as a shell would run it: argv, '< stdin', '> stdout'.
type spec struct {
	label  string
	argv   []string
	env    []string // added to the harness's environment
	stdin  string   // file; "" is /dev/null
	stdout string   // file; "" is /dev/null
	cred   *syscall.Credential
	// wantFail: the command is expected to exit non-zero (a phase probe
	// that stops at a known point).
	wantFail bool
	// rss: run it under GNU time for its peak RSS (see run).
	rss bool
}

// sample is one run: wall time and what wait4(2) reports, the figures
// GNU time prints (%e, %U, %S, %M).
type sample struct {
	wall, user, sys time.Duration
	maxRSS          int64 // KiB
}

func (s sample) cpu() time.Duration { return s.user + s.sys }

// gnuTime is GNU time, which forks (not vforks) the command.
const gnuTime = "/usr/bin/time"

// run runs c once, bounded by timeout, and fails unless it exited as
// expected.
//
// Peak RSS needs care: os/exec starts children with vfork semantics
// (CLONE_VM), and execve(2) folds the high-water RSS of the mm it leaves,
// this harness's, into the new program's. So with c.rss the command runs
// under GNU time, whose own fork gives it a fresh, small mm, and CPU and
// peak RSS is what time reports (%M); without it, maxRSS is 0. CPU is
// always what wait4(2) reports, with c.rss for time and the command
// together (time's own share is a fraction of a millisecond), and wall
// time is this harness's.
func run(c spec, timeout time.Duration) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	argv, timeOut := c.argv, ""
	if c.rss {
		f, err := os.CreateTemp("", "signstar-bench-time-")
		if err != nil {
			return sample{}, err
		}
		f.Close()
		timeOut = f.Name()
		defer os.Remove(timeOut)
		if c.cred != nil { // time runs as the command's user and writes this file
			if err := os.Chown(timeOut, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return sample{}, err
			}
		}
		argv = append([]string{gnuTime, "-f", "%M", "-o", timeOut}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &limited{&stderr, 4096}
	if c.stdin != "" {
		f, err := os.Open(c.stdin)
		if err != nil {
			return sample{}, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	if c.stdout != "" {
		f, err := os.Create(c.stdout)
		if err != nil {
			return sample{}, err
		}
		defer f.Close()
		cmd.Stdout = f
	}
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ctx.Err() != nil {
		return sample{}, fmt.Errorf("%s: timed out after %v", c.label, timeout)
	}
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		return sample{}, fmt.Errorf("%s: %v", c.label, err)
	}
	if failed := err != nil; failed != c.wantFail {
		return sample{}, fmt.Errorf("%s: %v, want exit status %s; stderr: %s",
			c.label, cmd.ProcessState, map[bool]string{true: "non-zero", false: "0"}[c.wantFail], stderr.Bytes())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	smp := sample{
		wall: wall,
		user: time.Duration(ru.Utime.Nano()),
		sys:  time.Duration(ru.Stime.Nano()),
	}
	if c.rss {
		m, err := peakRSS(timeOut)
		if err != nil {
			return sample{}, fmt.Errorf("%s: %v", c.label, err)
		}
		smp.maxRSS = m
	}
	return smp, nil
}

// peakRSS reads what GNU time wrote: %M in KiB, after a line saying how
// the command ended if it did not exit 0.
func peakRSS(file string) (int64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	m, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GNU time wrote %q: %v", data, err)
	}
	return m, nil
}

// limited keeps the first n bytes written to it.
type limited struct {
	b *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// series is every sample of one spec.
type series struct {
	label   string
	samples []sample
}

// interleave runs every spec once per round, warm rounds first (not
// kept), so that load from elsewhere on the machine hits all of them alike.
func interleave(specs []spec, warm, rounds int, timeout time.Duration) ([]*series, error) {
	out := make([]*series, len(specs))
	for i, s := range specs {
		out[i] = &series{label: s.label}
	}
	for r := 0; r < warm+rounds; r++ {
		for i, s := range specs {
			smp, err := run(s, timeout)
			if err != nil {
				return nil, err
			}
			if r >= warm {
				out[i].samples = append(out[i].samples, smp)
			}
		}
	}
	return out, nil
}

// stat summarizes one figure of a series.
type stat struct {
	n                     int
	median, min, max, p99 float64
}

func summarize(xs []float64) stat {
	if len(xs) == 0 {
		return stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return stat{n: len(s), median: quantile(s, 0.5), min: s[0], max: s[len(s)-1], p99: quantile(s, 0.99)}
}

// quantile of sorted s, linear between closest ranks.
func quantile(s []float64, q float64) float64 {
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func (s *series) figure(f func(sample) float64) stat {
	xs := make([]float64, len(s.samples))
	for i, smp := range s.samples {
		xs[i] = f(smp)
	}
	return summarize(xs)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (s *series) wall() stat { return s.figure(func(x sample) float64 { return ms(x.wall) }) }
func (s *series) cpu() stat  { return s.figure(func(x sample) float64 { return ms(x.cpu()) }) }
func (s *series) user() stat { return s.figure(func(x sample) float64 { return ms(x.user) }) }
func (s *series) sys() stat  { return s.figure(func(x sample) float64 { return ms(x.sys) }) }
func (s *series) rssMiB() stat {
	return s.figure(func(x sample) float64 { return float64(x.maxRSS) / 1024 })
}
