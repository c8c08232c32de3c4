//go:build linux && cgo

package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"golang.org/x/sys/unix"
)

// moduleStderr keeps what the PKCS#11 module and the libraries under it
// write to file descriptor 2 (GLib warnings, tpm2-tss and tpm2-pkcs11
// ERROR lines, a NetHSM module's log) from the SSH client: in the login
// shell, descriptor 2 becomes an anonymous file, read back into the audit
// record, and signstar's own messages go to the client through a copy of
// the original descriptor. The client learns what it may know; the detail
// goes to the audit trail.
type moduleStderr struct {
	client int // signstar's copy of the client's stderr
}

// captureModuleStderr redirects descriptor 2. Call it before the module
// is loaded.
func captureModuleStderr() (*moduleStderr, error) {
	mem, err := unix.MemfdCreate("signstar-module-stderr", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("capture module output: %v", err)
	}
	defer unix.Close(mem)
	client, err := unix.FcntlInt(2, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("capture module output: copy stderr: %v", err)
	}
	// dup3 without O_CLOEXEC: descriptor 2 stays stderr for anything the
	// process might run (it runs nothing, but the module's view must not
	// change with it).
	if err := unix.Dup3(mem, 2, 0); err != nil {
		unix.Close(client)
		return nil, fmt.Errorf("capture module output: %v", err)
	}
	os.Stderr = os.NewFile(uintptr(client), "/dev/stderr")
	// A crash should still reach whoever watches the session.
	debug.SetCrashOutput(os.Stderr, debug.CrashOptions{})
	return &moduleStderr{client: client}, nil
}

// maxModuleOutput bounds what is read back; the record keeps 1 KiB.
const maxModuleOutput = 4096

// output returns what was written to descriptor 2 so far, on one line.
func (m *moduleStderr) output() string {
	buf := make([]byte, maxModuleOutput)
	n, err := unix.Pread(2, buf, 0)
	if err != nil || n <= 0 {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(string(buf[:n]), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}
