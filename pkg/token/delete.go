package token

import (
	"fmt"

	"github.com/miekg/pkcs11"
)

// Delete destroys the key pair with CKA_ID id (C_DestroyObject, PKCS#11
// v3.0 section 5.7). It exists to undo a Generate whose certificate could
// not be made: a key pair without a certificate is unusable, and its
// creation time, part of the OpenPGP fingerprint, is lost.
func (t *Token) Delete(id []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, class := range []uint{pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
		hs, err := t.findObjects(
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id))
		if err != nil {
			return fmt.Errorf("delete key %x on %s: %s", id, t.name, ckr(err))
		}
		for _, h := range hs {
			if err := t.mod.DestroyObject(t.session, h); err != nil {
				return fmt.Errorf("delete key %x on %s: %s", id, t.name, ckr(err))
			}
		}
	}
	return nil
}
