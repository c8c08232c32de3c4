package filesys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWithoutPath(t *testing.T) {
	_, statErr := os.Stat(filepath.Join(t.TempDir(), "missing"))
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"path error", statErr, "no such file or directory"},
		{"wrapped path error", fmt.Errorf("load: %w", &fs.PathError{Op: "open", Path: "/m.so", Err: syscall.EACCES}), "permission denied"},
		{"other error", errors.New("CKR_GENERAL_ERROR"), "CKR_GENERAL_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WithoutPath(tt.err).Error(); got != tt.want {
				t.Fatalf("WithoutPath(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	if err := SyncDir(dir); err != nil {
		t.Fatalf("SyncDir(%s): %v", dir, err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SyncDir(missing) = %v, want ErrNotExist", err)
	}
}
