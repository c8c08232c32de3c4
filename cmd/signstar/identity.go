//go:build linux && cgo

package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"

	"signstar/pkg/sandbox"
)

// checkIdentity refuses to run as root against a token whose files belong
// to another account. Root opens them fine, but lockdown drops every
// capability (CAP_DAC_OVERRIDE too) before the token signs, and the module
// then fails with an error that names a PKCS#11 code, not the cause
// (SoftHSM2: CKR_OBJECT_HANDLE_INVALID).
func checkIdentity(p sandbox.Policy) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for _, path := range p.ReadWrite {
		fi, err := os.Stat(path)
		if err != nil {
			continue // the module reports a missing store better
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid == 0 {
			continue
		}
		return fmt.Errorf("the token's files in %s belong to %s, and root loses the right to read them at lockdown: %w",
			path, userName(st.Uid), errRunAsAccount)
	}
	return nil
}

// errRunAsAccount is the hint the CLI prints as a line of its own.
var errRunAsAccount = hint("run signstar as that account (runuser -u ACCOUNT -- signstar ...)")

func userName(uid uint32) string {
	id := strconv.FormatUint(uint64(uid), 10)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return "uid " + id
}
