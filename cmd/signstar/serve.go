//go:build linux && cgo

package main

// The login shell, part two: one client request carried out and recorded,
// once loginshell.go has found what sshd started signstar for. It never
// reaches the admin CLI; the client's words go to package remote.

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"signstar/pkg/audit"
	"signstar/pkg/config"
	"signstar/pkg/input"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
	"signstar/pkg/remote"
	"signstar/pkg/session"
)

const remoteHelp = `signstar: sign files with a key that never leaves its token.
usage: ssh ACCOUNT@HOST [COMMAND] < FILE > FILE.sig
commands:
  (none), sign [--key NAME] [--armor]  sign standard input, write the signature;
                                       --key again: one signature by each key
  sign --text [--key NAME] [--armor]   sign standard input as text (gpg -t): CRLF line ends
  sign --clearsign [--key NAME]        write standard input, UTF-8 text, as a cleartext
                                       signed message (gpg --clearsign, apt's InRelease)
  sign --request [--key NAME]          answer a digest-only signing request (JSON) on stdin
  sign --batch [--key NAME]            answer a stream of digest-only requests, one JSON
                                       text a line, with one response line each, in order
  sign --format kmod [--key NAME] [--keyid]
                                       a kernel module's signature block (to append);
                                       --keyid: signer by key identifier (sign-file -k)
  sign --format authenticode [--key NAME] [--append]
                                       the UEFI image on stdin, signed
  sign --format cms [--key NAME] [--armor]
                                       a detached CMS signature (DER; PEM with --armor)
  sign --request --format FORMAT [--key NAME]
                                       answer an X.509 digest-only request (JSON) on stdin
  log checkpoint                       print the transparency log's latest signed checkpoint
  log proof INDEX [SIZE]               print the leaf INDEX and its inclusion proof (tlog-proof)
                                       in the latest checkpoint's tree, or in that of SIZE
  log consistency OLD NEW              print the proof that the log of NEW leaves extends OLD
  cert [--key NAME]                    print the key's armored OpenPGP certificate
  cert --x509 [--key NAME]             print the key's X.509 certificate and chain (PEM)
  certs                                print every key you may use, with its certificate (JSON)
  version                              print the signstar version
  help                                 print this text
`

// serveClient carries out one client request and records it: every
// request, answered, signed, refused or failed, leaves one audit record.
// lineErr is how sshd's start of signstar went wrong, if it did
// (loginShell).
func serveClient(line string, lineErr error) error {
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
	if lineErr != nil {
		err = lineErr
	}
	if err == nil && isTerminal(os.Stdin) {
		err = refusal.Errorf("interactive logins are not possible; sign with: ssh ACCOUNT@HOST < FILE > FILE.sig")
	}
	cfg, cfgErr := loadConfig(configPath(), config.RootOnly)
	j, jerr := openJob(cfg, cfgErr, rec)
	if jerr != nil {
		return toClient(jerr, rec.RequestID)
	}
	j.stderr = stderr
	for _, e := range []error{cfgErr, sessErr} {
		if err == nil {
			err = e
		}
	}
	if err != nil {
		return toClient(j.finish(nil, err), rec.RequestID)
	}
	return toClient(j.run(cmd, sess), rec.RequestID)
}

// toClient is what the SSH client is told of err. A refusal of its own
// request keeps its reason, and so does a failure that only describes
// what the client did (clientCaused). Any other failure is the server's:
// its detail names paths, token labels and module errors, which the client
// must not learn, so it gets one line and the request ID an admin can
// look up in the audit record, which holds the detail.
func toClient(err error, id string) error {
	switch {
	case err == nil:
		return nil
	case isPartial(err):
		return err
	case errors.Is(err, refusal.Err) || clientCaused(err):
		return fmt.Errorf("%w (request %s)", err, id)
	}
	return fmt.Errorf("signing failed on the server; the administrator can look up request ID %s", id)
}

// clientCaused reports whether err is a failure the client brought about
// and may read as it is: it sent nothing, stopped sending, or hung up.
func clientCaused(err error) bool {
	for _, e := range []error{pgp.ErrEmptyInput, input.ErrLimit, errHungUp} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// run carries out the client's command cmd, for session sess, and ends
// the job: answered, signed, refused or failed.
func (j *job) run(cmd remote.Command, sess *session.Session) error {
	switch cmd.Action {
	case remote.Version:
		return j.answer([]byte(versionLine()+"\n"), nil)
	case remote.Help:
		return j.answer([]byte(remoteHelp), nil)
	case remote.Certs:
		return j.answer(j.certs(sess))
	case remote.Log:
		return j.answer(j.logQuery(cmd.Log))
	}
	names := cmd.Keys()
	for i, name := range names {
		var err error
		if names[i], err = authorize(j.cfg, name, sess); err != nil {
			return j.finish(nil, err)
		}
	}
	switch {
	case cmd.X509:
		return j.answer(j.certX509(names[0]))
	case cmd.Format != "" && cmd.Request:
		return j.finish(j.signX509Request(names[0], cmd))
	case cmd.Format != "":
		return j.finish(j.signX509(names[0], cmd))
	case cmd.Action == remote.Cert:
		return j.answer(j.cert(names[0]))
	case cmd.Batch:
		return j.batch(names[0])
	case cmd.Request || cmd.Implicit && j.cfg.Remote.RequestByDefault():
		return j.finish(j.signRequest(names[0]))
	}
	return j.finish(j.signArtifact(names, formOf(cmd)))
}

// cert is the key's armored certificate, once the token has shown that it
// holds the matching private key, as before a signature: clients pin what
// cert returns, so a replaced certificate file must not reach them.
func (j *job) cert(name string) ([]byte, error) {
	kr, ks, err := j.openLocked(name)
	if err != nil {
		return nil, err
	}
	defer kr.Close()
	var buf bytes.Buffer
	if err := ks[0].Cert.WriteArmored(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// authorize picks the key a request names and checks the session may use it.
func authorize(cfg *config.Config, name string, sess *session.Session) (string, error) {
	name, kc, err := cfg.Key(name)
	if errors.Is(err, config.ErrUnknownKey) {
		return "", refusal.Errorf("%v", err)
	}
	if err != nil {
		return "", err
	}
	if cfg.Log.Enabled() && name == cfg.Log.Key {
		return "", refusal.Errorf("key %q is the transparency log's key: it signs checkpoints only", name)
	}
	if err := sess.Allowed(kc.Allow); err != nil {
		return "", refusal.Errorf("key %q: %v", name, err)
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
