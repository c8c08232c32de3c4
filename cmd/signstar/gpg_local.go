//go:build linux && cgo

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"signstar/pkg/client"
	"signstar/pkg/clientconfig"
	"signstar/pkg/config"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
)

// localBackend signs on this host, as 'signstar sign' does: the front end
// runs it, so the token is opened only behind its lockdown, its checks
// and its audit record, exactly as for a signature asked for by hand.
type localBackend struct {
	cfg  *config.Config
	list []gpgKey
}

// localConfigPath is --config, given before 'gpg'.
func localConfigPath(g *cli) string { return g.Config }

// openLocalBackend reads the local config at path ("" for
// $SIGNSTAR_CONFIG or the default) and its certificates.
func openLocalBackend(path string) (backend, error) {
	if path == "" {
		path = os.Getenv("SIGNSTAR_CONFIG")
	}
	if path == "" {
		path = defaultConfig
	}
	cfg, err := config.Load(path)
	if errors.Is(err, config.ErrNoConfig) {
		return nil, fmt.Errorf("no client config (%s, ~/.config/signstar/client.toml or $%s) and no signstar config here: %w",
			clientconfig.System, clientconfig.Env, err)
	}
	if err != nil {
		return nil, err
	}
	b := &localBackend{cfg: cfg}
	for _, name := range cfg.KeyNames() {
		cert, err := readPGPCert(cfg.Resolve(cfg.Keys[name].Cert))
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", name, err)
		}
		b.list = append(b.list, gpgKey{name: name, cert: cert})
	}
	return b, nil
}

func readPGPCert(path string) (*pgp.Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pgp.ReadCertificate(f)
}

func (b *localBackend) keys() []gpgKey { return b.list }

func (b *localBackend) defaultKey() string {
	name, _ := b.cfg.DefaultKey()
	return name
}

// localOutputMax bounds what 'signstar sign' may write: a cleartext
// message of the largest text, dash-escaped, and the signatures.
const localOutputMax = 2*pgp.MaxClearText + 1<<20

func (b *localBackend) sign(ctx context.Context, in *os.File, form client.Form, keys []gpgKey) ([]byte, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"--config", b.cfg.Path(), "sign"}
	certs := make([]*pgp.Certificate, len(keys))
	for i, k := range keys {
		args = append(args, "--key", k.name)
		certs[i] = k.cert
	}
	switch form {
	case client.DetachedText:
		args = append(args, "--text")
	case client.Cleartext:
		args = append(args, "--clearsign")
	}
	if _, err := in.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Args[0] = "signstar" // not "gpg": the child is the signing CLI
	cmd.Stdin = in
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &capped{&out, localOutputMax}, &capped{&errb, 4 << 10}
	if err := cmd.Run(); err != nil {
		return nil, childError(err, errb.String())
	}
	if err := client.Verify(form, certs, out.Bytes(), in); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// childError is the error 'signstar sign' printed, without its prefix,
// a refusal if it exited 2.
func childError(err error, stderr string) error {
	line, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	line = strings.TrimPrefix(line, "signstar: error: ")
	line = strings.TrimPrefix(line, "refused: ")
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == exitRefused {
		return refusal.Errorf("%s", line)
	}
	if line == "" {
		return fmt.Errorf("signstar sign: %v", err)
	}
	return errors.New(line)
}

// capped keeps at most max bytes and fails the write past them, which
// ends the child with an error rather than letting it fill memory.
type capped struct {
	buf *bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > c.max {
		return 0, errors.New("output too large")
	}
	return c.buf.Write(p)
}
