package seccomp

// Log returns the system calls appending to the transparency log takes
// (package translog), allowed only when the host keeps one: Landlock
// confines them to the log's directory, the only path the login shell
// may write besides the audit file. The rest of an append (openat with
// O_CREAT, write, fsync of the files and their directories, flock on
// the log's lock file, newfstatat, getdents64) is in [Allowed] already.
// Each was seen on amd64: without it, an append under the real filter
// kills signstar (cmd/signstar TestLogKeyRefused, TestLogConcurrent).
func Log() []Syscall {
	return []Syscall{
		{"renameat", "seen: a tile, entry bundle or the tree file is written to a temporary file and renamed into place (os.Rename)"},
		{"mkdirat", "seen: the first tile of a level or a new tile directory (os.Mkdir)"},
		{"unlinkat", "seen: the partial tile a wider one replaced (from the second append on), or a temporary file after a failed write (os.Remove)"},
		{"fchmod", "seen: a temporary file is made readable to the web server that publishes the log (os.File.Chmod 0644)"},
	}
}
