package modules

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SoftHSMConf is where Debian's and Arch's SoftHSM2 read their
// configuration when SOFTHSM2_CONF is not set.
const SoftHSMConf = "/etc/softhsm/softhsm2.conf"

// softHSMTokenDir is SoftHSM2's compiled-in DEFAULT_TOKENDIR, used when the
// configuration does not name one.
const softHSMTokenDir = "/var/lib/softhsm/tokens"

// softHSM2Access is what SoftHSM2 needs at sign time: its token directory,
// read-write, found through SOFTHSM2_CONF (see [SoftHSMPaths]).
func softHSM2Access(getenv func(string) string) (Access, error) {
	conf := getenv("SOFTHSM2_CONF")
	if conf == "" {
		conf = SoftHSMConf
	}
	dirs, err := SoftHSMPaths(conf)
	if err != nil {
		return Access{}, err
	}
	return Access{ReadWrite: dirs}, nil
}

// SoftHSMPaths returns what SoftHSM2 reads and writes at sign time, for
// [Access.ReadWrite]: its token directory, directories.tokendir in the
// softhsm2.conf(5) at confPath (the value of SOFTHSM2_CONF, or
// [SoftHSMConf]). SoftHSM2 rereads and locks the token's object files on
// every operation, with either object store backend (file or db).
func SoftHSMPaths(confPath string) ([]string, error) {
	data, err := os.ReadFile(confPath)
	if err != nil {
		return nil, fmt.Errorf("read SoftHSM2 configuration: %v", err)
	}
	dir, err := softHSMTokenDirOf(data)
	if err != nil {
		return nil, fmt.Errorf("SoftHSM2 configuration %s: %v", confPath, err)
	}
	return []string{dir}, nil
}

// softHSMTokenDirOf finds directories.tokendir in a softhsm2.conf: one
// "key = value" per line, "#" starts a comment line.
func softHSMTokenDirOf(data []byte) (string, error) {
	dir := softHSMTokenDir
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(key) == "directories.tokendir" {
			dir = strings.TrimSpace(val)
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if !filepath.IsAbs(dir) {
		// SoftHSM2 would resolve it against its working directory, which
		// is not signstar's to guess.
		return "", fmt.Errorf("directories.tokendir %q is not an absolute path", dir)
	}
	return filepath.Clean(dir), nil
}
