package keyringbench

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"signstar/internal/tokentest"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

// keyTypes are the key types docs/benchmarks.md reports.
var keyTypes = []token.KeyType{token.Ed25519, token.RSA3072}

// newConfig makes a SoftHSM2 token holding one key of each of keyTypes
// and a config naming them. SoftHSM2 reads SOFTHSM2_CONF once per
// process, so it is set with b.Setenv and the benchmarks are not parallel.
func newConfig(b *testing.B) *config.Config {
	b.Helper()
	hsm := tokentest.NewSoftHSM(b, "bench")
	b.Setenv("SOFTHSM2_CONF", hsm.Conf)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pin"), []byte(hsm.PIN), 0o600); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "signstar.toml")
	tok := config.Token{Module: hsm.Module, Label: hsm.Label, PINFile: "pin"}
	if err := config.Create(path, tok, config.Audit{Sink: "stderr"}); err != nil {
		b.Fatal(err)
	}
	cfg := load(b, path)
	kr, err := keyring.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer kr.Close()
	for _, t := range keyTypes {
		n := keyring.NewKey{Name: string(t), Type: t, UserID: "bench <bench@example.org>", Created: time.Now()}
		if _, err := kr.Generate(n); err != nil {
			b.Fatal(err)
		}
	}
	return load(b, path)
}

func load(b *testing.B, path string) *config.Config {
	b.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkTokenSign signs 1 KiB with a key on the token, per key type:
//
//   - sign: one signature on an open, logged-in token (hash, C_Sign,
//     verify against the certificate); what a long-lived signer would pay.
//   - open+sign: what one 'signstar sign' process pays in-process, less
//     the Go runtime start, the CLI, the audit record and lockdown: load
//     and initialize the module, log in, find the key, check it against its
//     certificate, sign, log out and finalize.
func BenchmarkTokenSign(b *testing.B) {
	cfg := newConfig(b)
	data := bytes.Repeat([]byte{0x5a}, 1024)
	opts := keyring.SignOptions{Options: pgp.Options{Time: time.Now()}}
	for _, t := range keyTypes {
		name := string(t)
		b.Run(name+"/sign", func(b *testing.B) {
			kr, k := open(b, cfg, name)
			defer kr.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(io.Discard, bytes.NewReader(data), opts); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/open+sign", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				kr, k := open(b, cfg, name)
				if _, err := k.Sign(io.Discard, bytes.NewReader(data), opts); err != nil {
					b.Fatal(err)
				}
				if err := kr.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func open(b *testing.B, cfg *config.Config, name string) (*keyring.Keyring, *keyring.Key) {
	b.Helper()
	kr, err := keyring.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	k, err := kr.Key(name)
	if err != nil {
		kr.Close()
		b.Fatal(err)
	}
	return kr, k
}
