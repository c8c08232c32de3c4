package audit

import (
	"fmt"
	"path/filepath"
	"strings"
)

// This file is the one grammar of an audit sink spec, the value of the
// config's [audit] sink and of init's --audit. The config checks a spec
// through [ParseSink], the lockdown keeps the file through [SinkFile], and
// [Open] opens what it names: all three read it here.

// ParseSink checks a sink spec: "journald" or "" (the default), "stderr",
// or "file:PATH" with an absolute, clean PATH. A clean path is required
// because the lockdown keeps the file by name: "/a/../b" would pass here
// and fail there.
func ParseSink(spec string) error {
	_, _, err := parseSink(spec)
	return err
}

// SinkFile is the file a valid spec names, if it is a file sink.
func SinkFile(spec string) (path string, ok bool) {
	kind, path, err := parseSink(spec)
	return path, err == nil && kind == "file"
}

// parseSink reads spec into the kind of sink, "journald", "stderr" or
// "file", and the file's path.
func parseSink(spec string) (kind, path string, err error) {
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
