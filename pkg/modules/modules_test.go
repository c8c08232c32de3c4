package modules

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestModules holds each family to what the README's Tokens section says
// of it: which files are it, what it reports, what it needs after lockdown,
// the variables the login shell keeps for it, whether it needs a lock file.
func TestModules(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+dir+"/tokens\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	if err := os.WriteFile(filepath.Join(store, "tpm2_pkcs11.sqlite3"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SOFTHSM2_CONF": conf, "TPM2_PKCS11_STORE": store, "TPM2_PKCS11_TCTI": "device:/dev/tpmrm0"}
	getenv := func(name string) string { return env[name] }
	tests := []struct {
		name         string
		files        []string // paths of the family's modules
		manufacturer string   // what the module reports in C_GetInfo
		env          []string // variables the login shell keeps for it
		want         Access
		wantLock     bool
		wantTPM      bool
	}{
		{
			name:         "SoftHSM2",
			files:        []string{"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"},
			manufacturer: "SoftHSM",
			env:          []string{"SOFTHSM2_CONF"},
			want:         Access{ReadWrite: []string{dir + "/tokens"}},
			wantLock:     true,
		},
		{
			name:         "tpm2-pkcs11",
			files:        []string{"/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so.1", "/usr/lib/x86_64-linux-gnu/libtpm2_pkcs11.so"},
			manufacturer: "tpm2-software.github.io",
			env: []string{"TPM2_PKCS11_STORE", "TPM2_PKCS11_TCTI", "TPM2_PKCS11_LOG_LEVEL", "PKCS11_SQL_LOCK",
				"TSS2_LOG", "TSS2_FAPICONF", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS"},
			want:    Access{KeepOpen: []string{store, "/dev/tpmrm0"}, Streams: true},
			wantTPM: true,
		},
		{
			name:         "OpenSC",
			files:        []string{"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so"},
			manufacturer: "OpenSC Project",
			env:          []string{"OPENSC_CONF", "OPENSC_DRIVER", "OPENSC_DEBUG", "PCSCLITE_CSOCK_NAME"},
			want:         Access{Streams: true},
		},
		{
			name:         "ykcs11",
			files:        []string{"/usr/lib/x86_64-linux-gnu/libykcs11.so.2", "/usr/lib/x86_64-linux-gnu/libykcs11.so"},
			manufacturer: "Yubico (www.yubico.com)",
			env:          []string{"YKCS11_DBG", "YUBIKEY_PIV_PIN_TIMEOUT", "PCSCLITE_CSOCK_NAME"},
			want:         Access{Streams: true},
		},
		{
			name:         "NetHSM",
			files:        []string{"/usr/lib/x86_64-linux-gnu/pkcs11/libnethsm_pkcs11.so"},
			manufacturer: "Nitrokey",
			env:          []string{"P11NETHSM_CONFIG_FILE", "RUST_LOG"},
			want:         Access{}, // TCP to [lockdown] connect-tcp, from the config
		},
	}
	var tested []string
	for _, tt := range tests {
		tested = append(tested, tt.name)
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range tt.files {
				if m, ok := Of(f); !ok || m.Name != tt.name {
					t.Errorf("Of(%q) = %q, %t", f, m.Name, ok)
				}
			}
			m, ok := ByManufacturer(tt.manufacturer)
			if !ok || m.Name != tt.name {
				t.Fatalf("ByManufacturer(%q) = %q, %t", tt.manufacturer, m.Name, ok)
			}
			got, err := m.Access(getenv)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Access = %+v, want %+v", got, tt.want)
			}
			for _, name := range tt.env {
				if !slices.ContainsFunc(m.Env, func(p string) bool { return matches(p, name) }) || !ReadsEnv(name) {
					t.Errorf("%s reads %s, which the login shell would clear", tt.name, name)
				}
			}
			if m.NeedsLock != tt.wantLock || m.TPM != tt.wantTPM {
				t.Errorf("NeedsLock %t, TPM %t; want %t, %t", m.NeedsLock, m.TPM, tt.wantLock, tt.wantTPM)
			}
		})
	}
	var known []string
	for _, m := range Known() {
		known = append(known, m.Name)
	}
	if !slices.Equal(known, tested) {
		t.Errorf("Known() = %q, tested %q: each family needs its case here", known, tested)
	}
}

// TestUnknown: a module the table does not know, a near miss of a known
// file name or another manufacturer is no family, and gets nothing.
func TestUnknown(t *testing.T) {
	for _, path := range []string{"/usr/lib/libother.so", "/usr/lib/softhsm/libsofthsm2.so.bak", "/usr/lib/x86_64-linux-gnu/pkcs11/onepin-opensc-pkcs11.so", "libtpm2_pkcs11", ""} {
		if m, ok := Of(path); ok {
			t.Errorf("Of(%q) = %q", path, m.Name)
		}
	}
	for _, id := range []string{"", "SoftHSM ", "softhsm", "Yubico"} {
		if m, ok := ByManufacturer(id); ok {
			t.Errorf("ByManufacturer(%q) = %q", id, m.Name)
		}
	}
	if a, err := (Module{}).Access(nil); err != nil || !reflect.DeepEqual(a, Access{}) {
		t.Errorf("unknown module's Access = %+v, %v; want nothing", a, err)
	}
}

// TestReadsEnv: the variables no known module reads, and those left out
// on purpose because they make a module load other code, are not kept.
func TestReadsEnv(t *testing.T) {
	for _, name := range []string{"", "LANG", "LC_ALL", "LD_PRELOAD", "LD_LIBRARY_PATH", "LIBPCSCLITE_DELEGATE", "PKCS11SPY",
		"PIV_EXT_AUTH_KEY", "SOFTHSM2_CONF_X", "TPM2_PKCS11", "TSS2", "SSH_ORIGINAL_COMMAND", "HOME"} {
		if ReadsEnv(name) {
			t.Errorf("ReadsEnv(%q) = true", name)
		}
	}
}

// TestAccessError: what a module cannot find at lockdown is an error that
// names the variable to set.
func TestAccessError(t *testing.T) {
	tests := []struct {
		module string
		env    map[string]string
		want   string
	}{
		{"libsofthsm2.so", map[string]string{"SOFTHSM2_CONF": filepath.Join(t.TempDir(), "missing.conf")}, "read SoftHSM2 configuration: "},
		{"libtpm2_pkcs11.so.1", map[string]string{"TPM2_PKCS11_STORE": t.TempDir()}, "set TPM2_PKCS11_STORE to the directory 'tpm2_ptool init' made"},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			m, _ := Of(tt.module)
			_, err := m.Access(func(name string) string { return tt.env[name] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Access: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestKnownIsFresh: a caller that changes the table it was given changes
// no other caller's.
func TestKnownIsFresh(t *testing.T) {
	k := Known()
	k[0].NeedsLock = !k[0].NeedsLock
	k[0].Files[0] = "changed"
	k[1].Env[0] = "LD_PRELOAD"
	again := Known()
	if again[0].NeedsLock == k[0].NeedsLock || again[0].Files[0] == "changed" || ReadsEnv("LD_PRELOAD") {
		t.Error("a change to one caller's table reached the next")
	}
}
