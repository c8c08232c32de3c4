package config

import (
	"bytes"
	"fmt"
	"path/filepath"
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
	return c.edit(fmt.Sprintf("set x509 of key %q in %s", name, c.path),
		fmt.Sprintf("add x509 = %q to [keys.%s] by hand", path, name),
		func(doc []byte) ([]byte, error) { return setX509Line(doc, name, path) },
		func(want *Config) { want.Keys[name].X509 = path })
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
