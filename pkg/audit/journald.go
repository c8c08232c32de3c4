package audit

import (
	"encoding/binary"
	"strings"
)

// The journald sink speaks journald's native protocol itself over one
// AF_UNIX datagram socket, created and connected in Open, instead of calling
// go-systemd's journal.Send, which does not fit a process locked down before
// it logs:
//   - Send creates its socket lazily, on the first message: a socket(2)
//     after seccomp, and no way to learn before the work starts that
//     journald is not there;
//   - it sends to the socket's path with every message, a path lookup that
//     Landlock controls once LANDLOCK_ACCESS_FS_RESOLVE_UNIX exists (kernel
//     commit "landlock: Control pathname UNIX domain socket resolution by
//     path", 2026); a connected socket looks nothing up;
//   - an entry too big for a datagram goes through a new file in /dev/shm,
//     a file opened after landlock;
//   - it prints to stderr on a bad field name, and in the login shell
//     stderr is the SSH client's.
// The protocol is small (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/), and
// every field here is bounded, so an entry always fits one datagram.

// journalSocket is where journald listens for native-protocol datagrams,
// systemd-journald.service(8).
const journalSocket = "/run/systemd/journal/socket"

// encodeNative serializes fields in the native protocol: "NAME=value\n", or,
// for a value holding a newline, "NAME\n", the value's length as a 64-bit
// little-endian integer, the value and "\n". Values from Record.fields never
// hold one (clean replaces it), but the encoder does not rely on that.
func encodeNative(fields []field) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f.name...)
		if strings.Contains(f.value, "\n") {
			b = append(b, '\n')
			b = binary.LittleEndian.AppendUint64(b, uint64(len(f.value)))
		} else {
			b = append(b, '=')
		}
		b = append(b, f.value...)
		b = append(b, '\n')
	}
	return b
}
