package main

// The login shell: what runs when sshd starts signstar for a client. It
// never reaches the admin CLI; the client's words go to package remote.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/pgp"
	"signstar/pkg/remote"
	"signstar/pkg/session"
)

// forcedCommand is the ForceCommand of the shipped sshd drop-in. sshd runs
// "<shell> -c <forced command>" and exports the client's own command as
// SSH_ORIGINAL_COMMAND only if the client sent one, so this word stands for
// "the client sent nothing".
const forcedCommand = "signstar"

// loginShell reports whether sshd started signstar as a login shell, and
// the client's request line if so.
func loginShell(args []string) (line string, ok bool, err error) {
	switch {
	case len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "-"):
		// sshd(8): a session without a command runs the shell with
		// argv[0] prefixed by '-'.
		return os.Getenv("SSH_ORIGINAL_COMMAND"), true, nil
	case len(args) > 1 && args[1] == "-c":
		if len(args) != 3 {
			return "", true, remote.Refusef("expected exactly one command after -c")
		}
		if orig, set := os.LookupEnv("SSH_ORIGINAL_COMMAND"); set {
			return orig, true, nil
		}
		if args[2] == forcedCommand {
			return "", true, nil
		}
		return args[2], true, nil
	}
	return "", false, nil
}

const remoteHelp = `signstar: sign files with a key that never leaves its token.
usage: ssh ACCOUNT@HOST [COMMAND] < FILE > FILE.sig
commands:
  (none), sign [--key NAME] [--armor]  sign standard input, write the signature
  cert [--key NAME]                    print the key's armored OpenPGP certificate
  version                              print the signstar version
  help                                 print this text
`

// serve carries out one client request.
func serve(line string) error {
	if isTerminal(os.Stdin) {
		return remote.Refusef("interactive logins are not possible; sign with: ssh ACCOUNT@HOST < FILE > FILE.sig")
	}
	cmd, err := remote.Parse(line)
	if err != nil {
		return err
	}
	switch cmd.Action {
	case remote.Version:
		_, err := fmt.Println(versionLine())
		return err
	case remote.Help:
		_, err := io.WriteString(os.Stdout, remoteHelp)
		return err
	}
	cfg, err := config.Load(configPath())
	if err != nil {
		return err
	}
	name, err := authorize(cfg, cmd.Key)
	if err != nil {
		return err
	}
	if cmd.Action == remote.Cert {
		cert, err := keyring.LoadCert(cfg, cfg.Keys[name])
		if err != nil {
			return err
		}
		return cert.WriteArmored(os.Stdout)
	}
	return signStdin(cfg, name, cmd.Armor)
}

// authorize picks the key a request names and checks the session may use it.
func authorize(cfg *config.Config, name string) (string, error) {
	if name == "" {
		var err error
		if name, err = cfg.DefaultKey(); err != nil {
			return "", err
		}
	}
	kc, ok := cfg.Keys[name]
	if !ok {
		return "", remote.Refusef("key %q is not configured", name)
	}
	sess, err := session.New(session.Env{
		User:       os.Getenv("USER"),
		Connection: os.Getenv("SSH_CONNECTION"),
		UserAuth:   os.Getenv("SSH_USER_AUTH"),
	})
	if err != nil {
		return "", err
	}
	if err := sess.Allowed(kc.Allow); err != nil {
		return "", remote.Refusef("key %q: %v", name, err)
	}
	return name, nil
}

func signStdin(cfg *config.Config, name string, armor bool) error {
	kr, err := keyring.Open(cfg)
	if err != nil {
		return err
	}
	defer kr.Close()
	k, err := kr.Key(name)
	if err != nil {
		return err
	}
	if _, err := k.Signer.Sign(os.Stdout, os.Stdin, pgp.Options{Armor: armor}); err != nil {
		if errors.Is(err, pgp.ErrEmptyInput) {
			return errors.New("sign: empty input: nothing to sign (pipe the file to standard input)")
		}
		return fmt.Errorf("sign with key %q: %w", k.Name, err)
	}
	return nil
}

func configPath() string {
	if p := os.Getenv("SIGNSTAR_CONFIG"); p != "" {
		return p
	}
	return defaultConfig
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
