package config

import (
	"fmt"
	"time"
)

// A batch session ('sign --batch') answers many requests in one process,
// with one token login: it is bounded by a number of requests and by the
// longest wait for the next one. Ten thousand requests take seconds on a
// token that signs in a millisecond, and a client that sent nothing for a
// minute is not pipelining a rebuild any more.
const (
	DefaultBatchMaxRequests = 10000
	DefaultBatchIdleTimeout = time.Minute
)

// maxBatchRequests bounds batch-max-requests: a session's audit records
// must stay something a reader can page through, and a million requests
// is already over a quarter of an hour of a fast token's time.
const maxBatchRequests = 1000000

// batch is [Remote]'s batch settings, parsed.
type batch struct {
	maxRequests int
	idle        time.Duration
}

// BatchEnabled reports whether the account takes 'sign --batch': yes
// unless the config says batch = false.
func (r Remote) BatchEnabled() bool { return r.Batch == nil || *r.Batch }

// BatchLimits returns the most requests one batch session answers and the
// longest it waits for the next one, the defaults for what the config
// does not set.
func (r Remote) BatchLimits() (maxRequests int, idle time.Duration) {
	maxRequests, idle = r.batch.maxRequests, r.batch.idle
	if maxRequests == 0 {
		maxRequests = DefaultBatchMaxRequests
	}
	if idle == 0 {
		idle = DefaultBatchIdleTimeout
	}
	return maxRequests, idle
}

// parseBatch checks batch-max-requests and batch-idle-timeout and keeps
// their values.
func (r *Remote) parseBatch() error {
	n := 0
	if r.BatchMaxRequests != nil {
		n = *r.BatchMaxRequests
		if n < 1 || n > maxBatchRequests {
			return fmt.Errorf("remote: batch-max-requests %d: want a number from 1 to %d", n, maxBatchRequests)
		}
	}
	idle, err := parseLimit("batch-idle-timeout", r.BatchIdleTimeout)
	if err != nil {
		return err
	}
	r.batch = batch{maxRequests: n, idle: idle}
	return nil
}
