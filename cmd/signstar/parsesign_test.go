package main

import (
	"reflect"
	"testing"
)

// TestParseSign: the sign-only model fills cli as the full one does, and
// leaves help, bad flags and other commands to the full one.
func TestParseSign(t *testing.T) {
	t.Setenv("SIGNSTAR_CONFIG", "/etc/signstar/env.toml")
	for _, args := range [][]string{
		{"sign"},
		{"sign", "--key", "a", "--key", "b", "--armor"},
		{"sign", "--config", "/tmp/c.toml", "--clearsign"},
		{"sign", "--format", "kmod", "--keyid", "--key", "x"},
		{"sign", "--format=authenticode", "--append"},
	} {
		var fast, full cli
		if _, ok := parseSign(&fast, args); !ok {
			t.Errorf("parseSign(%q) left it to the full model", args)
			continue
		}
		parser, err := newParser(&full)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parser.Parse(args); err != nil {
			t.Fatalf("full model: %q: %v", args, err)
		}
		if fast.Config != full.Config || !reflect.DeepEqual(fast.Sign, full.Sign) {
			t.Errorf("%q: sign-only model gave config %q, %+v; the full one %q, %+v", args, fast.Config, fast.Sign, full.Config, full.Sign)
		}
	}
	for _, args := range [][]string{
		{"sign", "--help"},
		{"sign", "-h"},
		{"sign", "--bogus"},
		{"sign", "--format", "nope"},
		{"sign", "--version"},
		{"key", "list"},
		{"--config", "/tmp/c.toml", "sign"},
		{},
	} {
		var c cli
		if _, ok := parseSign(&c, args); ok {
			t.Errorf("parseSign(%q) parsed it; want it left to the full model", args)
		}
	}
}
