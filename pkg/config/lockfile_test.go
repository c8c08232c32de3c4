package config_test

import (
	"testing"

	"signstar/pkg/config"
)

func TestDefaultLockFile(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"system config", "/etc/signstar/config.toml", "/run/signstar/config.lock"},
		{"one of several accounts", "/etc/signstar/repo.toml", "/run/signstar/repo.lock"},
		{"unclean system path", "/etc//signstar/./config.toml", "/run/signstar/config.lock"},
		{"elsewhere: beside the config", "/srv/sign/signstar.toml", "signstar.lock"},
		{"below the system directory", "/etc/signstar/test/config.toml", "config.lock"},
		{"relative", "signstar.toml", "signstar.lock"},
		{"no extension", "/home/me/signstar", "signstar.lock"},
		{"named like a lock file", "/home/me/x.lock", "x.lock.lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := config.DefaultLockFile(tt.config); got != tt.want {
				t.Errorf("DefaultLockFile(%q) = %q, want %q", tt.config, got, tt.want)
			}
		})
	}
}
