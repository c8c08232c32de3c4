// Package session describes who is asking for a signature: the local
// account, the SSH key that authenticated the connection and the client's
// address, as sshd reports them.
package session

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Session is what sshd tells a login shell about the connection.
type Session struct {
	User   string // local account
	Client string // "address port" of the client, from SSH_CONNECTION
	// Keys are the SHA256 fingerprints of the public keys the client
	// authenticated with, in order (more than one with
	// AuthenticationMethods publickey,publickey).
	Keys []string
}

// Env is the part of the environment a session is built from.
type Env struct {
	User, Connection, UserAuth string // USER (or LOGNAME), SSH_CONNECTION, SSH_USER_AUTH
}

// ErrNoAuthInfo means sshd did not expose which key authenticated the
// session (ExposeAuthInfo is off): key allow lists cannot be checked.
var ErrNoAuthInfo = errors.New("sshd did not expose the authenticating key (set ExposeAuthInfo yes)")

// New reads SSH_USER_AUTH's file, if any, and returns the session. A
// missing SSH_USER_AUTH is not an error here; Allowed fails closed on it.
func New(e Env) (*Session, error) {
	s := &Session{User: e.User, Client: client(e.Connection)}
	if e.UserAuth == "" {
		return s, nil
	}
	f, err := os.Open(e.UserAuth)
	if err != nil {
		return nil, fmt.Errorf("read SSH_USER_AUTH: %w", err)
	}
	defer f.Close()
	keys, err := parseUserAuth(f)
	if err != nil {
		return nil, fmt.Errorf("read SSH_USER_AUTH %s: %w", e.UserAuth, err)
	}
	s.Keys = keys
	return s, nil
}

// client turns SSH_CONNECTION ("client_ip client_port server_ip
// server_port", sshd(8) ENVIRONMENT) into "client_ip client_port".
func client(conn string) string {
	f := strings.Fields(conn)
	if len(f) != 4 {
		return ""
	}
	return f[0] + " " + f[1]
}

// parseUserAuth reads the methods file sshd writes with ExposeAuthInfo: one
// line per successful method, "publickey <type> <base64 key>" for keys.
func parseUserAuth(r io.Reader) ([]string, error) {
	var keys []string
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != "publickey" {
			continue
		}
		blob, err := base64.StdEncoding.DecodeString(f[2])
		if err != nil {
			return nil, fmt.Errorf("publickey line: %w", err)
		}
		keys = append(keys, Fingerprint(blob))
	}
	return keys, sc.Err()
}

// Fingerprint is OpenSSH's SHA256 fingerprint of a public key blob, as
// ssh-keygen -l prints it.
func Fingerprint(blob []byte) string {
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// Key is the fingerprint of the key that authenticated the session, the
// last publickey method sshd recorded, or "" if none.
func (s *Session) Key() string {
	if len(s.Keys) == 0 {
		return ""
	}
	return s.Keys[len(s.Keys)-1]
}

// Allowed reports whether the session may use a key whose allow list is
// allow. An empty list allows every session; a non-empty one needs
// sshd's auth info and one of the session's keys on the list.
func (s *Session) Allowed(allow []string) error {
	if len(allow) == 0 {
		return nil
	}
	if len(s.Keys) == 0 {
		return ErrNoAuthInfo
	}
	for _, k := range s.Keys {
		for _, a := range allow {
			if k == a {
				return nil
			}
		}
	}
	return fmt.Errorf("ssh key %s is not allowed to use this key", s.Key())
}
