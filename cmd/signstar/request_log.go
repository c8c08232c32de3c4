package main

// signstar request --log-key: the client's check of the hosts'
// transparency log (issue 18, pkg/client/translog.go), in both builds.

import (
	"os"
	"path/filepath"

	"signstar/pkg/client"
	"signstar/pkg/refusal"
	"signstar/pkg/translog"
)

// logOptions sets o's log check from --log-key: its verifier key, and
// the directory keeping the last checkpoint seen of each log,
// $XDG_STATE_HOME/signstar (default ~/.local/state/signstar, XDG Base
// Directory Specification 0.8: "state data that should persist between
// (application) restarts").
func (c *requestCmd) logOptions(o *client.Options) error {
	if c.LogKey == "" {
		return nil
	}
	if c.Format != "" {
		return refusal.Errorf("--log-key checks OpenPGP signatures; --format %s is not checked yet", c.Format)
	}
	v, err := translog.ParseVerifier(c.LogKey)
	if err != nil {
		return err
	}
	o.LogKey, o.LogState = v, stateDir()
	return nil
}

func stateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "signstar")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "" // keep no checkpoint rather than one in the working directory
	}
	return filepath.Join(home, ".local", "state", "signstar")
}
