package host

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// tmpfilesPath is where apply declares the runtime directories, so that
// systemd-tmpfiles makes them again at every boot (/run is a tmpfs).
const tmpfilesPath = "/etc/tmpfiles.d/signstar-host.conf"

// runDir records that accounts use a lock file in dir (token.lock-file).
func (p *Plan) runDir(dir string, accounts []string) {
	if p.runDirs == nil {
		p.runDirs = map[string][]string{}
	}
	p.runDirs[dir] = append(p.runDirs[dir], accounts...)
}

// compareRuntime makes each lock file's directory under /run the one
// account's that uses it, mode 0700, as sshd/signstar.tmpfiles does for
// /run/signstar: nobody else may take the lock and hold up signing. A
// directory several accounts use is named as missing instead: each needs
// its own (README "Several accounts, several configs").
func (o Options) compareRuntime(p *Plan, accounts map[string]account) []Change {
	var ch []Change
	var b bytes.Buffer
	for _, dir := range sortedKeys(p.runDirs) {
		users := slices.Compact(slices.Sorted(slices.Values(p.runDirs[dir])))
		if len(users) != 1 || checkPath(dir) != nil {
			p.Missing = append(p.Missing, Lack{Kind: LackRuntimeDir, Path: dir, What: fmt.Sprintf("a runtime directory of its own, not %s, for each of the accounts %s (their configs' token.lock-file)", dir, strings.Join(users, ", "))})
			continue
		}
		ch = append(ch, o.compareFile(want{path: dir, dir: true, mode: 0o700, owner: users[0]}, accounts)...)
		fmt.Fprintf(&b, "d %s 0700 %s %s -\n", dir, users[0], users[0])
	}
	if b.Len() == 0 {
		return ch
	}
	data := append([]byte(generated+"# The directories of the configs' lock files (tmpfiles.d(5)).\n"), b.Bytes()...)
	return append(ch, o.compareFile(want{path: tmpfilesPath, data: data, mode: 0o644, owner: "root"}, accounts)...)
}
