package config

import (
	"errors"
	"fmt"
	"path/filepath"

	"signstar/pkg/keyname"
)

// DefaultLogDir is where the transparency log lives when [log] names no
// dir: state a package manager does not own (FHS 3.0 section 5.8).
const DefaultLogDir = "/var/lib/signstar/log"

// Log is the transparency log (issue 18, package translog): one leaf per
// released signature, checkpoints signed by a token key. Without a key
// there is no log.
type Log struct {
	// Key names the log key in [keys]: an Ed25519 token key ('signstar key
	// generate --type ed25519'), never a file, since a key in a file can
	// sign a rewritten log anywhere it is copied.
	Key string `toml:"key,omitempty"`
	// Dir holds the tiles and the checkpoint (tlog-tiles layout); the
	// only path the login shell may write after its lockdown besides the
	// audit file. Default [DefaultLogDir].
	Dir string `toml:"dir,omitempty"`
	// Origin is the checkpoint's first line and the log key's name in the
	// signed-note format; default "HOST/ACCOUNT" (see [Log.OriginFor]).
	Origin string `toml:"origin,omitempty"`
}

// Enabled reports whether the config keeps a transparency log.
func (l Log) Enabled() bool { return l.Key != "" }

// LogDir is the log's directory, the default if the config names none.
func (l Log) LogDir() string {
	if l.Dir == "" {
		return DefaultLogDir
	}
	return l.Dir
}

// OriginFor is the log's origin: the configured one, or host/account.
// Accounts that share one log directory must share an origin, so they
// set it.
func (l Log) OriginFor(host, account string) string {
	if l.Origin != "" {
		return l.Origin
	}
	return host + "/" + account
}

// validate checks the [log] section against the keys it may name.
func (l Log) validate(keys map[string]*Key) error {
	if l.Key == "" {
		if l.Dir != "" || l.Origin != "" {
			return errors.New("log: key is required (an ed25519 token key from [keys], made with 'signstar key generate --type ed25519')")
		}
		return nil
	}
	if !keyname.Valid(l.Key) {
		return fmt.Errorf("log: key %q: name a key from [keys], not a file: the log key is held by the token", l.Key)
	}
	k, ok := keys[l.Key]
	switch {
	case !ok:
		return fmt.Errorf("log: key %q is not configured in [keys] (make it with 'signstar key generate --type ed25519 %s')", l.Key, l.Key)
	case k.Type != "ed25519":
		return fmt.Errorf("log: key %q is %s: checkpoints are signed with ed25519 (signed-note format)", l.Key, k.Type)
	case k.Default:
		return fmt.Errorf("log: key %q is the default signing key: the log key signs checkpoints only", l.Key)
	}
	if l.Dir != "" && (!filepath.IsAbs(l.Dir) || filepath.Clean(l.Dir) != l.Dir || l.Dir == "/") {
		return fmt.Errorf("log: dir %q: want an absolute, clean path below /", l.Dir)
	}
	return checkOrigin(l.Origin)
}

// checkOrigin refuses an origin the signed-note format cannot carry as a
// key name: it must be non-empty and hold no space or '+' (C2SP
// signed-note, "Signatures"; golang.org/x/mod/sumdb/note isValidName);
// signstar allows printable ASCII only, as a checkpoint line is read by
// people too.
func checkOrigin(o string) error {
	if len(o) > 256 {
		return fmt.Errorf("log: origin longer than 256 bytes")
	}
	for i := 0; i < len(o); i++ {
		if c := o[i]; c <= 0x20 || c > 0x7e || c == '+' {
			return fmt.Errorf("log: origin %q: printable ASCII without space or '+' only (it names the log key in the signed-note format)", o)
		}
	}
	return nil
}
