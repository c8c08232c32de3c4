//go:build linux && cgo

package main

import (
	"os"

	"signstar/pkg/config"
)

// loadConfig reads the config and refuses it when someone other than a
// trusted owner could change it, a certificate it names or its PKCS#11
// module (config.CheckTrusted): whoever can would run code as this
// account before lockdown. A config that is itself untrusted is not
// returned at all, so not even its audit sink is used; one that is
// trusted but names an untrusted file is returned with the error, so the
// refusal is recorded where the config says.
func loadConfig(path string, trust config.Trust) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if err := trust.Check(path, "config"); err != nil {
		return nil, err
	}
	return cfg, cfg.CheckNamed(trust)
}

// cliTrust is who the admin CLI trusts to own what it loads: root, and
// the user running it, who can only hurt themselves. The login shell
// trusts root alone (config.RootOnly).
func cliTrust() config.Trust {
	if uid := os.Geteuid(); uid != 0 {
		return config.Trust{UID: uid}
	}
	return config.RootOnly
}
