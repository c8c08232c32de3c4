//go:build linux && cgo

package main

// The admin side of the transparency log (issue 18, package translog):
// the verifier key to hand to clients, the end-to-end check of a copied
// log directory, and the entries for the admin to read.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/translog"
)

type logCmd struct {
	Verifier   logVerifierCmd   `cmd:"" help:"Print the log key's verifier key (NAME+HASH+KEY, the signed-note format) for 'request --log-key' and 'log verify --log-key'."`
	Checkpoint logCheckpointCmd `cmd:"" help:"Sign a checkpoint of the log's latest tree if none covers it yet, and print it (run it before publishing the directory)."`
	Verify     logVerifyCmd     `cmd:"" help:"Check a copy of a log directory end to end: the checkpoint's signature, and every entry against it."`
	Show       logShowCmd       `cmd:"" help:"Print the log's entries, one a line."`
}

type logVerifierCmd struct{}

// Run prints the verifier key of the configured log key: the token's
// public key, named by the log's origin.
func (c *logVerifierCmd) Run(g *cli) error {
	kr, lk, err := openLogKey(g)
	if err != nil {
		return err
	}
	defer kr.Close()
	vkey, err := translog.VerifierKey(lk.origin, lk.key.Public())
	if err != nil {
		return err
	}
	fmt.Println(vkey)
	return nil
}

type logCheckpointCmd struct{}

// Run signs a checkpoint of the log's latest tree, unless the stored one
// already covers it, and prints it. Signing paths append without the log
// key, and the log key signs only when a client asks (log checkpoint, log
// proof), so a job that publishes the directory runs this first: the copy
// then carries a checkpoint of every entry in it.
func (c *logCheckpointCmd) Run(g *cli) error {
	kr, lk, err := openLogKey(g)
	if err != nil {
		return err
	}
	defer kr.Close()
	l, err := openLog(lk.cfg)
	if err != nil {
		return err
	}
	s, err := translog.NewSigner(lk.origin, lk.key.Signer())
	if err != nil {
		return err
	}
	cp, err := l.Checkpoint(s)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(cp.Note)
	return err
}

// logKey is the configured log key on the open token, and the origin its
// checkpoints and verifier key are named by.
type logKey struct {
	cfg    *config.Config
	key    *keyring.Key
	origin string
}

// openLogKey opens the token and the config's log key. The origin is the
// config's, or the host name and the account running this: run it as
// the signing account, or set [log] origin (config.Log.OriginFor).
func openLogKey(g *cli) (*keyring.Keyring, logKey, error) {
	kr, cfg, err := openKeyring(g)
	if err != nil {
		return nil, logKey{}, err
	}
	lk := logKey{cfg: cfg}
	if !cfg.Log.Enabled() {
		err = errors.New("the config keeps no transparency log: set [log] key")
	}
	if err == nil {
		lk.key, err = kr.Key(cfg.Log.Key)
	}
	if err == nil {
		lk.origin, err = logOrigin(cfg, currentUser())
	}
	if err != nil {
		kr.Close()
		return nil, logKey{}, err
	}
	return kr, lk, nil
}

type logVerifyCmd struct {
	LogKey     string   `help:"The log's verifier key (NAME+HASH+KEY, as 'signstar log verifier' prints it), or a file holding it." required:"" placeholder:"KEY"`
	Checkpoint []string `help:"A checkpoint of this log seen before (a client's, a previous copy's); the log must extend it. Repeatable." type:"existingfile" placeholder:"FILE"`
	Dir        string   `arg:"" help:"The copied log directory (checkpoint, tile/...)." type:"existingdir"`
}

// Run checks the directory and prints what it vouched for; the first bad
// entry, a checkpoint that does not open or one the log does not extend
// is an error (exit 1).
func (c *logVerifyCmd) Run(*cli) error {
	v, err := translog.ParseVerifier(c.LogKey)
	if err != nil {
		return err
	}
	var known []translog.Checkpoint
	for _, f := range c.Checkpoint {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		k, err := translog.ParseCheckpoint(b, v)
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		known = append(known, k)
	}
	cp, err := translog.Verify(translog.OpenDir(c.Dir), v, known...)
	if err != nil {
		return fmt.Errorf("verify log %s: %w", c.Dir, err)
	}
	fmt.Printf("verified %d entries: %s\n", cp.Size, cp)
	return nil
}

type logShowCmd struct {
	Since string `help:"Only entries signed at or after TIME (RFC 3339, or a date YYYY-MM-DD, UTC)." placeholder:"TIME"`
	Key   string `help:"Only signatures by this configured key." placeholder:"NAME"`
}

// Run prints the entries of the log as last appended (signed into a
// checkpoint or not yet), each checked against the tree first.
func (c *logShowCmd) Run(g *cli) error {
	since, err := parseSince(c.Since)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(g.Config, cliTrust())
	if err != nil {
		return err
	}
	if !cfg.Log.Enabled() {
		return errors.New("the config keeps no transparency log: set [log] key")
	}
	fpr, err := keyFingerprint(g, cfg, c.Key)
	if err != nil {
		return err
	}
	// Open would make a missing directory; showing makes nothing.
	if _, err := os.Stat(cfg.Log.LogDir()); err != nil {
		return fmt.Errorf("read log: %w", err)
	}
	l, err := translog.Open(cfg.Log.LogDir())
	if err != nil {
		return err
	}
	t, err := l.Tree()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "INDEX\tTIME\tACCOUNT\tSSH KEY\tKEY\tFORMAT\tSIZE\tDIGEST")
	err = l.Dir().Walk(t, 0, func(i int64, e translog.Entry) error {
		if e.Time.Before(since) || fpr != "" && !strings.EqualFold(e.Key, fpr) {
			return nil
		}
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i, e.Time.Format(time.RFC3339),
			e.Account, e.SSHKey, e.Key, e.Format, sizeText(e.Size), digestText(e))
		return err
	})
	if err != nil {
		return err // nothing printed: tabwriter holds every line until Flush
	}
	return w.Flush()
}

// parseSince reads --since: RFC 3339, or a date meaning its midnight UTC.
func parseSince(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want RFC 3339 (2026-11-29T19:00:00Z) or a date (2026-11-29)", s)
}

// keyFingerprint is the fingerprint of the configured key name, as the
// log records it (its OpenPGP certificate's); "" for no name.
func keyFingerprint(g *cli, cfg *config.Config, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	if _, ok := cfg.Keys[name]; !ok {
		return "", fmt.Errorf("--key %q: no such key in the config", name)
	}
	kr, _, err := openKeyring(g)
	if err != nil {
		return "", err
	}
	defer kr.Close()
	k, err := kr.Key(name)
	if err != nil {
		return "", err
	}
	return k.Cert.Fingerprint(), nil
}

func sizeText(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// digestText is the digest as the entry spells it, shortened for a line.
func digestText(e translog.Entry) string {
	return fmt.Sprintf("%s:%x...", strings.ToLower(strings.ReplaceAll(e.DigestHash.String(), "-", "")), e.Digest[:8])
}
