package config

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
)

// SetDefault makes key name the default key (default = true in its
// [keys.NAME] table) and takes the mark off every other key, for 'signstar
// key rotate'. Like [Config.SetX509] it edits only those lines, refuses an
// edit that would change anything else, and replaces the file atomically.
func (c *Config) SetDefault(name string) error {
	if _, ok := c.Keys[name]; !ok {
		return unknownKey(name)
	}
	return c.edit(fmt.Sprintf("make key %q the default in %s", name, c.path),
		fmt.Sprintf("set default = true in [keys.%s] (and remove it elsewhere) by hand", name),
		func(doc []byte) ([]byte, error) { return setDefaultLines(doc, c.Keys, name) },
		func(want *Config) {
			for n, k := range want.Keys {
				k.Default = n == name
			}
		})
}

var defaultKey = regexp.MustCompile(`^(default|"default"|'default')\s*=`)

func setDefaultLines(doc []byte, keys map[string]*Key, name string) ([]byte, error) {
	var err error
	for n, k := range keys {
		if k.Default && n != name {
			if doc, err = editKeyLine(doc, n, defaultKey, nil); err != nil {
				return nil, err
			}
		}
	}
	return editKeyLine(doc, name, defaultKey, []byte("default = true"))
}

// editKeyLine replaces the line of table [keys.NAME] in doc that re
// matches with line, adds line after the table's last line if none does,
// or, for a nil line, removes the line re matches.
func editKeyLine(doc []byte, name string, re *regexp.Regexp, line []byte) ([]byte, error) {
	lines := bytes.SplitAfter(doc, []byte("\n"))
	q := regexp.QuoteMeta(name)
	header := regexp.MustCompile(`^\s*\[\s*keys\s*\.\s*("` + q + `"|'` + q + `'|` + q + `)\s*\]\s*(#.*)?$`)
	start := slices.IndexFunc(lines, func(l []byte) bool { return header.Match(bytes.TrimRight(l, "\r\n")) })
	if start < 0 {
		return nil, fmt.Errorf("no [keys.%s] table", name)
	}
	last := start // the table's last non-blank line
	for i := start + 1; i < len(lines); i++ {
		t := bytes.TrimSpace(lines[i])
		if bytes.HasPrefix(t, []byte("[")) {
			break
		}
		if re.Match(t) {
			if line == nil {
				return bytes.Join(slices.Delete(lines, i, i+1), nil), nil
			}
			lines[i] = append(bytes.Clone(line), '\n')
			return bytes.Join(lines, nil), nil
		}
		if len(t) > 0 {
			last = i
		}
	}
	if line == nil {
		return doc, nil
	}
	if !bytes.HasSuffix(lines[last], []byte("\n")) {
		lines[last] = append(bytes.Clone(lines[last]), '\n')
	}
	return bytes.Join(slices.Insert(lines, last+1, append(bytes.Clone(line), '\n')), nil), nil
}
