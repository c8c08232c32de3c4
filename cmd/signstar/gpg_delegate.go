package main

import (
	"os"
	"os/exec"
	"path/filepath"

	"signstar/pkg/refusal"
)

// realGPG finds GnuPG's gpg in PATH: the first gpg that is not this
// binary (the front end is a gpg symlink placed before it).
func realGPG() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	selfInfo, err := os.Stat(self)
	if err != nil {
		return "", err
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		p, err := exec.LookPath(filepath.Join(dir, "gpg"))
		if err != nil {
			continue
		}
		if fi, err := os.Stat(p); err == nil && !os.SameFile(fi, selfInfo) {
			return p, nil
		}
	}
	return "", refusal.Errorf("verification and key listings need GnuPG's gpg, and none is in PATH besides signstar")
}
