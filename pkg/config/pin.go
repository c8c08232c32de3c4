package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// PIN reads the token PIN from the pin file. The file is refused if group or
// others have any access to it: the PIN unlocks every key on the token.
func (c *Config) PIN() (string, error) {
	path := c.Resolve(c.Token.PINFile)
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read pin file: %w", err)
	}
	defer f.Close()
	if err := CheckPrivate(f, path); err != nil {
		return "", err
	}
	data, err := readAll(f)
	if err != nil {
		return "", fmt.Errorf("read pin file %s: %w", path, err)
	}
	pin := string(bytes.TrimRight(data, "\r\n"))
	if pin == "" {
		return "", fmt.Errorf("pin file %s is empty", path)
	}
	return pin, nil
}

// ErrPermissions marks a file that others can read or write.
var ErrPermissions = errors.New("unsafe file permissions")

// CheckPrivate refuses a file that group or others may access.
func CheckPrivate(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, group or others may access it", ErrPermissions, path, perm)
	}
	return nil
}
