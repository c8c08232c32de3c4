package client

// The client's side of the transparency log (issue 18, package
// translog): with Options.LogKey set, every OpenPGP signature a host
// returns must be in the host's log, proven against a checkpoint signed
// by that key, before it is written; and every checkpoint seen in a run,
// with the one kept from the run before, must lie on one history (no
// log that shrank or forked). The last checkpoint seen is kept in
// Options.LogState for the next run.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"signstar/pkg/pgp"
	"signstar/pkg/translog"
)

// LogIndexNotation names the unhashed notation in which a signstar host
// returns a signature's index in its transparency log.
const LogIndexNotation = "log-index@signstar"

// logProofMax bounds a remote 'log proof' or 'log consistency' answer.
const logProofMax = 64 << 10

// logCheck is one run's view of a log: the checkpoints its proofs came
// with, by size, and the host each came from.
type logCheck struct {
	v     note.Verifier
	state string // directory of the kept checkpoints; "" keeps none
	// ask runs a log command on a host; nil: over ssh ([signer.run]).
	// Tests answer from a log directory instead.
	ask func(ctx context.Context, host string, words ...string) ([]byte, error)

	mu   sync.Mutex
	seen map[int64]seenCheckpoint
}

type seenCheckpoint struct {
	c    translog.Checkpoint
	host string
}

// newLogCheck is nil when v is: no log is checked.
func newLogCheck(v note.Verifier, state string) *logCheck {
	if v == nil {
		return nil
	}
	return &logCheck{v: v, state: state, seen: map[int64]seenCheckpoint{}}
}

// checkLogged checks that each signature packet of sig (as a host
// returned it: binary or armored) is in host's log: it names its index
// in a log-index@signstar notation, 'log proof INDEX' proves the entry
// at that index against a checkpoint signed by the log key, and the
// entry records that very packet (SHA-256 of its bytes).
func (s *signer) checkLogged(ctx context.Context, host string, sig []byte) error {
	if s.tlog == nil {
		return nil
	}
	out, err := pgp.SplitOutput(sig)
	if err != nil {
		return fmt.Errorf("check log: %v", err)
	}
	for _, p := range out.Packets {
		if err := s.checkPacketLogged(ctx, host, p); err != nil {
			return fmt.Errorf("check log: %w", err)
		}
	}
	return nil
}

func (s *signer) checkPacketLogged(ctx context.Context, host string, packet []byte) error {
	v, ok, err := pgp.UnhashedNotation(packet, LogIndexNotation)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("the signature has no %s notation: the host did not log it", LogIndexNotation)
	}
	index, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || index < 0 || strconv.FormatInt(index, 10) != string(v) {
		return fmt.Errorf("%s notation %q is not an index", LogIndexNotation, v)
	}
	b, err := s.askLog(ctx, host, "log", "proof", string(v))
	if err != nil {
		return fmt.Errorf("log proof %d: %v", index, err)
	}
	p, err := translog.ParseProof(b, s.tlog.v)
	if err != nil {
		return err
	}
	if p.Index != index {
		return fmt.Errorf("log proof %d: the host proved entry %d", index, p.Index)
	}
	e, err := translog.ParseEntry(p.Entry)
	if err != nil {
		return fmt.Errorf("log entry %d: %v", index, err)
	}
	if e.Signature != translog.SignatureSum(packet) {
		return fmt.Errorf("log entry %d records another signature than the one received", index)
	}
	return s.tlog.saw(p.Checkpoint, host)
}

// askLog runs a read-only log command on host and returns its output.
func (s *signer) askLog(ctx context.Context, host string, words ...string) ([]byte, error) {
	if s.tlog.ask != nil {
		return s.tlog.ask(ctx, host, words...)
	}
	return s.run(ctx, host, nil, logProofMax, words...)
}

// saw notes a checkpoint; one of a size already seen must be the same.
func (lc *logCheck) saw(c translog.Checkpoint, host string) error {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if prev, ok := lc.seen[c.Size]; ok && prev.c.Hash != c.Hash {
		return fmt.Errorf("%w: same size, different root; had %s, now %s", translog.ErrInconsistent, prev.c, c)
	}
	lc.seen[c.Size] = seenCheckpoint{c, host}
	return nil
}

// finishLog checks that every checkpoint the run saw, and the one kept
// from the run before, are prefixes of the largest, with 'log
// consistency OLD NEW' proofs from the host that gave the largest, and
// keeps the largest for the next run. err is the run's own error, which
// wins.
func (s *signer) finishLog(ctx context.Context, err error) error {
	if s.tlog == nil || err != nil {
		return err
	}
	return s.tlog.finish(ctx, s)
}

func (lc *logCheck) finish(ctx context.Context, s *signer) error {
	kept, haveKept, err := lc.load()
	if err != nil {
		return err
	}
	all := make([]seenCheckpoint, 0, len(lc.seen)+1)
	for _, sc := range lc.seen {
		all = append(all, sc)
	}
	if len(all) == 0 {
		return nil // nothing signed, nothing learnt
	}
	host := all[0].host // any host that proved: they share the log
	if haveKept {
		// A run beside this one may have kept a larger checkpoint than
		// any this run saw; the host proves this run's against it.
		all = append(all, seenCheckpoint{c: kept, host: host})
	}
	slices.SortFunc(all, func(a, b seenCheckpoint) int { return int(a.c.Size - b.c.Size) })
	newest := all[len(all)-1]
	// One ssh run each, --jobs at a time; the error of the largest
	// is the one returned, as it names the most recent history.
	older := all[:len(all)-1]
	errs := make([]error, len(older))
	slots := make(chan struct{}, max(s.jobs, 1))
	var wg sync.WaitGroup
	for i, o := range older {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			errs[i] = lc.consistent(ctx, s, o.c, newest.c, host)
		})
	}
	wg.Wait()
	for _, err := range slices.Backward(errs) {
		if err != nil {
			return err
		}
	}
	return lc.keep(newest.c)
}

// consistent checks that older is a prefix of newer, with a proof from
// host. A host that cannot prove it has a log that shrank below newer
// (kept from a run before) or forked.
func (lc *logCheck) consistent(ctx context.Context, s *signer, older, newer translog.Checkpoint, host string) error {
	var p translog.Consistency
	if older.Size > 0 && older.Size < newer.Size {
		b, err := s.askLog(ctx, host, "log", "consistency",
			strconv.FormatInt(older.Size, 10), strconv.FormatInt(newer.Size, 10))
		if err != nil {
			return fmt.Errorf("check log: %w: it shrank; had %s, now %s (log consistency %d %d: %v)",
				translog.ErrInconsistent, newer, older, older.Size, newer.Size, err)
		}
		if p, err = translog.ParseConsistency(b); err != nil {
			return fmt.Errorf("check log: %v", err)
		}
	}
	if err := translog.CheckConsistency(older, newer, p); err != nil {
		return fmt.Errorf("check log: %w", err)
	}
	return nil
}

// keptPath is where the checkpoint of the log is kept between runs: one
// file per origin.
func (lc *logCheck) keptPath() string {
	return filepath.Join(lc.state, url.PathEscape(lc.v.Name())+".checkpoint")
}

// load reads the kept checkpoint, which must be signed by the log key.
func (lc *logCheck) load() (translog.Checkpoint, bool, error) {
	if lc.state == "" {
		return translog.Checkpoint{}, false, nil
	}
	b, err := os.ReadFile(lc.keptPath())
	if errors.Is(err, os.ErrNotExist) {
		return translog.Checkpoint{}, false, nil
	}
	if err != nil {
		return translog.Checkpoint{}, false, fmt.Errorf("check log: %v", err)
	}
	c, err := translog.ParseCheckpoint(b, lc.v)
	if err != nil {
		return translog.Checkpoint{}, false, fmt.Errorf("check log: kept checkpoint %s: %v", lc.keptPath(), err)
	}
	return c, true, nil
}

// keep stores c for the next run.
func (lc *logCheck) keep(c translog.Checkpoint) error {
	if lc.state == "" {
		return nil
	}
	if err := os.MkdirAll(lc.state, 0o700); err != nil {
		return fmt.Errorf("check log: keep checkpoint: %v", err)
	}
	if err := WriteAtomic(lc.keptPath(), c.Note); err != nil {
		return fmt.Errorf("check log: keep checkpoint: %v", err)
	}
	return nil
}
