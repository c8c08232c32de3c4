package main

// The gpg front end: signstar started as gpg (a symlink named gpg or
// signstar-gpg first in PATH) or as 'signstar gpg ARGS', for release
// tools that call gpg to sign. It takes the command lines those tools
// pass (package gpgargs), signs through a signing host named in the
// client config (packages clientconfig and client) or, on the signing
// host itself, through the local config by running 'signstar sign'
// (gpg_local.go), checks what comes back against the input and the
// pinned certificates, and
// writes it as gpg would: FILE.sig, FILE.asc, -o FILE, or standard
// output, with gpg's status lines on --status-fd. Verification and key
// listings are the real gpg's: they are handed to it.

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"signstar/pkg/client"
	"signstar/pkg/clientconfig"
	"signstar/pkg/gpgargs"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
)

// gpgVersion is the GnuPG version --version claims: Debian 12's, so that
// callers that parse it (debsign reads the third word of the first line;
// aptly wants 2.x) take the front end for the gpg they were written for.
const gpgVersion = "2.2.40"

type gpgCmd struct {
	Args []string `arg:"" optional:"" passthrough:"partial" help:"gpg's options and arguments, as release tools pass them (--detach-sign, --clearsign, -u KEY, -o FILE, --status-fd N, --list-secret-keys, --version)."`
}

func (c *gpgCmd) Run(g *cli) error { return runGPG(c.Args, localConfigPath(g)) }

// gpgArgs reports whether args (os.Args) start the front end, and its
// arguments. main asks before anything else: the login shell's first
// step closes inherited descriptors, and a caller's --status-fd is one.
// sshd never starts a login shell under these names (it runs the
// account's shell as "-signstar" or "signstar -c ..."). 'signstar gpg
// --help' is the command line's help for the command, not gpg's.
func gpgArgs(args []string) ([]string, bool) {
	switch filepath.Base(args[0]) {
	case "gpg", "gpg2", "signstar-gpg":
		return args[1:], true
	}
	if len(args) > 1 && args[1] == "gpg" && !slices.Equal(args[2:], []string{"--help"}) {
		return args[2:], true
	}
	return nil, false
}

func runGPG(args []string, localConf string) error {
	inv, err := gpgargs.Parse(args)
	if err != nil {
		return err
	}
	switch inv.Command {
	case gpgargs.Version:
		fmt.Printf("gpg (GnuPG) %s\n%s: a gpg front end that signs through signstar; not GnuPG\n", gpgVersion, versionLine())
		return nil
	case gpgargs.Delegate:
		return execRealGPG(args)
	}
	b, err := openBackend(localConf)
	if err != nil {
		return err
	}
	if inv.Command == gpgargs.ListSecretKeys {
		return listSecretKeys(os.Stdout, b, inv)
	}
	return gpgSign(b, inv)
}

// gpgKey is a key the front end can sign with.
type gpgKey struct {
	name string // its name in the client (or local) config
	cert *pgp.Certificate
}

// backend is where the front end signs.
type backend interface {
	keys() []gpgKey
	defaultKey() string
	// sign returns signatures in form by each key, in order, over in
	// (read from its start), checked against in and the certificates.
	sign(ctx context.Context, in *os.File, form client.Form, keys []gpgKey) ([]byte, error)
}

// openBackend is the signing host of the client config, if there is one,
// or else this host's own signstar config.
func openBackend(localConf string) (backend, error) {
	path := clientconfig.Find(os.Getenv)
	if path == "" {
		return openLocalBackend(localConf)
	}
	cfg, err := clientconfig.Load(path)
	if err != nil {
		return nil, err
	}
	return remoteBackend{cfg}, nil
}

// remoteBackend signs on the hosts of a client config.
type remoteBackend struct{ cfg *clientconfig.Config }

func (r remoteBackend) keys() []gpgKey {
	var keys []gpgKey
	for _, name := range r.cfg.KeyNames() {
		keys = append(keys, gpgKey{name: name, cert: r.cfg.Key(name).Cert})
	}
	return keys
}

func (r remoteBackend) defaultKey() string { return r.cfg.DefaultKey() }

func (r remoteBackend) sign(ctx context.Context, in *os.File, form client.Form, keys []gpgKey) ([]byte, error) {
	ks := make([]client.Key, len(keys))
	for i, k := range keys {
		ks[i] = r.cfg.Key(k.name)
	}
	sig, err := client.SignOne(ctx, in, form, ks, r.cfg.Options(os.Stderr))
	return sig.Data, err
}

// gpgSign makes the signature inv asks for and writes it.
func gpgSign(b backend, inv *gpgargs.Invocation) error {
	keys, err := selectKeys(b, inv.Keys)
	if err != nil {
		return err
	}
	status, err := openStatus(inv.StatusFD)
	if err != nil {
		return err
	}
	in, err := openInput(inv.Input())
	if err != nil {
		return err
	}
	defer in.Close()
	form := formOfInvocation(inv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sig, err := b.sign(ctx, in, form, keys)
	if err != nil {
		return err
	}
	made, err := pgp.Describe(sig)
	if err != nil {
		return err
	}
	if err := checkDigest(inv.Digest, keys, made); err != nil {
		return err
	}
	if form != client.Cleartext && inv.Armor {
		if sig, err = pgp.Armored(sig); err != nil {
			return err
		}
	}
	if err := writeOutput(outputPath(inv), sig); err != nil {
		return err
	}
	return writeStatus(status, form, keys, made)
}

func formOfInvocation(inv *gpgargs.Invocation) client.Form {
	switch {
	case inv.Command == gpgargs.Clear:
		return client.Cleartext
	case inv.Text:
		return client.DetachedText
	}
	return client.Detached
}

// selectKeys finds the keys -u named, in order, or the default key.
func selectKeys(b backend, patterns []string) ([]gpgKey, error) {
	all := b.keys()
	if len(patterns) == 0 {
		name := b.defaultKey()
		if name == "" {
			return nil, refusal.Errorf("no default key: name one with -u (configured: %s)", keyNames(all))
		}
		patterns = []string{name}
	}
	var keys []gpgKey
	seen := map[string]bool{}
	for _, p := range patterns {
		k, err := findKey(all, p)
		if err != nil {
			return nil, err
		}
		if seen[k.name] {
			return nil, refusal.Errorf("key %s named twice", k.name)
		}
		seen[k.name] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// findKey finds the one key pattern names, as gpg reads a key
// specification (gpg(1), "HOW TO SPECIFY A USER ID"): the key's config
// name first, then its fingerprint or key ID in hex ("0x" optional, "!"
// ignored), "=USER ID" exactly, or else a case-insensitive part of its
// user ID ("Name <email>", as git passes the committer). A pattern that
// matches several keys is refused rather than resolved by order.
func findKey(all []gpgKey, pattern string) (gpgKey, error) {
	for _, k := range all {
		if k.name == pattern {
			return k, nil
		}
	}
	var found []gpgKey
	for _, k := range all {
		if matchKey(k, pattern) {
			found = append(found, k)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return gpgKey{}, refusal.Errorf("no key matches %q (configured: %s)", pattern, keyNames(all))
	}
	return gpgKey{}, refusal.Errorf("%q matches several keys (%s): name one", pattern, keyNames(found))
}

func matchKey(k gpgKey, pattern string) bool {
	p := strings.TrimSuffix(pattern, "!")
	hex := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(p, "0x"), "0X"))
	switch {
	case p == "":
		return false
	case isHex(hex) && (len(hex) == 8 || len(hex) == 16 || len(hex) == 40):
		return strings.HasSuffix(k.cert.Fingerprint(), hex)
	case strings.HasPrefix(p, "="):
		return k.cert.UserID() == p[1:]
	}
	return strings.Contains(strings.ToLower(k.cert.UserID()), strings.ToLower(p))
}

func isHex(s string) bool {
	return s != "" && strings.Trim(s, "0123456789ABCDEF") == ""
}

func keyNames(keys []gpgKey) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// openStatus is --status-fd's descriptor, checked before anything is
// signed; nil when none was given.
func openStatus(fd int) (*os.File, error) {
	if fd < 0 {
		return nil, nil
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("status-fd %d", fd))
	if f == nil {
		return nil, refusal.Errorf("--status-fd %d is not an open file descriptor", fd)
	}
	if _, err := f.Stat(); err != nil {
		return nil, refusal.Errorf("--status-fd %d is not an open file descriptor", fd)
	}
	return f, nil
}

// openInput opens the file to sign. Standard input, or a pipe given by
// name, is first copied to an unlinked temporary file: a detached
// signature is checked against the input read a second time.
func openInput(name string) (*os.File, error) {
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open input: %w", err)
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return f, nil
		}
		defer f.Close()
		return spool(f)
	}
	return spool(os.Stdin)
}

func spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp("", "signstar-gpg-*")
	if err != nil {
		return nil, fmt.Errorf("read input: %w", err)
	}
	os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, fmt.Errorf("read input: %w", err)
	}
	return f, nil
}

// checkDigest refuses signatures made with a weaker hash than
// --digest-algo asked for. A key signs with its own hash (SHA-512 unless
// its config says SHA-256); a stronger one than asked is what the caller
// wanted and more (aptly asks for SHA256 of every key).
func checkDigest(want crypto.Hash, keys []gpgKey, made []pgp.Made) error {
	if want == 0 {
		return nil
	}
	for i, m := range made {
		if m.Hash.Size() < want.Size() {
			return refusal.Errorf("key %s signs with %v, weaker than the --digest-algo %v asked for", keys[i].name, m.Hash, want)
		}
	}
	return nil
}

// outputPath is where gpg writes: -o's file, or FILE.sig or FILE.asc
// beside the input, or standard output ("-") for standard input.
func outputPath(inv *gpgargs.Invocation) string {
	switch {
	case inv.Output != "":
		return inv.Output
	case inv.Input() == "-":
		return "-"
	case inv.Command == gpgargs.Clear || inv.Armor:
		return inv.Input() + ".asc"
	}
	return inv.Input() + ".sig"
}

// writeOutput writes the verified signature: to standard output in one
// write, or atomically to a file, so that a failure leaves no part of it.
func writeOutput(path string, sig []byte) error {
	if path != "-" {
		return client.WriteAtomic(path, sig)
	}
	if _, err := os.Stdout.Write(sig); err != nil {
		return fmt.Errorf("write signature: %w", err)
	}
	return nil
}

// writeStatus prints gpg's status lines for the signatures made (GnuPG
// doc/DETAILS). git reads SIG_CREATED, and only after a newline, so
// KEY_CONSIDERED and BEGIN_SIGNING come first as gpg prints them.
func writeStatus(status *os.File, form client.Form, keys []gpgKey, made []pgp.Made) error {
	if status == nil {
		return nil
	}
	if len(made) != len(keys) {
		return fmt.Errorf("BUG: %d signatures for %d keys", len(made), len(keys))
	}
	kind := "D"
	if form == client.Cleartext {
		kind = "C"
	}
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "[GNUPG:] KEY_CONSIDERED %s 0\n", k.cert.Fingerprint())
	}
	fmt.Fprintf(&b, "[GNUPG:] BEGIN_SIGNING H%d\n", made[0].HashID())
	for i, m := range made {
		fmt.Fprintf(&b, "[GNUPG:] SIG_CREATED %s %d %d %02X %d %s\n",
			kind, m.PubKeyAlgo, m.HashID(), m.Class, m.Created.Unix(), keys[i].cert.Fingerprint())
	}
	if _, err := io.WriteString(status, b.String()); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("write --status-fd: %w", err)
	}
	return nil
}

// listSecretKeys lists the keys the front end signs with, as gpg
// --list-secret-keys [--with-colons] does: all of them, or those the
// patterns name. No match is an error, as makepkg and repo-add expect
// when they check a key before signing.
func listSecretKeys(w io.Writer, b backend, inv *gpgargs.Invocation) error {
	keys := b.keys()
	if len(keys) == 0 {
		return refusal.Errorf("no keys configured")
	}
	if len(inv.Args) > 0 {
		var found []gpgKey
		for _, k := range keys {
			for _, p := range inv.Args {
				if k.name == p || matchKey(k, p) {
					found = append(found, k)
					break
				}
			}
		}
		if len(found) == 0 {
			return refusal.Errorf("no secret key matches %s", strings.Join(inv.Args, " "))
		}
		keys = found
	}
	var out strings.Builder
	for _, k := range keys {
		if inv.Colons {
			writeColons(&out, k)
		} else {
			writeListing(&out, k)
		}
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// writeListing is gpg's human-readable listing of one key.
func writeListing(w io.Writer, k gpgKey) {
	c := k.cert
	fmt.Fprintf(w, "sec   %s %s [SC]\n      %s\nuid           [ultimate] %s\n\n",
		c.Algorithm(), c.Created().UTC().Format("2006-01-02"), c.Fingerprint(), c.UserID())
}

// writeColons is gpg's --with-colons listing of one key (GnuPG
// doc/DETAILS, "Format of the colon listings"): "+" in field 15 says the
// secret key is available, on a token here as with gpg-agent's cards.
func writeColons(w io.Writer, k gpgKey) {
	c := k.cert
	algo, bits := c.KeyAlgorithm()
	created := c.Created().Unix()
	fmt.Fprintf(w, "sec:u:%d:%d:%016X:%d:::u:::scSC:::+:::%s::0:\n", bits, algo, c.KeyID(), created, c.Algorithm())
	fmt.Fprintf(w, "fpr:::::::::%s:\n", c.Fingerprint())
	fmt.Fprintf(w, "uid:u::::%d::::%s::::::::::0:\n", created, colonEscape(c.UserID()))
}

// colonEscape escapes ':' and control bytes as the colon format does.
func colonEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ':' || c < 0x20 || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}
