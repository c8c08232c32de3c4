//go:build linux && cgo

package main

// The audit record of a key lifecycle command (key generate, adopt,
// import, extend, revoke, rotate, delete, x509): every such command opens
// the trail first (openKeyAudit), before it changes anything, and calls
// record once, with its error, after it did (or failed to do) its work and
// before it prints what it did. A refused or failed command is recorded
// too, so the trail shows attempts as well as changes.

import (
	"fmt"

	"signstar/pkg/audit"
)

// keyEvent is what a key lifecycle command did, for its audit record(s).
type keyEvent struct {
	Event audit.Event
	// Keys are the keys acted on, in the order the command names them
	// (rotate: OLD, then NEW). Each gets one record, all with one request
	// id, so that a search of the trail by key or fingerprint finds the
	// events of that key. A fingerprint may be empty only for a command
	// that failed before the key was known.
	Keys []keyRef
	// Detail says in a few words what changed: "ed25519, expires
	// 2028-01-31", "reason retired", "from old to new".
	Detail string
}

// keyRef names a key in a lifecycle record.
type keyRef struct {
	Name        string
	Fingerprint string // OpenPGP fingerprint, hex, as pgp.Certificate.Fingerprint
}

// keyAudit is the audit trail of one key lifecycle command, opened
// before the command changes anything: a host whose trail cannot be
// written changes no key.
type keyAudit struct{ sink audit.Sink }

// openKeyAudit opens the sink the config names, or journald if the config
// cannot be read (the command will fail on it, and that is recorded too);
// if even that fails, the config's error is the one worth reporting.
func openKeyAudit(g *cli) (*keyAudit, error) {
	spec := ""
	cfg, cfgErr := loadConfig(g.Config, cliTrust())
	if cfgErr == nil {
		spec = cfg.Audit.Sink
	}
	sink, err := audit.Open(spec, false)
	switch {
	case err != nil && cfgErr != nil:
		return nil, fmt.Errorf("%w (not recorded: %v)", cfgErr, err)
	case err != nil:
		return nil, fmt.Errorf("open audit trail: %w; refusing to change keys without one", err)
	}
	return &keyAudit{sink: sink}, nil
}

// record writes the record(s) of a key lifecycle command that ended with
// err (nil: it did its work), once, before the command prints what it
// did, and closes the trail. It returns what the command returns: err,
// kept whole for the exit status and hint, with "(not recorded: ...)" if
// the record could not be written; or, for a change that could not be
// recorded, an error saying so (exit 1).
func (a *keyAudit) record(ev keyEvent, err error) error {
	defer a.sink.Close()
	werr := a.write(ev, err)
	switch {
	case werr == nil:
		return err
	case err != nil:
		return fmt.Errorf("%w (not recorded: %v)", err, werr)
	}
	return fmt.Errorf("write audit record: %v; key %s was done but is not recorded", werr, ev.Event)
}

// recorded opens the audit trail, then runs run, which fills in ev, and
// records ev with run's outcome: a key command with no trail changes
// nothing.
func recorded(g *cli, ev keyEvent, run func(*keyEvent) error) error {
	a, err := openKeyAudit(g)
	if err != nil {
		return err
	}
	err = run(&ev) // before ev is passed on: run fills it in
	return a.record(ev, err)
}

// write writes one record per key of ev, all with one request id.
func (a *keyAudit) write(ev keyEvent, err error) error {
	rec := audit.Record{RequestID: audit.NewRequestID(), Mode: audit.CLI, User: currentUser(),
		Result: audit.Changed, Event: ev.Event, Detail: ev.Detail}
	if err != nil {
		rec.Result, rec.Error = audit.ResultOf(err), err.Error()
	}
	keys := ev.Keys
	if len(keys) == 0 {
		keys = []keyRef{{}} // refused before any key was named
	}
	for _, k := range keys {
		r := rec
		r.Key, r.KeyFingerprint = k.Name, k.Fingerprint
		if err := a.sink.Write(&r); err != nil {
			return err
		}
	}
	return nil
}

// keyDetail is a new key's detail in its record: `ed25519, user ID
// "Repo <repo@example.org>", expires 2y`, the expiry as the admin gave it.
func keyDetail(typ, uid, expires string) string {
	d := fmt.Sprintf("%s, user ID %q", typ, uid)
	if expires != "" {
		d += ", expires " + expires
	}
	return d
}
