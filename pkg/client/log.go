package client

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// logger serializes the lines of concurrent workers on Log and keeps at
// most one progress line at the bottom, redrawn in place on a terminal.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	shown bool // a progress line is on screen
}

func newLogger(w io.Writer) *logger {
	if w == nil {
		w = io.Discard
	}
	f, ok := w.(*os.File)
	return &logger{w: w, tty: ok && isTerminal(f)}
}

// printf writes one line, prefixed like the CLI's own messages, after
// clearing any progress line.
func (l *logger) printf(format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked()
	fmt.Fprintf(l.w, "signstar: "+format+"\n", v...)
}

// status replaces the progress line: carriage return, then "erase to end
// of line" (ECMA-48 EL, CSI K) so a shorter line leaves nothing behind.
func (l *logger) status(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprint(l.w, "\r\x1b[K"+line)
	l.shown = true
}

func (l *logger) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked()
}

func (l *logger) clearLocked() {
	if l.shown {
		fmt.Fprint(l.w, "\r\x1b[K")
		l.shown = false
	}
}

// progressInterval limits redraws; several workers share the one line.
const progressInterval = 100 * time.Millisecond

// progressReader draws a progress bar for the bytes read through it.
type progressReader struct {
	r           io.Reader
	log         *logger
	label, name string
	done, total int64
	last        time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	switch {
	case err != nil:
		p.log.clear()
	case time.Since(p.last) >= progressInterval:
		p.last = time.Now()
		p.log.status(progressLine(p.label, p.name, p.done, p.total))
	}
	return n, err
}

// progressLine fits in 80 columns, so the carriage return lands on the
// same line.
func progressLine(label, name string, done, total int64) string {
	const width = 20
	pct := int64(100)
	if total > 0 {
		pct = min(100, done*100/total)
	}
	bar := strings.Repeat("#", int(pct)*width/100)
	return fmt.Sprintf("%-9s %-24s [%-*s] %3d%% of %s", label, shorten(show(name), 24), width, bar, pct, sizeString(total))
}

// shorten keeps the end of s, which is where a file name differs.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "..." + string(r[len(r)-n+3:])
}

func sizeString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for ; v >= unit && i < 4; i++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[i])
}

// show prints s as is when it is printable, else quoted: a file or host
// name must not be able to move the cursor or recolor the terminal.
func show(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// remoteText makes what a server or ssh wrote to stderr fit in one line of
// an error: every line trimmed and joined with "; ", anything not
// printable (escape sequences included) replaced by '?'.
func remoteText(b []byte) string {
	var lines []string
	for _, line := range strings.Split(strings.ToValidUTF8(string(b), "?"), "\n") {
		line = strings.Map(func(r rune) rune {
			if !unicode.IsPrint(r) {
				return '?'
			}
			return r
		}, strings.TrimRight(line, "\r"))
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}
