package config

import (
	"bytes"
	"fmt"
	"regexp"
)

// RemoveKey takes key name out of the config file, for 'signstar key
// delete': its [keys.NAME] table and any [keys.NAME.x] or [[keys.NAME.x]]
// table under it, with the comment lines right above the header (no blank
// line between) and the blank lines after the table. Like [Config.SetX509]
// it edits only those lines, so the admin's other comments and layout
// stay, refuses an edit that would change anything but this key (a key
// written as an inline table, a layout it misreads), and replaces the file
// atomically.
func (c *Config) RemoveKey(name string) error {
	if _, ok := c.Keys[name]; !ok {
		return unknownKey(name)
	}
	return c.edit(fmt.Sprintf("remove key %q from %s", name, c.path),
		fmt.Sprintf("remove its [keys.%s] table by hand", name),
		func(doc []byte) ([]byte, error) { return removeKeyTables(doc, name) },
		func(want *Config) { delete(want.Keys, name) })
}

// tableHeader matches a table or array-of-tables header line and captures
// its dotted key.
var tableHeader = regexp.MustCompile(`^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$`)

// keyTableHeader reports whether line is the header of table keys.NAME or
// of a table under it.
func keyTableHeader(name string) *regexp.Regexp {
	q := regexp.QuoteMeta(name)
	return regexp.MustCompile(`^keys\s*\.\s*("` + q + `"|'` + q + `'|` + q + `)\s*(\..*)?$`)
}

// removeKeyTables cuts key name's tables out of doc.
func removeKeyTables(doc []byte, name string) ([]byte, error) {
	lines := bytes.SplitAfter(doc, []byte("\n"))
	mine := keyTableHeader(name)
	var out [][]byte
	found, atEnd := false, false
	for i := 0; i < len(lines); {
		m := tableHeader.FindSubmatch(bytes.TrimRight(lines[i], "\r\n"))
		if m == nil || !mine.Match(m[1]) {
			out = append(out, lines[i])
			i++
			continue
		}
		found = true
		// The comment lines right above the header are the table's.
		for len(out) > 0 && isComment(out[len(out)-1]) {
			out = out[:len(out)-1]
		}
		i = tableEnd(lines, i)
		atEnd = i == len(lines)
	}
	if !found {
		return nil, fmt.Errorf("no [keys.%s] table", name)
	}
	// A table cut from the end leaves no blank lines behind it.
	for atEnd && len(out) > 0 && len(bytes.TrimSpace(out[len(out)-1])) == 0 {
		out = out[:len(out)-1]
	}
	return bytes.Join(out, nil), nil
}

// tableEnd is the index of the first line after the table whose header is
// lines[start]: the next header, or the comment lines right above it,
// which are the next table's.
func tableEnd(lines [][]byte, start int) int {
	end := start + 1
	for end < len(lines) && !tableHeader.Match(bytes.TrimRight(lines[end], "\r\n")) {
		end++
	}
	if end == len(lines) {
		return end
	}
	for end-1 > start && isComment(lines[end-1]) {
		end--
	}
	return end
}

func isComment(line []byte) bool { return bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) }
