package config

import (
	"crypto"
	"encoding/hex"
	"fmt"
)

// HashFunc returns the key's signature hash: SHA-512 unless the config
// asks for SHA-256 (for verifiers that predate SHA-512 support).
func (k *Key) HashFunc() (crypto.Hash, error) {
	switch k.Hash {
	case "", "sha512":
		return crypto.SHA512, nil
	case "sha256":
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("hash %q: want sha512 or sha256", k.Hash)
}

// IDBytes decodes the key's CKA_ID.
func (k *Key) IDBytes() ([]byte, error) {
	id, err := hex.DecodeString(k.ID)
	if err != nil || len(id) == 0 || len(id) > 64 {
		return nil, fmt.Errorf("id %q: want 1 to 64 bytes in hex", k.ID)
	}
	return id, nil
}
