package audit

import (
	"errors"
	"fmt"
)

// A batch session ('sign --batch') answers many signing requests in one
// login shell. Each request is recorded as a request on its own would be,
// with its own request ID, plus the session's ID (Record.Batch,
// SIGNSTAR_BATCH) and its place in the session (Record.BatchSeq,
// SIGNSTAR_BATCH_SEQ, from 1). The session's end is one more record: the
// [BatchEnd] event, answered, with the session's ID as both its request ID
// and its batch, saying in Detail how many requests came, how many were
// signed and what ended it ("500 requests, 499 signed, ended by eof").

// BatchEnd is the event of the record that ends a batch session.
const BatchEnd Event = "batch-end"

// checkBatchEnd wants of a batch's end: the login shell, answered, the
// session's ID, what ended it, and neither error nor input: every request
// had its own record.
func (r *Record) checkBatchEnd() error {
	switch {
	case r.Mode != SSH:
		return fmt.Errorf("BUG: audit record of a batch's end in mode %s", r.Mode)
	case r.Result != Answered || r.Error != "":
		return fmt.Errorf("BUG: audit record of a batch's end with result %q or an error", r.Result)
	case r.Batch == "" || r.BatchSeq != 0 || r.Detail == "":
		return errors.New("BUG: audit record of a batch's end without its batch or detail, or with a place in it")
	case r.InputSize != 0 || r.InputSHA256 != nil || r.InputSHA512 != nil || !r.SignatureCreated.IsZero() || r.Format != "" || r.SignedDigest != nil:
		return errors.New("BUG: audit record of a batch's end with input digests, a signature time or format")
	}
	return nil
}

// batchEndMessage is the line for a batch's end: `batch 0123... of signer
// (SHA256:...) from 192.0.2.7 51234 with key "repo": 500 requests, 499
// signed, ended by eof`.
func (r *Record) batchEndMessage() string {
	m := fmt.Sprintf("batch %s of %s", clean(r.Batch, maxShort), r.who())
	if r.Key != "" {
		m += fmt.Sprintf(" with key %q", clean(r.Key, maxShort))
	}
	return m + ": " + clean(r.Detail, maxLong)
}
