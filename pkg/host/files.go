package host

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"signstar/internal/filesys"
	"syscall"
)

// want is a file or directory as the host file wants it.
type want struct {
	path  string // on the host
	data  []byte // a file's contents
	dir   bool
	mode  fs.FileMode
	owner string // "root" or an account; its group is the owner's
	// check, if set, validates a new file's contents before it replaces
	// the old one (sshd -t for the drop-in).
	check func(tmp string) error
}

func (w want) kind() string {
	if w.dir {
		return "directory"
	}
	return "file"
}

// compareFile returns the changes that make w so under Root.
func (o Options) compareFile(w want, accounts map[string]account) []Change {
	p := o.path(w.path)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return []Change{{
			Desc: fmt.Sprintf("create %s %s (%04o, %s)", w.kind(), w.path, w.mode, w.owner),
			do:   func() error { return o.write(w) },
		}}
	case err != nil:
		return []Change{{Desc: fmt.Sprintf("replace %s %s: %v", w.kind(), w.path, err), do: func() error { return o.write(w) }}}
	case fi.IsDir() != w.dir || !fi.IsDir() && !fi.Mode().IsRegular():
		return []Change{{Desc: fmt.Sprintf("replace %s with a %s (it is not one)", w.path, w.kind()), do: func() error { return o.replace(w) }}}
	}
	if !w.dir {
		if old, err := os.ReadFile(p); err != nil || !bytes.Equal(old, w.data) {
			return []Change{{
				Desc: fmt.Sprintf("write %s: its contents differ from the host file's", w.path),
				do:   func() error { return o.write(w) },
			}}
		}
	}
	var ch []Change
	if fi.Mode().Perm() != w.mode {
		ch = append(ch, Change{
			Desc: fmt.Sprintf("chmod %04o %s (is %04o)", w.mode, w.path, fi.Mode().Perm()),
			do:   func() error { return os.Chmod(p, w.mode) },
		})
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && !owns(accounts, w.owner, st) {
		ch = append(ch, Change{
			Desc: fmt.Sprintf("chown %s %s (is %d:%d)", w.owner, w.path, st.Uid, st.Gid),
			do:   func() error { return o.chown(p, w.owner) },
		})
	}
	return ch
}

func owns(accounts map[string]account, owner string, st *syscall.Stat_t) bool {
	if owner == "root" {
		return st.Uid == 0 && st.Gid == 0
	}
	a, ok := accounts[owner]
	return ok && int(st.Uid) == a.uid && int(st.Gid) == a.gid
}

func (o Options) chown(p, owner string) error {
	uid, gid, err := o.ids(owner)
	if err != nil {
		return err
	}
	return os.Lchown(p, uid, gid)
}

// replace removes what is at w's path (a file where a directory belongs,
// or the reverse) and writes w.
func (o Options) replace(w want) error {
	if err := os.RemoveAll(o.path(w.path)); err != nil {
		return err
	}
	return o.write(w)
}

// write makes w: a directory (and its missing parents, root's and 0755),
// or a file, written beside its final name, checked, then renamed over it
// so that no reader ever sees half of it.
func (o Options) write(w want) error {
	p := o.path(w.path)
	if w.dir {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		return o.setMode(p, w)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := filesys.WriteTemp(p, w.data, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = o.setMode(tmp, w)
	if err == nil && w.check != nil {
		err = w.check(tmp)
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func (o Options) setMode(p string, w want) error {
	if err := o.chown(p, w.owner); err != nil {
		return err
	}
	return os.Chmod(p, w.mode)
}
