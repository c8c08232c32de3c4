package main

// The login shell: what runs when sshd starts signstar for a client. It
// never reaches the admin CLI; the client's words go to package remote.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/keyring"
	"signstar/pkg/remote"
	"signstar/pkg/session"
)

const remoteHelp = `signstar: sign files with a key that never leaves its token.
usage: ssh ACCOUNT@HOST [COMMAND] < FILE > FILE.sig
commands:
  (none), sign [--key NAME] [--armor]  sign standard input, write the signature
  sign --request [--key NAME]          answer a digest-only signing request (JSON) on stdin
  cert [--key NAME]                    print the key's armored OpenPGP certificate
  version                              print the signstar version
  help                                 print this text
`

// serve carries out one client request and records it.
func serve(line string) error {
	rec := &audit.Record{RequestID: audit.NewRequestID(), Mode: audit.SSH, Request: line, User: os.Getenv("USER")}
	stderr, err := captureModuleStderr()
	if err != nil {
		rec.Warning = err.Error()
	}
	sess, sessErr := session.New(session.Env{
		User:       rec.User,
		Connection: os.Getenv("SSH_CONNECTION"),
		UserAuth:   os.Getenv("SSH_USER_AUTH"),
	})
	if sessErr == nil {
		rec.SSHKey, rec.Client = sess.Key(), sess.Client
	}
	cmd, err := remote.Parse(line)
	if err == nil && isTerminal(os.Stdin) {
		err = remote.Refusef("interactive logins are not possible; sign with: ssh ACCOUNT@HOST < FILE > FILE.sig")
	}
	if err == nil && (cmd.Action == remote.Version || cmd.Action == remote.Help) {
		return answer(cmd.Action)
	}
	cfg, cfgErr := config.Load(configPath())
	j, jerr := openJob(cfg, cfgErr, rec)
	if jerr != nil {
		return withID(jerr, rec.RequestID)
	}
	j.stderr = stderr
	if err == nil {
		err = cfgErr
	}
	if err == nil {
		err = sessErr
	}
	if err != nil {
		return withID(j.finish(nil, err), rec.RequestID)
	}
	return withID(j.serve(cmd, sess), rec.RequestID)
}

// withID adds the request id to an error the client sees, so it can quote
// it to an admin who looks up the audit record.
func withID(err error, id string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (request %s)", err, id)
}

func answer(a remote.Action) error {
	var err error
	if a == remote.Version {
		_, err = fmt.Println(versionLine())
	} else {
		_, err = io.WriteString(os.Stdout, remoteHelp)
	}
	return err
}

func (j *job) serve(cmd remote.Command, sess *session.Session) error {
	name, err := authorize(j.cfg, cmd.Key, sess)
	if err != nil {
		return j.finish(nil, err)
	}
	switch {
	case cmd.Action == remote.Cert:
		var buf bytes.Buffer
		cert, err := keyring.LoadCert(j.cfg, j.cfg.Keys[name])
		if err == nil {
			err = cert.WriteArmored(&buf)
		}
		if err != nil {
			return j.finish(nil, err)
		}
		return j.release(buf.Bytes())
	case cmd.Request || cmd.Implicit && j.cfg.Remote.RequestByDefault():
		out, err := j.signRequest(name)
		return j.finish(out, err)
	}
	out, err := j.signArtifact(name, cmd.Armor)
	return j.finish(out, err)
}

// authorize picks the key a request names and checks the session may use it.
func authorize(cfg *config.Config, name string, sess *session.Session) (string, error) {
	name, kc, err := cfg.Key(name)
	if errors.Is(err, config.ErrUnknownKey) {
		return "", remote.Refusef("%v", err)
	}
	if err != nil {
		return "", err
	}
	if err := sess.Allowed(kc.Allow); err != nil {
		return "", remote.Refusef("key %q: %v", name, err)
	}
	return name, nil
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
