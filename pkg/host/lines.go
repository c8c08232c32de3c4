package host

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// lines maps a key's dotted path ("accounts.signer.home"; an array's
// elements as "...from.0") to the line it is on, so that errors found
// after decoding can name their line as tomlconf's do.
type lines map[string]int

// of returns the line of path, or of the nearest enclosing key that has
// one (an inline table's keys share their table's), or 0.
func (l lines) of(path []string) int {
	for n := len(path); n > 0; n-- {
		if line, ok := l[strings.Join(path[:n], ".")]; ok {
			return line
		}
	}
	return 0
}

// keyLines walks the document's expressions (go-toml's parser, which
// tomlconf.Decode has already accepted the document through).
func keyLines(data []byte) (lines, error) {
	l := lines{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyOf(e.Key())
			l.add(&p, table, e.Child())
		case unstable.KeyValue:
			path := append(table[:len(table):len(table)], keyOf(e.Key())...)
			l.add(&p, path, e.Value().Next())
			if v := e.Value(); v.Kind == unstable.Array {
				i := 0
				for it := v.Children(); it.Next(); i++ {
					l.add(&p, append(path[:len(path):len(path)], strconv.Itoa(i)), it.Node())
				}
			}
		}
	}
	return l, p.Error()
}

func keyOf(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// add records the line n starts on, if n points into the document.
func (l lines) add(p *unstable.Parser, path []string, n *unstable.Node) {
	if n == nil || n.Raw.Length == 0 {
		return
	}
	l[strings.Join(path, ".")] = p.Shape(n.Raw).Start.Line
}
