package config

import (
	"os"
	"path/filepath"
	"testing"

	"signstar/pkg/keyname"
)

// FuzzParse checks that any document Parse accepts is one signstar can act
// on: a token selector, a PIN file and keys whose fields all decode.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.toml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned a config with an error")
			}
			return
		}
		if _, err := c.Token.Selector(); err != nil {
			t.Fatalf("accepted config has no token: %v", err)
		}
		if c.Token.PINFile == "" {
			t.Fatal("accepted config has no pin-file")
		}
		for name, k := range c.Keys {
			if !keyname.Valid(name) {
				t.Fatalf("accepted key name %q", name)
			}
			if _, err := k.IDBytes(); err != nil {
				t.Fatalf("accepted key %q with bad id: %v", name, err)
			}
			if _, err := k.HashFunc(); err != nil {
				t.Fatalf("accepted key %q with bad hash: %v", name, err)
			}
		}
	})
}
