package keyring

// Deleting a key: 'signstar key delete'. The config entry goes first, so
// that from then on signstar no longer signs with the key whatever
// happens next; then the key's files are moved aside; then, unless kept,
// the key pair is destroyed on the token, the one step that cannot be
// undone, last.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"signstar/internal/filesys"
	"signstar/pkg/config"
	"signstar/pkg/refusal"
	"signstar/pkg/token"
)

// DeletedDir is the directory, beside each of a deleted key's files,
// where they are moved to: the certificate still verifies the key's old
// signatures, and the revocation certificate is what revokes the key
// publicly once it is gone from the token.
const DeletedDir = "deleted"

// Deletion is what deleting a key does, worked out by [PlanDelete]
// before anything changes.
type Deletion struct {
	Name        string
	Fingerprint string // the OpenPGP fingerprint, "" if the certificate cannot be read
	ID          []byte // CKA_ID of the key pair
	Config      string // the config file its [keys.NAME] table is taken out of
	// Files are the key's files that exist (OpenPGP certificate, X.509
	// certificate, revocation certificate), each moved to Moved[i].
	Files, Moved []string
	// Token: the key pair is to be destroyed on the token.
	Token bool
}

// PlanDelete works out what deleting key name does, reading the config
// and the files but changing nothing and opening no token. keep keeps the
// key pair on the token. Destroying a key pair another configured key
// also names (the same CKA_ID) is refused.
func PlanDelete(cfg *config.Config, name string, keep bool) (*Deletion, error) {
	name, kc, err := cfg.Key(name)
	if err != nil {
		return nil, err
	}
	id, _ := kc.IDBytes() // validated by config.Parse
	d := &Deletion{Name: name, ID: id, Config: cfg.Path(), Token: !keep}
	if cert, err := LoadCert(cfg, kc); err == nil {
		d.Fingerprint = cert.Fingerprint()
	}
	for _, path := range keyFiles(cfg, kc) {
		if _, err := os.Lstat(path); err != nil {
			continue
		}
		d.Files = append(d.Files, path)
		d.Moved = append(d.Moved, movedPath(path, d.Fingerprint))
	}
	if other := sharedID(cfg, name, id); d.Token && other != "" {
		return nil, refusal.Errorf("key %q names the same key pair on the token (id %x) as %q; destroying it would break %q", other, id, name, other)
	}
	for _, dst := range d.Moved {
		if _, err := os.Lstat(dst); err == nil {
			return nil, refusal.Errorf("%s exists; refusing to overwrite it", dst)
		}
	}
	return d, nil
}

// keyFiles are the files key kc may have: its certificate, X.509
// certificate and revocation certificate.
func keyFiles(cfg *config.Config, kc *config.Key) []string {
	files := []string{cfg.Resolve(kc.Cert)}
	if kc.X509 != "" {
		files = append(files, cfg.Resolve(kc.X509))
	}
	return append(files, RevocationPath(cfg, kc))
}

// movedPath is where path goes: deleted/NAME.FINGERPRINT.EXT beside it,
// so that a key of the same name made and deleted later does not meet it.
func movedPath(path, fpr string) string {
	dir, base := filepath.Split(path)
	ext := filepath.Ext(base)
	if fpr != "" {
		base = strings.TrimSuffix(base, ext) + "." + fpr + ext
	}
	return filepath.Join(dir, DeletedDir, base)
}

// sharedID is another configured key with CKA_ID id, or "".
func sharedID(cfg *config.Config, name string, id []byte) string {
	for _, other := range cfg.KeyNames() {
		oid, _ := cfg.Keys[other].IDBytes()
		if other != name && bytes.Equal(oid, id) {
			return other
		}
	}
	return ""
}

// DeleteKey carries out d: the key leaves the config, its files are moved
// aside, and, if d.Token, its key pair is destroyed on kr's token (kr may
// be nil otherwise). It reports whether the token held the key pair.
// What was done before a step failed stays done, and the error says
// which step failed.
func DeleteKey(cfg *config.Config, kr *Keyring, d *Deletion) (onToken bool, err error) {
	if d.Token && kr == nil {
		return false, errors.New("BUG: delete a key on the token without the token")
	}
	if err := cfg.RemoveKey(d.Name); err != nil {
		return false, err
	}
	for i, path := range d.Files {
		if err := moveAside(path, d.Moved[i]); err != nil {
			return false, fmt.Errorf("key %q is out of the config, but: %w", d.Name, err)
		}
	}
	if !d.Token {
		return false, nil
	}
	onToken, err = kr.HoldsKey(d.ID)
	if err == nil && onToken {
		err = kr.tok.Delete(d.ID)
	}
	if err != nil {
		return false, fmt.Errorf("key %q is out of the config and its files moved aside, but: %w", d.Name, err)
	}
	return onToken, nil
}

// HoldsKey reports whether the token holds a private key with CKA_ID id.
func (kr *Keyring) HoldsKey(id []byte) (bool, error) {
	_, err := kr.tok.KeyInfo(id)
	if errors.Is(err, token.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// KeyInfo is what the token says of the private key with CKA_ID id (see
// [token.Token.KeyInfo]); [token.ErrKeyNotFound] if it holds none.
func (kr *Keyring) KeyInfo(id []byte) (token.KeyInfo, error) { return kr.tok.KeyInfo(id) }

// moveAside moves path to dst, never replacing a file there: a hard link,
// then the old name removed, both directories synced.
func moveAside(path, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("move %s aside: %w", path, err)
	}
	if err := os.Link(path, dst); err != nil {
		return fmt.Errorf("move %s aside: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("move %s aside: %w", path, err)
	}
	if err := filesys.SyncDir(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("move %s aside: %w", path, err)
	}
	return filesys.SyncDir(filepath.Dir(path))
}
