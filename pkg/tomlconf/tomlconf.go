// Package tomlconf is how signstar reads its TOML files (the signing
// host's config, the client's): strictly. A key the file's type does not
// have is an error naming the key and its line, because a misspelt
// security setting that is silently ignored is worse than a refusal to
// start.
package tomlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// MaxSize bounds a TOML file signstar reads; a real one is a few hundred
// bytes.
const MaxSize = 1 << 20

// Read reads all of r, the file to decode, refusing more than [MaxSize]
// bytes.
func Read(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxSize)
	}
	return data, nil
}

// Decode decodes the TOML document data into v, refusing keys v does not
// have; errors are one line naming the key and its line.
func Decode(data []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeError turns go-toml's errors into one line naming key and line.
func decodeError(err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		row, _ := e.Position()
		return fmt.Errorf("line %d: unknown key %q", row, strings.Join(e.Key(), "."))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); len(k) > 0 {
			return fmt.Errorf("line %d: key %q: %s", row, strings.Join(k, "."), msg)
		}
		return fmt.Errorf("line %d: %s", row, msg)
	}
	return err
}
