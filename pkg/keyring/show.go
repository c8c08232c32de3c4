package keyring

// What the token holds of a configured key, for 'signstar key show': a
// key pair gone from the token is a state to show, not an error.

import (
	"errors"

	"signstar/pkg/config"
	"signstar/pkg/pgp"
	"signstar/pkg/token"
)

// TokenState is what the token holds of one configured key.
type TokenState struct {
	// Held: the token has a private key with the key's CKA_ID.
	Held bool
	// Info is what the token says of it, when Held.
	Info token.KeyInfo
	// Mismatch, when Held, is why the token key is not the
	// certificate's key (or cannot be compared); nil if it is.
	Mismatch error
}

// TokenState reads what the token holds of key kc, whose certificate is
// cert (nil: not compared). A token that cannot be searched is an error;
// a key pair it does not hold is a state.
func (kr *Keyring) TokenState(kc *config.Key, cert *pgp.Certificate) (TokenState, error) {
	id, _ := kc.IDBytes() // validated by config.Parse
	info, err := kr.tok.KeyInfo(id)
	if errors.Is(err, token.ErrKeyNotFound) {
		return TokenState{}, nil
	}
	if err != nil {
		return TokenState{}, err
	}
	s := TokenState{Held: true, Info: info}
	if cert == nil {
		return s, nil
	}
	priv, err := kr.tok.Key(id)
	if err == nil {
		err = cert.Matches(priv.Public())
	}
	s.Mismatch = err
	return s, nil
}
