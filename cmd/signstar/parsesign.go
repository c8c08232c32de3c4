//go:build linux && cgo

package main

import (
	"reflect"
	"slices"

	"github.com/alecthomas/kong"
)

// parseSign parses 'signstar sign ...' with a model of that command alone.
// kong builds its model by reflection over every command and struct tag
// on each start: a tenth of the CPU of a 'signstar sign' at the command
// line went to models of commands it did not run (perf, issue 17). The
// model here is made of cli's own fields, the global --config and the
// sign command, with their tags, so it cannot drift from the full one.
// Help and anything it cannot parse go to the full model (ok false), so
// usage and its errors read as ever.
func parseSign(c *cli, args []string) (ctx *kong.Context, ok bool) {
	if len(args) == 0 || args[0] != "sign" || slices.ContainsFunc(args, isHelpFlag) {
		return nil, false
	}
	t := reflect.TypeOf(c.AdminCLI)
	config, _ := t.FieldByName("Config")
	sign, _ := t.FieldByName("Sign")
	grammar := reflect.New(reflect.StructOf([]reflect.StructField{config, sign}))
	parser, err := newGrammar(grammar.Interface())
	if err != nil {
		return nil, false
	}
	ctx, err = parser.Parse(args)
	if err != nil {
		return nil, false
	}
	c.Config = grammar.Elem().Field(0).String()
	c.Sign = grammar.Elem().Field(1).Interface().(signCmd)
	return ctx, true
}

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "--help" }
