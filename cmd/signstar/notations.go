//go:build linux && cgo

package main

import (
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/config"
)

// keyNotations returns the notations the config adds to every signature
// key name makes (config.Notation), in the config's order, never
// critical. Both signing paths (job.signArtifact, job.signRequest) put them
// in pgp.Options, which writes them into the hashed area.
func keyNotations(cfg *config.Config, name string) []*packet.Notation {
	k := cfg.Keys[name]
	if k == nil || len(k.Notations) == 0 {
		return nil
	}
	out := make([]*packet.Notation, 0, len(k.Notations))
	for _, n := range k.Notations {
		out = append(out, &packet.Notation{Name: n.Name, Value: []byte(n.Value), IsHumanReadable: n.IsHumanReadable()})
	}
	return out
}

// notationList is the NOTATIONS cell of key list: what every signature of
// the key carries besides signstar's own, name="value" each, or "-".
func notationList(ns []config.Notation) string {
	if len(ns) == 0 {
		return "-"
	}
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, ", ")
}
