package config

import (
	"strings"
	"testing"
	"time"
)

func TestRemoteBatch(t *testing.T) {
	tests := []struct {
		name        string
		remote      string // the [remote] table's lines
		wantEnabled bool
		wantMax     int
		wantIdle    time.Duration
		wantErr     string // substring; empty means success
	}{
		{"defaults", "", true, DefaultBatchMaxRequests, DefaultBatchIdleTimeout, ""},
		{"disabled", "batch = false\n", false, DefaultBatchMaxRequests, DefaultBatchIdleTimeout, ""},
		{"enabled", "batch = true\n", true, DefaultBatchMaxRequests, DefaultBatchIdleTimeout, ""},
		{"both limits", "batch-max-requests = 500\nbatch-idle-timeout = \"2s\"\n", true, 500, 2 * time.Second, ""},
		{"one request", "batch-max-requests = 1\n", true, 1, DefaultBatchIdleTimeout, ""},
		{"most requests", "batch-max-requests = 1000000\n", true, 1000000, DefaultBatchIdleTimeout, ""},
		{"zero requests", "batch-max-requests = 0\n", false, 0, 0, "remote: batch-max-requests 0: want a number from 1 to 1000000"},
		{"negative requests", "batch-max-requests = -1\n", false, 0, 0, "remote: batch-max-requests -1: want a number"},
		{"too many requests", "batch-max-requests = 1000001\n", false, 0, 0, "remote: batch-max-requests 1000001: want a number"},
		{"requests as string", "batch-max-requests = \"500\"\n", false, 0, 0, `line 6: key "remote.batch-max-requests"`},
		{"idle below a second", "batch-idle-timeout = \"10ms\"\n", false, 0, 0, `remote: batch-idle-timeout "10ms": want a duration from 1s to 24h0m0s`},
		{"idle garbage", "batch-idle-timeout = \"a while\"\n", false, 0, 0, `remote: batch-idle-timeout "a while": not a duration`},
		{"idle as number", "batch-idle-timeout = 60\n", false, 0, 0, `line 6: key "remote.batch-idle-timeout"`},
		{"batch as string", "batch = \"no\"\n", false, 0, 0, `line 6: key "remote.batch"`},
		{"misspelt", "batch-max = 5\n", false, 0, 0, `line 6: unknown key "remote.batch-max"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(base + "[remote]\n" + tt.remote))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse: %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Remote.BatchEnabled(); got != tt.wantEnabled {
				t.Errorf("BatchEnabled() = %v, want %v", got, tt.wantEnabled)
			}
			if n, idle := c.Remote.BatchLimits(); n != tt.wantMax || idle != tt.wantIdle {
				t.Errorf("BatchLimits() = %v, %v; want %v, %v", n, idle, tt.wantMax, tt.wantIdle)
			}
		})
	}
}

// TestRemoteBatchUnparsed: a Remote no config file filled in gets batches
// with the default bounds, never unbounded ones.
func TestRemoteBatchUnparsed(t *testing.T) {
	r := Remote{}
	if n, idle := r.BatchLimits(); !r.BatchEnabled() || n != DefaultBatchMaxRequests || idle != DefaultBatchIdleTimeout {
		t.Fatalf("BatchEnabled, BatchLimits() = %v, %v, %v; want the defaults", r.BatchEnabled(), n, idle)
	}
}
