package testenv

import (
	"runtime"
	"testing"
)

func TestToolMissing(t *testing.T) {
	tests := []struct {
		name      string
		e2e       string
		wantSkip  bool
		wantFatal bool
	}{
		{"laptop skips", "", true, false},
		{"CI fails", "1", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SIGNSTAR_E2E", tt.e2e)
			r := &stopRecorder{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				Tool(r, "signstar-no-such-tool")
			}()
			<-done
			if r.skipped != tt.wantSkip || r.fatal != tt.wantFatal {
				t.Errorf("skipped, fatal = %v, %v, want %v, %v", r.skipped, r.fatal, tt.wantSkip, tt.wantFatal)
			}
		})
	}
}

// stopRecorder records Skipf and Fatalf and, as the real ones do, ends the
// calling goroutine.
type stopRecorder struct {
	testing.TB
	skipped, fatal bool
}

func (r *stopRecorder) Skipf(string, ...any) {
	r.skipped = true
	runtime.Goexit()
}

func (r *stopRecorder) Fatalf(string, ...any) {
	r.fatal = true
	runtime.Goexit()
}
