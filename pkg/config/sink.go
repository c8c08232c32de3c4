package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// ParseSink reads an audit sink spec, the one grammar for it (package
// audit opens what it names): "journald" or "" (the default), "stderr",
// or "file:PATH" with an absolute, clean PATH. A clean path is required
// because the lockdown keeps the file by name: "/a/../b" would pass
// here and fail there.
func ParseSink(spec string) (kind, path string, err error) {
	switch {
	case spec == "" || spec == "journald":
		return "journald", "", nil
	case spec == "stderr":
		return "stderr", "", nil
	case strings.HasPrefix(spec, "file:"):
		path = strings.TrimPrefix(spec, "file:")
		if !filepath.IsAbs(path) || filepath.Clean(path) != path {
			return "", "", fmt.Errorf("audit sink %q: want file:PATH with an absolute, clean PATH", spec)
		}
		return "file", path, nil
	}
	return "", "", fmt.Errorf("audit sink %q: want journald, file:PATH or stderr", spec)
}
