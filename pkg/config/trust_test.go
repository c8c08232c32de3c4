package config

import (
	"errors"
	"os"
	"path/filepath"
	"signstar/internal/testenv"
	"strings"
	"testing"
)

// trustTree is a config, a module and a certificate under dir, all owned
// by root with safe modes; each test case then loosens one thing.
func trustTree(t *testing.T) (dir string, cfg *Config) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFatal(t, "ownership tests need root")
	}
	dir = t.TempDir() // 0700 root, below root's sticky /tmp
	for _, d := range []string{"etc", "etc/certs", "lib"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lib/module.so")
	write("etc/certs/repo.asc")
	doc := "[token]\nmodule = \"" + filepath.Join(dir, "lib/module.so") + "\"\nlabel = \"l\"\npin-file = \"pin\"\n" +
		"[keys.repo]\ntype = \"ed25519\"\nid = \"0a\"\ncert = \"certs/repo.asc\"\n"
	path := filepath.Join(dir, "etc/config.toml")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func TestCheckTrusted(t *testing.T) {
	const nobody = 65534
	tests := []struct {
		name    string
		loosen  func(t *testing.T, dir string) error
		trust   Trust
		wantErr string // empty: trusted
	}{
		{"all root", func(*testing.T, string) error { return nil }, RootOnly, ""},
		{"config writable by others", chmod("etc/config.toml", 0o666), RootOnly, "config: may be changed by someone other than root: %s/etc/config.toml has mode 0666"},
		{"config group-writable", chmod("etc/config.toml", 0o664), RootOnly, "etc/config.toml has mode 0664"},
		{"config owned by nobody", chown("etc/config.toml", nobody), RootOnly, "config: may be changed by someone other than root: %s/etc/config.toml belongs to uid 65534"},
		{"config owned by the trusted user", chown("etc/config.toml", nobody), Trust{UID: nobody}, ""},
		{"config directory writable", chmod("etc", 0o777), RootOnly, "config: may be changed by someone other than root: %s/etc has mode 0777"},
		{"module writable by others", chmod("lib/module.so", 0o666), RootOnly, "PKCS#11 module: may be changed by someone other than root: %s/lib/module.so has mode 0666"},
		{"module directory owned by nobody", chown("lib", nobody), RootOnly, "PKCS#11 module: may be changed by someone other than root: %s/lib belongs to uid 65534"},
		{"certs directory writable", chmod("etc/certs", 0o757), RootOnly, "certificate of key repo: may be changed by someone other than root: %s/etc/certs has mode 0757"},
		{"certificate owned by nobody", chown("etc/certs/repo.asc", nobody), RootOnly, "certificate of key repo: may be changed by someone other than root: %s/etc/certs/repo.asc belongs to uid 65534"},
		{"root's sticky directory", chmod("etc", os.ModeSticky|0o777), RootOnly, ""},
		{"module behind a link in a writable directory", func(t *testing.T, dir string) error {
			if err := os.Mkdir(filepath.Join(dir, "open"), 0o755); err != nil {
				return err
			}
			if err := chmod("open", 0o777)(t, dir); err != nil {
				return err
			}
			return swapModule(dir, filepath.Join(dir, "open/module.so"))
		}, RootOnly, "PKCS#11 module: may be changed by someone other than root: %s/open has mode 0777"},
		{"module behind a link to a loose file", func(t *testing.T, dir string) error {
			if err := os.WriteFile(filepath.Join(dir, "lib/loose.so"), nil, 0o644); err != nil {
				return err
			}
			if err := chmod("lib/loose.so", 0o646)(t, dir); err != nil {
				return err
			}
			if err := os.Symlink("loose.so", filepath.Join(dir, "lib/link.so")); err != nil {
				return err
			}
			return swapModule(dir, filepath.Join(dir, "lib/link.so"))
		}, RootOnly, "%s/lib/loose.so has mode 0646"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := trustTree(t)
			if err := tt.loosen(t, dir); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(filepath.Join(dir, "etc/config.toml"))
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.CheckTrusted(tt.trust)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckTrusted: %v", err)
				}
				return
			}
			want := tt.wantErr
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", dir)
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("CheckTrusted = %v, want an error containing %q", err, want)
			}
			if !errors.Is(err, ErrUntrusted) {
				t.Errorf("error %v is not ErrUntrusted", err)
			}
		})
	}
}

func chmod(name string, mode os.FileMode) func(*testing.T, string) error {
	return func(_ *testing.T, dir string) error { return os.Chmod(filepath.Join(dir, name), mode) }
}

func chown(name string, uid int) func(*testing.T, string) error {
	return func(_ *testing.T, dir string) error { return os.Chown(filepath.Join(dir, name), uid, -1) }
}

// swapModule points the config's token.module at path (which may be a
// link) by rewriting the config.
func swapModule(dir, path string) error {
	if _, err := os.Lstat(path); err != nil {
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(dir, "etc/config.toml")
	doc, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	doc = []byte(strings.Replace(string(doc), filepath.Join(dir, "lib/module.so"), path, 1))
	return os.WriteFile(cfgPath, doc, 0o644)
}
