package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

func TestEncodeNative(t *testing.T) {
	tests := []struct {
		name   string
		fields []field
		want   string
	}{
		{"one line", []field{{"MESSAGE", "hello"}, {"PRIORITY", "6"}}, "MESSAGE=hello\nPRIORITY=6\n"},
		{"empty value", []field{{"SIGNSTAR_REQUEST", ""}}, "SIGNSTAR_REQUEST=\n"},
		{"value with =", []field{{"A", "b=c"}}, "A=b=c\n"},
		{"newline: binary form", []field{{"MESSAGE", "a\nb"}, {"B", "c"}},
			"MESSAGE\n\x03\x00\x00\x00\x00\x00\x00\x00a\nb\nB=c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := encodeNative(tt.fields)
			if string(got) != tt.want {
				t.Fatalf("encodeNative = %q, want %q", got, tt.want)
			}
			back, err := decodeNative(got)
			if err != nil || fmt.Sprint(back) != fmt.Sprint(tt.fields) {
				t.Fatalf("decodeNative = %v, %v", back, err)
			}
		})
	}
}

// decodeNative parses the native protocol as journald does
// (https://systemd.io/JOURNAL_NATIVE_PROTOCOL/).
func decodeNative(b []byte) ([]field, error) {
	var fs []field
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '=' && b[i] != '\n' {
			i++
		}
		if i == len(b) {
			return nil, errors.New("truncated name")
		}
		name := string(b[:i])
		if b[i] == '=' {
			rest := b[i+1:]
			j := 0
			for j < len(rest) && rest[j] != '\n' {
				j++
			}
			if j == len(rest) {
				return nil, errors.New("value without newline")
			}
			fs = append(fs, field{name, string(rest[:j])})
			b = rest[j+1:]
			continue
		}
		rest := b[i+1:]
		if len(rest) < 8 {
			return nil, errors.New("truncated length")
		}
		n := binary.LittleEndian.Uint64(rest)
		rest = rest[8:]
		if uint64(len(rest)) < n+1 || rest[n] != '\n' {
			return nil, errors.New("bad binary value")
		}
		fs = append(fs, field{name, string(rest[:n])})
		b = rest[n+1:]
	}
	return fs, nil
}
