// Command demosshd serves a signstar binary through a throwaway sshd for
// scripts/demo ('just demo' as root). It is internal/sshdtest run from a
// shell script: the same account, the same shipped drop-in and the same sshd
// the Go tests get, so the demo shows what the tests check rather than a
// second copy of the setup in bash.
//
//	demosshd -shell BIN [-env NAME=value]... [-grant PATH]...
//
// It creates the account (login shell: a copy of BIN), starts sshd on
// 127.0.0.1, gives the account the paths named by -grant, and prints
//
//	port PORT
//	user ACCOUNT
//	opt OPTION      (one line per ssh option that reaches this sshd)
//	ready
//
// Then it serves until its standard input closes (the demo exits, however
// it exits) or it gets SIGINT or SIGTERM, and stops sshd and removes the
// account and its temp dir. It needs root, as sshdtest does.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"signstar/internal/sshdtest"
)

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, " ") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var env, grant list
	shell := flag.String("shell", "", "the signstar binary to serve")
	flag.Var(&env, "env", "NAME=value for the account, through sshd's SetEnv (repeatable)")
	flag.Var(&grant, "grant", "a path the account must own: token dir, PIN file, audit file (repeatable)")
	flag.Parse()
	if *shell == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	t := &tb{}
	defer t.cleanup()
	s := sshdtest.Start(t, sshdtest.Options{Shell: *shell, Env: env})
	s.Grant(grant...)
	fmt.Printf("port %d\nuser %s\n", s.Port, s.User)
	for _, o := range s.Options(s.Key) {
		fmt.Printf("opt %s\n", o)
	}
	fmt.Println("ready")
	waitForEnd()
}

// waitForEnd returns when standard input closes or a signal to stop comes.
func waitForEnd() {
	done := make(chan struct{}, 2)
	go func() { io.Copy(io.Discard, os.Stdin); done <- struct{}{} }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() { <-sig; done <- struct{}{} }()
	<-done
}

// tb is the part of testing.TB that sshdtest uses, for a program: Cleanup
// functions run when main returns, Fatal (and Skip, which sshdtest calls
// when root or sshd is missing) runs them and exits 1. The embedded nil
// testing.TB only supplies the interface's unexported method; a method
// sshdtest starts to use and tb lacks panics, naming itself.
type tb struct {
	testing.TB
	cleanups []func()
}

func (t *tb) Helper()                      {}
func (t *tb) Name() string                 { return "demosshd" }
func (t *tb) Cleanup(f func())             { t.cleanups = append(t.cleanups, f) }
func (t *tb) Log(args ...any)              { fmt.Fprintln(os.Stderr, args...) }
func (t *tb) Logf(f string, args ...any)   { fmt.Fprintf(os.Stderr, f+"\n", args...) }
func (t *tb) Fatal(args ...any)            { t.fail(fmt.Sprint(args...)) }
func (t *tb) Fatalf(f string, args ...any) { t.fail(fmt.Sprintf(f, args...)) }
func (t *tb) Skip(args ...any)             { t.fail(fmt.Sprint(args...)) }
func (t *tb) Skipf(f string, args ...any)  { t.fail(fmt.Sprintf(f, args...)) }

func (t *tb) TempDir() string {
	dir, err := os.MkdirTemp("", "signstar-demosshd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cleanup runs the cleanup functions last added first, as testing does.
func (t *tb) cleanup() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
	t.cleanups = nil
}

func (t *tb) fail(msg string) {
	fmt.Fprintln(os.Stderr, "demosshd: "+msg)
	t.cleanup()
	os.Exit(1)
}
