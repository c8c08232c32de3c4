package config

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"

	"github.com/pelletier/go-toml/v2"
)

// The two settings 'signstar host apply' (package host) owns in a config:
// each key's allow list and the default action. Like [Config.SetX509] they
// edit only their line, refuse an edit that would change anything else,
// and replace the file atomically, so the admin's comments and layout stay.

// SetAllow sets key name's allow list (allow = [...] in its [keys.NAME]
// table); an empty list removes the line: any authorized SSH key may use
// the key.
func (c *Config) SetAllow(name string, allow []string) error {
	k, ok := c.Keys[name]
	if !ok {
		return unknownKey(name)
	}
	if len(allow) == 0 {
		allow = nil // as a file without the line parses
	}
	nk := *k
	nk.Allow = allow
	if err := nk.validate(name); err != nil {
		return err
	}
	var line []byte
	if len(allow) > 0 {
		var err error
		if line, err = tomlLine("allow", allow); err != nil {
			return err
		}
	}
	return c.edit("set the allow list of key "+name+" in "+c.path, "", func(doc []byte) ([]byte, error) {
		return editKeyLine(doc, name, allowKey, line)
	}, func(want *Config) { want.Keys[name].Allow = allow })
}

var allowKey = regexp.MustCompile(`^(allow|"allow"|'allow')\s*=`)

// SetDefaultAction sets remote.default-action: "sign" or "request".
func (c *Config) SetDefaultAction(action string) error {
	if action != "sign" && action != "request" {
		return fmt.Errorf("default-action %q: want sign or request", action)
	}
	line, err := tomlLine("default-action", action)
	if err != nil {
		return err
	}
	return c.edit("set remote.default-action in "+c.path, "", func(doc []byte) ([]byte, error) {
		return editRemoteLine(doc, line), nil
	}, func(want *Config) { want.Remote.DefaultAction = action })
}

func tomlLine(key string, v any) ([]byte, error) {
	b, err := toml.Marshal(map[string]any{key: v})
	if err != nil {
		return nil, fmt.Errorf("BUG: encode %s: %v", key, err)
	}
	return bytes.TrimSuffix(b, []byte("\n")), nil
}

var (
	remoteHeader  = regexp.MustCompile(`^\s*\[\s*("remote"|'remote'|remote)\s*\]\s*(#.*)?$`)
	defaultAction = regexp.MustCompile(`^("default-action"|'default-action'|default-action)\s*=`)
)

// editRemoteLine replaces the default-action line of the [remote] table,
// adds it after the table's header, or appends a [remote] table holding it.
func editRemoteLine(doc, line []byte) []byte {
	lines := bytes.SplitAfter(doc, []byte("\n"))
	start := slices.IndexFunc(lines, func(l []byte) bool { return remoteHeader.Match(bytes.TrimRight(l, "\r\n")) })
	if start < 0 {
		var b bytes.Buffer
		b.Write(doc)
		if len(doc) > 0 && !bytes.HasSuffix(doc, []byte("\n")) {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "\n[remote]\n%s\n", line)
		return b.Bytes()
	}
	for i := start + 1; i < len(lines) && !bytes.HasPrefix(bytes.TrimSpace(lines[i]), []byte("[")); i++ {
		if defaultAction.Match(bytes.TrimSpace(lines[i])) {
			lines[i] = append(bytes.Clone(line), '\n')
			return bytes.Join(lines, nil)
		}
	}
	if !bytes.HasSuffix(lines[start], []byte("\n")) {
		lines[start] = append(bytes.Clone(lines[start]), '\n')
	}
	return bytes.Join(slices.Insert(lines, start+1, append(bytes.Clone(line), '\n')), nil)
}
