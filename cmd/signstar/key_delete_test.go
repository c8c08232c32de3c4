package main

// signstar key delete on a SoftHSM2 token: pkcs11-tool lists the key
// pair no more, the config names the key no more, its files are in
// certs/deleted/, sign --key NAME says the key is not configured; every
// refusal changes nothing; each attempt leaves its audit record.

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"signstar/pkg/config"
)

// tokenIDs counts the objects pkcs11-tool lists on the fixture's token,
// by CKA_ID.
func (f *fixture) tokenIDs() map[string]int {
	f.t.Helper()
	out, err := f.p11("--list-objects").run()
	if err != nil {
		f.t.Fatalf("pkcs11-tool --list-objects: %v\n%s", err, out)
	}
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^\s*ID:\s*([0-9a-f]+)$`).FindAllStringSubmatch(string(out), -1) {
		ids[m[1]]++
	}
	return ids
}

// keyID is the CKA_ID the config gives key name.
func (f *fixture) keyID(name string) string {
	f.t.Helper()
	cfg, err := config.Load(f.conf)
	if err != nil {
		f.t.Fatal(err)
	}
	k, ok := cfg.Keys[name]
	if !ok {
		f.t.Fatalf("no key %q in the config", name)
	}
	return strings.ToLower(k.ID)
}

// deleteSnapshot is what a refused delete must leave as it was.
type deleteSnapshot struct {
	conf  string
	certs map[string]string
	ids   map[string]int
}

func (f *fixture) deleteState() deleteSnapshot {
	f.t.Helper()
	s := deleteSnapshot{conf: string(readT(f.t, f.conf)), certs: map[string]string{}, ids: f.tokenIDs()}
	filepath.WalkDir(filepath.Join(f.dir, "certs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			s.certs[p] = string(readT(f.t, p))
		}
		return nil
	})
	return s
}

func (s deleteSnapshot) equal(o deleteSnapshot) bool {
	if s.conf != o.conf || len(s.certs) != len(o.certs) || len(s.ids) != len(o.ids) {
		return false
	}
	for k, v := range s.certs {
		if o.certs[k] != v {
			return false
		}
	}
	for k, v := range s.ids {
		if o.ids[k] != v {
			return false
		}
	}
	return true
}

func TestKeyDeleteRefusals(t *testing.T) {
	f := newFixture(t)
	f.generate("main", "ed25519") // the first key: the default
	f.generate("b", "p256")
	conf := string(readT(t, f.conf))
	shared := conf + "\n[keys.alias]\ntype = \"p256\"\nid = \"" + f.keyID("b") + "\"\ncert = \"certs/b.asc\"\n"
	tests := []struct {
		name   string
		conf   string
		args   []string
		code   int
		want   string
		result string
	}{
		{"no --yes", conf, []string{"--name", "b"}, exitRefused, `key delete would take key "b" out of the config: fingerprint `, "refused"},
		{"no --yes, kept on the token", conf, []string{"--name", "b", "--keep-on-token"}, exitRefused, "kept on the token; nothing was deleted", "refused"},
		{"the default key, --yes once", conf, []string{"--name", "main", "--yes"}, exitRefused, `key "main" is the default key`, "refused"},
		{"a key pair another key names", shared, []string{"--name", "b", "--yes"}, exitRefused, `key "alias" names the same key pair on the token`, "refused"},
		{"unknown key", conf, []string{"--name", "nope", "--yes"}, exitFailed, `key "nope" is not configured`, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeT(t, f.conf, []byte(tt.conf))
			before := f.deleteState()
			n := len(readKeyEvents(t, f))
			r := f.run(nil, append([]string{"key", "delete"}, tt.args...)...)
			assertError(t, r, tt.code, tt.want)
			if !f.deleteState().equal(before) {
				t.Error("a refused delete changed the config, certs/ or the token")
			}
			events := readKeyEvents(t, f)
			if len(events) != n+1 {
				t.Fatalf("%d new records, want 1", len(events)-n)
			}
			events[n].want(t, map[string]string{"SIGNSTAR_RESULT": tt.result, "SIGNSTAR_EVENT": "delete",
				"SIGNSTAR_KEY": strings.Fields(tt.args[1])[0], "SIGNSTAR_ERROR": "*"})
		})
	}
}

func TestKeyDelete(t *testing.T) {
	f := newFixture(t)
	f.generate("main", "ed25519")
	cert := f.generate("b", "p256")
	f.ok(nil, "key", "x509", "self-sign", "--name", "b", "--subject", "CN=b")
	f.generate("kept", "ed25519")
	id, keptID := f.keyID("b"), f.keyID("kept")
	fpr := strings.TrimSpace(string(f.ok(nil, "key", "list")))
	fpr = regexp.MustCompile(`(?m)^b\s+\S+\s+([0-9A-F]{40})`).FindStringSubmatch(fpr)[1]
	if ids := f.tokenIDs(); ids[id] != 2 || ids[keptID] != 2 {
		t.Fatalf("before delete, pkcs11-tool lists %v, want a private and a public key for %s and %s", ids, id, keptID)
	}
	var files []string // the key's files before: certificate, X.509, revocation if made
	for _, ext := range []string{".asc", ".pem", ".rev"} {
		if p := filepath.Join(f.dir, "certs", "b"+ext); fileExists(p) {
			files = append(files, p)
		}
	}

	f.ok(nil, "key", "delete", "--name", "b", "--yes")
	if ids := f.tokenIDs(); ids[id] != 0 {
		t.Errorf("pkcs11-tool still lists %d objects with id %s", ids[id], id)
	}
	if bytes.Contains(readT(t, f.conf), []byte("[keys.b]")) {
		t.Errorf("the config still has [keys.b]:\n%s", readT(t, f.conf))
	}
	for _, p := range files {
		dst := filepath.Join(f.dir, "certs", "deleted", "b."+fpr+filepath.Ext(p))
		if fileExists(p) || !fileExists(dst) {
			t.Errorf("%s not moved to %s", p, dst)
		}
	}
	if got := readT(t, filepath.Join(f.dir, "certs", "deleted", "b."+fpr+".asc")); !bytes.Equal(got, cert) {
		t.Error("the moved certificate is not the key's")
	}
	lastKeyEvent(t, f).want(t, changedFields("delete", "b", fpr))
	if d := lastKeyEvent(t, f)["SIGNSTAR_DETAIL"]; !strings.Contains(d, "key pair (id "+id+") destroyed on the token") {
		t.Errorf("SIGNSTAR_DETAIL = %q", d)
	}
	assertError(t, f.run([]byte("data\n"), "sign", "--key", "b"), exitFailed, `key "b" is not configured`)
	if strings.Contains(string(f.ok(nil, "key", "list")), "\nb ") {
		t.Error("key list still shows b")
	}
	// The name is free again.
	f.generate("b", "ed25519")

	f.ok(nil, "key", "delete", "--name", "kept", "--keep-on-token", "--yes")
	if ids := f.tokenIDs(); ids[keptID] != 2 {
		t.Errorf("--keep-on-token: pkcs11-tool lists %d objects with id %s, want 2", ids[keptID], keptID)
	}
	if d := lastKeyEvent(t, f)["SIGNSTAR_DETAIL"]; !strings.Contains(d, "kept on the token") {
		t.Errorf("SIGNSTAR_DETAIL = %q", d)
	}
	// A key pair already gone from the token: the config entry still goes.
	f.generate("gone", "ed25519")
	goneID := f.keyID("gone")
	if out, err := f.p11("--delete-object", "--type", "privkey", "--id", goneID).run(); err != nil {
		t.Fatalf("pkcs11-tool --delete-object: %v\n%s", err, out)
	}
	f.ok(nil, "key", "delete", "--name", "gone", "--yes")
	if d := lastKeyEvent(t, f)["SIGNSTAR_DETAIL"]; !strings.Contains(d, "no key pair with id "+goneID+" on the token") {
		t.Errorf("SIGNSTAR_DETAIL = %q", d)
	}

	// The default key, with --yes twice.
	f.ok(nil, "key", "delete", "--name", "main", "--yes", "--yes")
	lastKeyEvent(t, f).want(t, map[string]string{"SIGNSTAR_RESULT": "changed", "SIGNSTAR_KEY": "main"})
}

// TestKeyDeleteRevoked: a revoked key, which signs nothing more, is shown
// as revoked and can still be deleted (its revocation certificate kept).
func TestKeyDeleteRevoked(t *testing.T) {
	f := newFixture(t)
	f.generate("main", "ed25519")
	f.generate("old", "ed25519")
	id := f.keyID("old")
	f.ok(nil, "key", "revoke", "--name", "old", "--reason", "retired")
	got := showFields(t, f.ok(nil, "key", "show", "--name", "old"))
	if !strings.HasPrefix(got["revoked"], "yes, ") || !strings.Contains(got["revoked"], "retired") {
		t.Errorf("key show of a revoked key: revoked: %q", got["revoked"])
	}
	if !strings.HasPrefix(got["on token"], "yes, ") {
		t.Errorf("key show of a revoked key: on token: %q", got["on token"])
	}
	f.ok(nil, "key", "delete", "--name", "old", "--yes")
	if ids := f.tokenIDs(); ids[id] != 0 {
		t.Errorf("pkcs11-tool still lists %d objects with id %s", ids[id], id)
	}
	moved, _ := filepath.Glob(filepath.Join(f.dir, "certs", "deleted", "old.*"))
	if len(moved) != 2 { // .asc (revoked) and .rev
		t.Errorf("certs/deleted holds %v, want the certificate and the revocation certificate", moved)
	}
}
