package sandbox

import "os"

// Exit ends the process with code, as os.Exit does; call it instead of
// os.Exit in a program that may have called [Lockdown]. The two differ only
// in a coverage build (scripts/build with SIGNSTAR_COVER=1, build tag
// signstarcover): a locked-down process can no longer create the file the
// Go runtime writes coverage counters to at exit, so Exit writes them to
// the one Lockdown kept open (coverage_linux.go).
func Exit(code int) {
	exitCoverage(code)
	os.Exit(code)
}
