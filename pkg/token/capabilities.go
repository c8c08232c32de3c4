package token

import (
	"errors"
	"fmt"
	"slices"

	"github.com/miekg/pkcs11"
)

// ErrKeyType is wrapped by [Token.Generate]'s error when the token cannot
// make or sign with the key type asked for.
var ErrKeyType = errors.New("key type not supported by the token")

// keyMechs are the mechanisms a key type needs: one to generate the pair,
// one to sign with it, and the key size in bits the generating mechanism
// must allow. ulMinKeySize and ulMaxKeySize are bits for RSA and the field
// size in bits for EC and Edwards curves (PKCS#11 v3.0 Current Mechanisms
// sections 2.1.1, 2.3.1, 2.3.3).
type keyMechs struct {
	gen, sign uint
	bits      uint
}

var mechsOf = map[KeyType]keyMechs{
	Ed25519: {ckmECEdwardsKeyPairGen, ckmEdDSA, 255},
	RSA3072: {pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKM_RSA_PKCS, 3072},
	RSA4096: {pkcs11.CKM_RSA_PKCS_KEY_PAIR_GEN, pkcs11.CKM_RSA_PKCS, 4096},
	P256:    {pkcs11.CKM_EC_KEY_PAIR_GEN, pkcs11.CKM_ECDSA, 256},
	P384:    {pkcs11.CKM_EC_KEY_PAIR_GEN, pkcs11.CKM_ECDSA, 384},
}

// KeyTypes returns the key types the token can generate and sign with, by
// its mechanism list and each mechanism's flags and key sizes. PKCS#11 has
// no list of curves, so a token may still refuse a curve whose field size
// is in range; generation then fails with the token's error.
func (t *Token) KeyTypes() ([]KeyType, error) {
	infos, err := t.mechanisms()
	if err != nil {
		return nil, err
	}
	var types []KeyType
	for _, kt := range KeyTypes() {
		if offers(infos, mechsOf[kt], kt) {
			types = append(types, kt)
		}
	}
	return types, nil
}

// offers reports whether infos has km's mechanisms with the flags and key
// size kt needs.
func offers(infos map[uint]pkcs11.MechanismInfo, km keyMechs, kt KeyType) bool {
	gen, okGen := infos[km.gen]
	sign, okSign := infos[km.sign]
	if !okGen || !okSign || gen.Flags&pkcs11.CKF_GENERATE_KEY_PAIR == 0 || sign.Flags&pkcs11.CKF_SIGN == 0 {
		return false
	}
	// Ed25519's field is 255 bits; SoftHSM2 2.6 says 256.
	return inRange(km.bits, gen) || kt == Ed25519 && inRange(256, gen)
}

// inRange reports whether bits is within the mechanism's key sizes. A
// module may report 0..0 for "not applicable"; that passes.
func inRange(bits uint, mi pkcs11.MechanismInfo) bool {
	if mi.MinKeySize == 0 && mi.MaxKeySize == 0 {
		return true
	}
	return mi.MinKeySize <= bits && bits <= mi.MaxKeySize
}

// mechanisms returns what the token says of each mechanism in mechsOf that
// it lists; the others (tens on SoftHSM2) are not asked about.
func (t *Token) mechanisms() (map[uint]pkcs11.MechanismInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.hasSession {
		return nil, errClosed
	}
	info, err := t.mod.GetSessionInfo(t.session)
	if err != nil {
		return nil, fmt.Errorf("read session on %s: %s", t.name, ckr(err))
	}
	list, err := t.mod.GetMechanismList(info.SlotID)
	if err != nil {
		return nil, fmt.Errorf("list mechanisms of %s: %s", t.name, ckr(err))
	}
	used := make(map[uint]bool)
	for _, km := range mechsOf {
		used[km.gen], used[km.sign] = true, true
	}
	infos := make(map[uint]pkcs11.MechanismInfo)
	for _, m := range list {
		// miekg returns each mechanism type as a Mechanism without
		// parameters.
		if !used[m.Mechanism] {
			continue
		}
		mi, err := t.mod.GetMechanismInfo(info.SlotID, []*pkcs11.Mechanism{pkcs11.NewMechanism(m.Mechanism, nil)})
		if err != nil {
			continue // listed but not described: treat as absent
		}
		infos[m.Mechanism] = mi
	}
	return infos, nil
}

// checkKeyType fails if the token does not offer typ, naming the types it
// does offer.
func (t *Token) checkKeyType(typ KeyType) error {
	if _, ok := mechsOf[typ]; !ok {
		return fmt.Errorf("unknown key type %q", typ)
	}
	types, err := t.KeyTypes()
	if err != nil {
		return err
	}
	if slices.Contains(types, typ) {
		return nil
	}
	if len(types) == 0 {
		return errorf(ErrKeyType, "the token supports none of signstar's key types")
	}
	return errorf(ErrKeyType, "the token supports only %s", JoinKeyTypes(types, ", "))
}
