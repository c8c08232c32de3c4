package keyring

import "crypto"

// Signer is the token key as a crypto.Signer, for a signature that reads
// no input, such as a transparency log checkpoint (package translog). It
// signs under the lock rule: the Keyring holds the lock from Open to
// Close except while [Key.Sign] and its kind read input, so a signature
// through Signer is made with the lock held.
func (k *Key) Signer() crypto.Signer { return k.guard }
