package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// validateX509 checks the key's x509 field: a clean path (resolved
// against the config's directory like cert), other than the OpenPGP
// certificate's, which it would overwrite.
func (k *Key) validateX509(name string) error {
	switch {
	case k.X509 == "":
		return nil
	case strings.ContainsRune(k.X509, 0) || filepath.Clean(k.X509) != k.X509:
		return fmt.Errorf("keys.%s: x509 %q: want a clean path (certs/%s.pem)", name, k.X509, name)
	case filepath.Clean(k.X509) == filepath.Clean(k.Cert):
		return fmt.Errorf("keys.%s: x509 %q is the OpenPGP certificate's file", name, k.X509)
	}
	return nil
}

// SetX509 records path as key name's X.509 certificate file, x509 =
// 'path' in its [keys.NAME] table. It edits that one line of the file,
// so the admin's comments and layout stay, and replaces the file
// atomically as [Config.AddKey] does. An edit that would change anything
// else (a table it cannot find, a layout it misreads) is refused, never
// written.
func (c *Config) SetX509(name, path string) error {
	k, ok := c.Keys[name]
	if !ok {
		return unknownKey(name)
	}
	nk := *k
	nk.X509 = path
	if err := nk.validate(name); err != nil {
		return err
	}
	old, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	data, err := setX509Line(old, name, path)
	if err == nil {
		err = sameBut(old, data, name, path)
	}
	if err != nil {
		return fmt.Errorf("set x509 of key %q in %s: %v; add x509 = %q to [keys.%s] by hand", name, c.path, err, path, name)
	}
	if err := replaceFile(c.path, data); err != nil {
		return err
	}
	k.X509 = path
	return nil
}

// setX509Line replaces the x509 line of table [keys.NAME] in doc, or adds
// one after the table's last line.
func setX509Line(doc []byte, name, path string) ([]byte, error) {
	line, err := toml.Marshal(struct {
		X509 string `toml:"x509"`
	}{path})
	if err != nil {
		return nil, fmt.Errorf("BUG: encode x509: %v", err)
	}
	return editKeyLine(doc, name, x509Key, bytes.TrimSuffix(line, []byte("\n")))
}

var x509Key = regexp.MustCompile(`^(x509|"x509"|'x509')\s*=`)

// sameBut checks that doc after the edit parses to doc before it with
// key name's x509 set to path, and to nothing else.
func sameBut(before, after []byte, name, path string) error {
	want, err := Parse(before)
	if err != nil {
		return err
	}
	want.Keys[name].X509 = path
	got, err := Parse(after)
	if err != nil {
		return fmt.Errorf("the edited file does not parse: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("the edit would change more than x509")
	}
	return nil
}
