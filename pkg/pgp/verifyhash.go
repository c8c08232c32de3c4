package pgp

import (
	"crypto"
	"fmt"
	"hash"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// VerifyHash checks sig, one detached v4 binary-document signature
// (armored or binary), against cert, given h: a hash of type alg that has
// already absorbed the data. This is how a client that hashed a file once,
// to send the hash state as a request, checks the signature it gets back
// without reading the file a second time.
//
// h is left as it was: a copy of it is finished with the signature's
// hashed trailer (RFC 4880 section 5.2.4), which is what go-crypto's
// VerifyDetached does after it has hashed the data itself. A
// canonical-text signature is refused, as its hash is over other bytes
// (CRLF line ends) than the data's.
func VerifyHash(cert *Certificate, sig io.Reader, h hash.Hash, alg crypto.Hash) error {
	s, err := readSignature(sig)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if s.Hash != alg {
		return fmt.Errorf("verify: signature hash is %v, the data was hashed with %v", s.Hash, alg)
	}
	c, err := cloneHash(h, alg)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if err := cert.verify(s, c, packet.SigTypeBinary); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	return nil
}
