package verifytest

import (
	"os"
	"path/filepath"
	"signstar/internal/testenv"
	"testing"
)

// PacmanKey returns nil if pacman-key, in a fresh keyring, accepts sig over
// data for the armored certificate cert, else an error holding its output.
//
// The keyring is set up as an Arch Linux system sets up its own: pacman-key
// --init, --add cert, --lsign-key with the local master key, then --verify,
// which demands TRUST_FULLY or TRUST_ULTIMATE from gpg. pacman-key refuses
// armored signatures ("Cannot use armored signatures for packages"), and so
// does pacman; an armored sig is dearmored first, so callers that ship
// signatures to pacman must still check they emit binary ones.
func PacmanKey(t testing.TB, cert, data, sig []byte) error {
	t.Helper()
	pk := NewPacmanKeyring(t)
	fpr := Fingerprint(t, cert)
	certFile := write(t, pk.dir, "cert.asc", cert)
	if err := pk.Run("--add", certFile); err != nil {
		return err
	}
	if err := pk.Run("--lsign-key", fpr); err != nil {
		return err
	}
	dataFile := write(t, pk.dir, "data", data)
	sigFile := dearmor(t, pk.dir, "data.sig", sig)
	return pk.Run("--verify", sigFile, dataFile)
}

// PacmanKeyring is a pacman keyring in a temporary directory, as pacman
// reads it with --gpgdir.
type PacmanKeyring struct {
	GPGDir string   // pacman's and pacman-key's --gpgdir
	dir    string   // working directory, holds config and test files
	cmd    []string // pacman-key with its --config and --gpgdir, maybe behind unshare
}

// NewPacmanKeyring initialises a keyring in a new temporary directory and
// stops its gpg-agent when the test ends. It holds only its local master
// key: add certificates and lsign them with [PacmanKeyring.Run].
//
// pacman-key --init generates an RSA 4096 master key, which takes seconds; an
// Ed25519 master key is generated first instead, in the same legacy
// pubring.gpg that --init would create, and --init then only writes its
// gpg.conf and gpg-agent.conf. The trust path --verify checks (a key lsigned
// by an ultimately trusted local key) is unchanged.
func NewPacmanKeyring(t testing.TB) *PacmanKeyring {
	t.Helper()
	dir := shortTempDir(t)
	gpgdir := filepath.Join(dir, "gnupg")
	pk := &PacmanKeyring{GPGDir: gpgdir, dir: dir}
	pk.cmd = append(AsRoot(t), testenv.Tool(t, "pacman-key"),
		"--nocolor", "--config", write(t, dir, "pacman.conf", []byte("[options]\n")), "--gpgdir", gpgdir)
	gpg, gpgconf := testenv.Tool(t, "gpg"), testenv.Tool(t, "gpgconf")
	testenv.Tool(t, "vercmp") // pacman-key --init compares gpg's version with it
	if err := os.Mkdir(gpgdir, 0o700); err != nil {
		t.Fatalf("create pacman gpgdir: %v", err)
	}
	t.Cleanup(func() { run(dir, gpgconf, "--homedir", gpgdir, "--kill", "all") })
	write(t, gpgdir, "pubring.gpg", nil)
	if err := run(dir, gpg, "--homedir", gpgdir, "--batch", "--passphrase", "",
		"--quick-gen-key", "Pacman Keyring Master Key <pacman@localhost>", "ed25519", "sign", "never"); err != nil {
		t.Fatalf("generate pacman master key: %v", err)
	}
	if err := pk.Run("--init"); err != nil {
		t.Fatalf("initialise pacman keyring: %v", err)
	}
	return pk
}

// AsRoot returns the command prefix that runs pacman-key as root, which it
// demands for --init, --add and --lsign-key (as pacman does for -S): none
// for root, else unshare --map-root-user, which makes the user root in a
// new user namespace. If the kernel refuses that, the test is skipped (or
// fails under SIGNSTAR_E2E=1).
func AsRoot(t testing.TB) []string {
	t.Helper()
	if os.Geteuid() == 0 {
		return nil
	}
	unshare := testenv.Tool(t, "unshare")
	if err := run(t.TempDir(), unshare, "--map-root-user", "true"); err != nil {
		testenv.SkipOrFatal(t, "pacman and pacman-key must run as root, and no user namespace is available: %v", err)
	}
	return []string{unshare, "--map-root-user"}
}

// Run runs pacman-key on the keyring with args; the error holds its
// output.
func (pk *PacmanKeyring) Run(args ...string) error {
	args = append(append([]string(nil), pk.cmd[1:]...), args...)
	return run(pk.dir, pk.cmd[0], args...)
}

// shortTempDir is t.TempDir with a short name: gpg-agent's socket lives in
// the GnuPG home (where /run/user/UID does not exist), and a Unix socket's
// path is limited to 107 bytes (unix(7)), which t.TempDir's names, made of
// the test's name, overrun for long subtest names under a longer TMPDIR.
func shortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
