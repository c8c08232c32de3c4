package host

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"signstar/pkg/session"
)

// publicKey is an OpenSSH public key as a .pub file holds it.
type publicKey struct {
	typ, base64, comment string
	fingerprint          string
}

// keyTypes are the public key types sshd(8) takes in authorized_keys and
// signstar's clients use; DSA is gone from OpenSSH 9.8.
var keyTypes = map[string]bool{
	"ssh-ed25519": true, "ssh-rsa": true,
	"ecdsa-sha2-nistp256": true, "ecdsa-sha2-nistp384": true, "ecdsa-sha2-nistp521": true,
	"sk-ssh-ed25519@openssh.com": true, "sk-ecdsa-sha2-nistp256@openssh.com": true,
}

// parsePublicKey reads "TYPE BASE64 [COMMENT]". The blob must decode and
// name the same type in its first field (RFC 4253 section 6.6), so a key
// pasted from the wrong line or cut short is refused here, not by sshd at
// the first login.
func parsePublicKey(s string) (publicKey, error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return publicKey{}, errors.New("want an OpenSSH public key, \"TYPE BASE64 [COMMENT]\" as in a .pub file")
	}
	if !keyTypes[f[0]] {
		return publicKey{}, fmt.Errorf("key type %q: want one of ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa or their sk- forms", f[0])
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		return publicKey{}, fmt.Errorf("%s key: not base64", f[0])
	}
	if name, ok := wireString(blob); !ok || !bytes.Equal(name, []byte(f[0])) || len(blob) < 4+len(name)+16 {
		return publicKey{}, fmt.Errorf("%s key: the key data does not hold a %s key", f[0], f[0])
	}
	return publicKey{
		typ: f[0], base64: f[1], comment: strings.Join(f[2:], " "),
		fingerprint: session.Fingerprint(blob),
	}, nil
}

// wireString reads an SSH string: a uint32 length, then that many bytes.
func wireString(b []byte) ([]byte, bool) {
	if len(b) < 4 {
		return nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, false
	}
	return b[4 : 4+n], true
}
