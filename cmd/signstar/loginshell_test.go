package main

// How sshd starts signstar (loginShell), and what environment the login
// shell keeps (keepEnv, clearEnv). The same shapes through a real sshd are
// in shapes_test.go.

import (
	"errors"
	"os"
	"strings"
	"testing"

	"signstar/pkg/refusal"
)

func TestLoginShell(t *testing.T) {
	const session = "SSH_CONNECTION=192.0.2.7 51234 192.0.2.1 22"
	pin := []string{"signstar", "-c", "signstar sign --key pkg"}
	tests := []struct {
		name     string
		args     []string
		env      []string
		wantOK   bool
		wantLine string
		wantErr  string // "" for none
		refused  bool   // the error is a refusal (exit 2), not a failure
	}{
		{name: "admin CLI", args: []string{"signstar", "key", "list"}, env: []string{session}},
		{name: "no arguments outside a session", args: []string{"signstar"}},
		{name: "login shell, no command", args: []string{"-signstar"}, env: []string{session}, wantOK: true},

		// Another shell with ForceCommand /usr/bin/signstar, or
		// command="signstar": "bash -c /usr/bin/signstar".
		{name: "forced under bash, client sent nothing", args: []string{"/usr/bin/signstar"}, env: []string{session}, wantOK: true},
		{name: "forced under bash, client command", args: []string{"/usr/bin/signstar"},
			env: []string{session, "SSH_ORIGINAL_COMMAND=sign --key pkg --armor"}, wantOK: true, wantLine: "sign --key pkg --armor"},

		// signstar as the shell, no forced command.
		{name: "client command", args: []string{"signstar", "-c", "sign --armor"}, wantOK: true, wantLine: "sign --armor"},
		{name: "client command with the program word", args: []string{"signstar", "-c", "signstar cert"}, wantOK: true, wantLine: "cert"},
		{name: "client bytes left to the grammar", args: []string{"signstar", "-c", "sign\u00a0--armor"}, wantOK: true, wantLine: "sign\u00a0--armor"},
		{name: "-c with two commands", args: []string{"signstar", "-c", "sign", "cert"}, wantOK: true,
			wantErr: "exactly one command after -c", refused: true},

		// The bare program word as the forced command: the client chooses.
		{name: "bare, client sent nothing", args: []string{"signstar", "-c", "signstar"}, wantOK: true},
		{name: "bare, client command", args: []string{"signstar", "-c", "signstar"},
			env: []string{"SSH_ORIGINAL_COMMAND=cert"}, wantOK: true, wantLine: "cert"},
		{name: "bare path, client command", args: []string{"signstar", "-c", "/usr/bin/signstar"},
			env: []string{"SSH_ORIGINAL_COMMAND=cert"}, wantOK: true, wantLine: "cert"},

		// A forced command with a request pins it.
		{name: "pinned, client sent nothing", args: pin, wantOK: true, wantLine: "sign --key pkg"},
		{name: "pinned, client sent an empty command", args: pin, env: []string{"SSH_ORIGINAL_COMMAND="}, wantOK: true, wantLine: "sign --key pkg"},
		{name: "pinned, client sent the same", args: pin, env: []string{"SSH_ORIGINAL_COMMAND=sign --key=pkg"}, wantOK: true, wantLine: "sign --key pkg"},
		{name: "pinned, client asks for another key", args: pin, env: []string{"SSH_ORIGINAL_COMMAND=sign --key repo"}, wantOK: true,
			wantLine: "sign --key repo", wantErr: "this key may only run: sign --key pkg", refused: true},
		{name: "pinned, client adds --armor", args: pin, env: []string{"SSH_ORIGINAL_COMMAND=sign --key pkg --armor"}, wantOK: true,
			wantLine: "sign --key pkg --armor", wantErr: "this key may only run: sign --key pkg", refused: true},
		{name: "pinned, client sends garbage", args: pin, env: []string{"SSH_ORIGINAL_COMMAND=cat /etc/passwd"}, wantOK: true,
			wantLine: "cat /etc/passwd", wantErr: "this key may only run: sign --key pkg", refused: true},
		{name: "pinned by path", args: []string{"signstar", "-c", "/usr/bin/signstar  cert --key pkg"},
			env: []string{"SSH_ORIGINAL_COMMAND=cert"}, wantOK: true, wantLine: "cert", wantErr: "this key may only run: cert --key pkg", refused: true},
		{name: "forced command signstar does not know", args: []string{"signstar", "-c", "signstar frobnicate"},
			env: []string{"SSH_ORIGINAL_COMMAND=cert"}, wantOK: true, wantLine: "cert", wantErr: "is not a signstar request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, ok, err := loginShell(tt.args, lookupIn(tt.env))
			if ok != tt.wantOK || line != tt.wantLine {
				t.Errorf("loginShell(%q) = %q, %v; want %q, %v", tt.args, line, ok, tt.wantLine, tt.wantOK)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one saying %q", err, tt.wantErr)
			case err != nil && errors.Is(err, refusal.Err) != tt.refused:
				t.Errorf("error %v: refusal = %v, want %v", err, !tt.refused, tt.refused)
			}
		})
	}
}

// lookupIn is os.LookupEnv over a list of NAME=value.
func lookupIn(env []string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, kv := range env {
			if k, v, _ := strings.Cut(kv, "="); k == name {
				return v, true
			}
		}
		return "", false
	}
}

func TestKeepEnv(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		// sshd's own, and the config's location.
		{"SSH_CONNECTION", true}, {"SSH_ORIGINAL_COMMAND", true}, {"SSH_USER_AUTH", true},
		{"USER", true}, {"LOGNAME", true}, {"HOME", true}, {"PATH", true}, {"SIGNSTAR_CONFIG", true},
		// What the known modules read.
		{"SOFTHSM2_CONF", true}, {"TPM2_PKCS11_STORE", true}, {"TPM2_PKCS11_TCTI", true},
		{"TSS2_LOG", true}, {"DBUS_SESSION_BUS_ADDRESS", true}, {"PCSCLITE_CSOCK_NAME", true},
		{"OPENSC_CONF", true}, {"YKCS11_DBG", true}, {"P11NETHSM_CONFIG_FILE", true},
		// What Debian's sshd_config accepts from any client.
		{"LANG", false}, {"LC_ALL", false}, {"LC_CTYPE", false}, {"LANGUAGE", false},
		// What changes how a program or a module loads code.
		{"LD_PRELOAD", false}, {"LD_LIBRARY_PATH", false}, {"GODEBUG", false},
		{"LIBPCSCLITE_DELEGATE", false}, {"PKCS11SPY", false},
		// Near misses: a prefix is not a name.
		{"SSH", false}, {"SOFTHSM2_CONF_X", false}, {"TPM2_PKCS11", false}, {"SIGNSTAR_CONFIGX", false},
		{"", false}, {"TZ", false}, {"MAIL", false}, {"SHELL", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keepEnv(tt.name); got != tt.want {
				t.Errorf("keepEnv(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// TestClearEnv runs clearEnv on this process's environment and puts the
// environment back afterwards.
func TestClearEnv(t *testing.T) {
	saved := os.Environ()
	t.Cleanup(func() {
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	})
	for _, kv := range []string{"LANG=de_DE.UTF-8", "LC_ALL=tr_TR.UTF-8", "LD_PRELOAD=/tmp/x.so",
		"SOFTHSM2_CONF=/etc/softhsm/softhsm2.conf", "SSH_ORIGINAL_COMMAND=cert", "SIGNSTAR_CONFIG=/etc/signstar/config.toml"} {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	clearEnv()
	for _, k := range []string{"LANG", "LC_ALL", "LD_PRELOAD"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%s survived", k, v)
		}
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !keepEnv(k) {
			t.Errorf("%s survived", kv)
		}
	}
	for _, k := range []string{"SOFTHSM2_CONF", "SSH_ORIGINAL_COMMAND", "SIGNSTAR_CONFIG"} {
		if _, ok := os.LookupEnv(k); !ok {
			t.Errorf("%s was cleared", k)
		}
	}
}
