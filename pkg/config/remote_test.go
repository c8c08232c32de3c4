package config

import (
	"strings"
	"testing"
	"time"
)

func TestRemoteLimits(t *testing.T) {
	tests := []struct {
		name     string
		remote   string // the [remote] table's lines
		wantIdle time.Duration
		wantMax  time.Duration
		wantErr  string // substring; empty means success
	}{
		{"defaults", "", DefaultIdleTimeout, DefaultMaxDuration, ""},
		{"both", "idle-timeout = \"2s\"\nmax-duration = \"1h30m\"\n", 2 * time.Second, 90 * time.Minute, ""},
		{"idle only", "idle-timeout = \"90s\"\n", 90 * time.Second, DefaultMaxDuration, ""},
		{"bounds", "idle-timeout = \"1s\"\nmax-duration = \"24h\"\n", time.Second, 24 * time.Hour, ""},
		{"negative", "idle-timeout = \"-5m\"\n", 0, 0, `remote: idle-timeout "-5m": want a duration from 1s to 24h0m0s`},
		{"zero", "max-duration = \"0s\"\n", 0, 0, `remote: max-duration "0s": want a duration from 1s to 24h0m0s`},
		{"bare zero", "idle-timeout = \"0\"\n", 0, 0, `remote: idle-timeout "0": want a duration`},
		{"below a second", "idle-timeout = \"500ms\"\n", 0, 0, `remote: idle-timeout "500ms": want a duration`},
		{"over a day", "max-duration = \"25h\"\n", 0, 0, `remote: max-duration "25h": want a duration`},
		{"garbage", "idle-timeout = \"soon\"\n", 0, 0, `remote: idle-timeout "soon": not a duration`},
		{"no unit", "idle-timeout = \"300\"\n", 0, 0, `remote: idle-timeout "300": not a duration`},
		{"empty string", "max-duration = \"\"\n", DefaultIdleTimeout, DefaultMaxDuration, ""},
		{"integer", "idle-timeout = 300\n", 0, 0, `line 6: key "remote.idle-timeout"`},
		{"misspelt", "idle_timeout = \"5m\"\n", 0, 0, `line 6: unknown key "remote.idle_timeout"`},
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
			if idle, max := c.Remote.Limits(); idle != tt.wantIdle || max != tt.wantMax {
				t.Errorf("Limits() = %v, %v; want %v, %v", idle, max, tt.wantIdle, tt.wantMax)
			}
		})
	}
}

// TestRemoteLimitsUnparsed: a Remote no config file filled in (a
// zero Config) gets the defaults, never no limit.
func TestRemoteLimitsUnparsed(t *testing.T) {
	if idle, max := (Remote{}).Limits(); idle != DefaultIdleTimeout || max != DefaultMaxDuration {
		t.Fatalf("Limits() = %v, %v; want the defaults", idle, max)
	}
}
