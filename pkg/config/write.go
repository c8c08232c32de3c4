package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"signstar/internal/filesys"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

const header = `# signstar configuration: see signstar(1) for every key.
# Keys below are added by 'signstar key generate'.

`

// Where a system keeps its configs, and the runtime directory that
// sshd/signstar.tmpfiles makes for the signing account (mode 0700).
const (
	SystemDir  = "/etc/signstar"
	RuntimeDir = "/run/signstar"
)

// DefaultLockFile is the token.lock-file value 'signstar init' writes into
// a new config at path, for a module that needs a lock file: NAME.lock,
// where NAME is the config's file name without its extension. For a
// config in [SystemDir] it is in [RuntimeDir]: /etc is no place for state
// the signing account writes, and only root and the account can enter
// RuntimeDir, so nobody else can take the lock and hold up signing.
// Elsewhere it is beside the config (a relative path, resolved against the
// config's directory).
func DefaultLockFile(path string) string {
	dir, base := filepath.Split(filepath.Clean(path))
	name := strings.TrimSuffix(base, filepath.Ext(base)) + ".lock"
	if name == base { // a config named x.lock
		name += ".lock"
	}
	if filepath.Clean(dir) == SystemDir {
		return filepath.Join(RuntimeDir, name)
	}
	return name
}

// Create writes a new config file holding the token and audit sections. It
// never overwrites an existing file.
func Create(path string, t Token, a Audit) error {
	body, err := toml.Marshal(struct {
		Token Token `toml:"token"`
		Audit Audit `toml:"audit,omitempty"`
	}{t, a})
	if err != nil {
		return fmt.Errorf("BUG: encode config: %v", err)
	}
	data := append([]byte(header), body...)
	if _, err := Parse(data); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if os.IsExist(err) {
		return fmt.Errorf("create config: %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("create config: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return f.Close()
}

// AddKey appends a [keys.NAME] table to the config file. Appending keeps the
// admin's comments and layout; the file is replaced atomically so a crash
// never leaves half a config behind.
func (c *Config) AddKey(name string, k *Key) error {
	if _, ok := c.Keys[name]; ok {
		return fmt.Errorf("key %q already exists in %s", name, c.path)
	}
	if err := k.validate(name); err != nil {
		return err
	}
	old, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	data, err := appendKey(old, name, k)
	if err != nil {
		return err
	}
	if _, err := Parse(data); err != nil {
		return fmt.Errorf("BUG: config after adding key %q does not parse: %v", name, err)
	}
	if err := replaceFile(c.path, data); err != nil {
		return err
	}
	if c.Keys == nil {
		c.Keys = map[string]*Key{}
	}
	c.Keys[name] = k
	return nil
}

func appendKey(old []byte, name string, k *Key) ([]byte, error) {
	body, err := toml.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("BUG: encode key: %v", err)
	}
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteByte('\n')
	}
	// name is in package keyname's alphabet, so it is a valid bare TOML key.
	fmt.Fprintf(&b, "\n[keys.%s]\n", name)
	b.Write(body)
	return b.Bytes(), nil
}

// replaceFile writes the config atomically, keeping its mode.
func replaceFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err == nil {
		err = filesys.WriteAtomic(path, data, fi.Mode().Perm())
	}
	if err != nil {
		return fmt.Errorf("update config: %w", err)
	}
	return nil
}

// edit is the one way a config file is changed in place (key rotate,
// delete and x509, host apply): change rewrites only its own lines, so the
// admin's comments and layout stay; the result must parse to the config
// before it with set applied, and to nothing else (a layout change
// misread, an inline table), or the file is left alone; then it replaces
// the file atomically and applies set to c. what names the edit and the
// file in an error; hint, if any, says how to make it by hand.
func (c *Config) edit(what, hint string, change func([]byte) ([]byte, error), set func(*Config)) error {
	old, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	data, err := change(old)
	if err == nil {
		err = sameAfter(old, data, set)
	}
	if err != nil && hint != "" {
		return fmt.Errorf("%s: %v; %s", what, err, hint)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	if err := replaceFile(c.path, data); err != nil {
		return err
	}
	set(c)
	return nil
}

// sameAfter checks that after parses to before with set applied.
func sameAfter(before, after []byte, set func(*Config)) error {
	want, err := Parse(before)
	if err != nil {
		return err
	}
	set(want)
	got, err := Parse(after)
	if err != nil {
		return fmt.Errorf("the edited file does not parse: %v", err)
	}
	if len(want.Keys) == 0 && got.Keys == nil {
		got.Keys = want.Keys // the last key removed: no [keys] table at all
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("the edit would change more than that")
	}
	return nil
}
