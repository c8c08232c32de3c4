//go:build linux

package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"signstar/internal/testenv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProgressOnTerminal signs a large and a small file with a
// pseudo-terminal as Log: the large one gets a progress bar, which is
// cleared before the line saying it was signed; after it, the count of
// files done out of all is shown, and cleared before the next line.
func TestProgressOnTerminal(t *testing.T) {
	master, slave := openPTY(t)
	out := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once the slave is closed
		out <- b
	}()
	dir := t.TempDir()
	big := writeFile(t, dir, "big", make([]byte, progressMin+1))
	small := writeFile(t, dir, "small", make([]byte, progressMin-1))
	o := options(t, nil, "ok")
	o.Log = slave
	_, err := Sign(context.Background(), []string{big, small}, o)
	slave.Close()
	log := string(<-out)
	if err != nil {
		t.Fatal(err)
	}
	// The terminal's line discipline turns "\n" into "\r\n" (ONLCR).
	lines := strings.Split(log, "\r\n")
	if len(lines) != 3 || lines[2] != "" {
		t.Fatalf("log = %q, want two lines", log)
	}
	for _, tt := range []struct{ line, file, label string }{{lines[0], big, "hashing"}, {lines[1], small, "signing: 1/2 files done"}} {
		signed := fmt.Sprintf("signstar: signed %s on ok: wrote %s.sig", tt.file, tt.file)
		bar, ok := strings.CutSuffix(tt.line, signed)
		if !ok {
			t.Fatalf("line %q does not end with %q", tt.line, signed)
		}
		if tt.label == "" && bar != "" || tt.label != "" && (!strings.Contains(bar, "\r\x1b[K"+tt.label) || !strings.HasSuffix(bar, "\r\x1b[K")) {
			t.Errorf("before %q: %q", signed, bar)
		}
	}
}

// openPTY opens a pseudo-terminal pair (pts(4)).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		testenv.SkipOrFatal(t, "open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	return master, slave
}
