package modules

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSoftHSMTokenDir(t *testing.T) {
	tests := []struct {
		name, conf, want string
		wantErr          bool
	}{
		{name: "debian default", conf: "# SoftHSM v2 configuration file\n\ndirectories.tokendir = /var/lib/softhsm/tokens/\nobjectstore.backend = file\n", want: "/var/lib/softhsm/tokens"},
		{name: "tokentest", conf: "directories.tokendir = /tmp/x/tokens\nobjectstore.backend = file\nlog.level = ERROR\n", want: "/tmp/x/tokens"},
		{name: "no spaces", conf: "directories.tokendir=/srv/tokens\n", want: "/srv/tokens"},
		{name: "commented out", conf: "# directories.tokendir = /elsewhere\n", want: softHSMTokenDir},
		{name: "last wins", conf: "directories.tokendir = /a\ndirectories.tokendir = /b\n", want: "/b"},
		{name: "empty", conf: "", want: softHSMTokenDir},
		{name: "relative", conf: "directories.tokendir = tokens\n", wantErr: true},
		{name: "blank value", conf: "directories.tokendir =\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := softHSMTokenDirOf([]byte(tt.conf))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSoftHSMPaths(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte("directories.tokendir = "+dir+"/tokens\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := SoftHSMPaths(conf)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{dir + "/tokens"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := SoftHSMPaths(filepath.Join(dir, "missing.conf")); err == nil {
		t.Error("no error for a missing configuration")
	}
}
