package config

import (
	"fmt"
	"time"
)

// The login shell's limits on a request when the config sets none: five
// minutes without a byte is no upload any more, and an hour is far beyond
// what a signature takes, even of gigabytes over a slow link.
const (
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxDuration = time.Hour
)

// Bounds of either limit. Below a second a busy network ends honest
// requests; past a day a limit no longer bounds the token session.
const (
	minLimit = time.Second
	maxLimit = 24 * time.Hour
)

// limits are [Remote]'s durations, parsed.
type limits struct{ idle, max time.Duration }

// Limits returns how long the login shell waits for a byte of input and
// how long a whole request may take, the defaults for what the config does
// not set.
func (r Remote) Limits() (idle, max time.Duration) {
	idle, max = r.limits.idle, r.limits.max
	if idle == 0 {
		idle = DefaultIdleTimeout
	}
	if max == 0 {
		max = DefaultMaxDuration
	}
	return idle, max
}

// parseLimits checks idle-timeout and max-duration and keeps their values.
func (r *Remote) parseLimits() error {
	var err error
	if r.limits.idle, err = parseLimit("idle-timeout", r.IdleTimeout); err != nil {
		return err
	}
	r.limits.max, err = parseLimit("max-duration", r.MaxDuration)
	return err
}

// parseLimit reads a duration as time.ParseDuration does ("90s", "5m",
// "1h30m"); "" is 0, the default.
func parseLimit(key, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("remote: %s %q: not a duration (like \"90s\", \"5m\" or \"1h30m\")", key, s)
	}
	if d < minLimit || d > maxLimit {
		return 0, fmt.Errorf("remote: %s %q: want a duration from %v to %v", key, s, minLimit, maxLimit)
	}
	return d, nil
}
