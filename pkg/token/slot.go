package token

import (
	"fmt"

	"github.com/miekg/pkcs11"
)

// name describes the token o selects, for messages.
func (o Options) name() string {
	switch {
	case o.Serial == "":
		return fmt.Sprintf("token %q", o.Label)
	case o.Label == "":
		return fmt.Sprintf("token with serial %q", o.Serial)
	}
	return fmt.Sprintf("token %q with serial %q", o.Label, o.Serial)
}

// selects reports whether the token described by info is the one o asks for.
func (o Options) selects(info pkcs11.TokenInfo) bool {
	if o.Serial != "" && info.SerialNumber != o.Serial {
		return false
	}
	return o.Label == "" || info.Label == o.Label
}

// findSlot returns the one slot whose token o selects. Two tokens that
// match are an error rather than a guess: signing with the wrong token's
// key cannot be undone.
func findSlot(m *module, o Options) (uint, error) {
	slots, err := m.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("list slots of PKCS#11 module %q: %w", m.path, rvError{err})
	}
	var found []uint
	for _, s := range slots {
		info, err := m.GetTokenInfo(s)
		if err != nil {
			return 0, fmt.Errorf("find %s: read token in slot %d: %w", o.name(), s, rvError{err})
		}
		if o.selects(info) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return 0, errorf(ErrTokenNotFound, "find %s: no token with that %s (%s)", o.name(), o.what(), count(len(slots), "slot"))
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("find %s: %d tokens have that %s; select by serial", o.name(), len(found), o.what())
}

// what names the token attributes o selects by.
func (o Options) what() string {
	switch {
	case o.Serial == "":
		return "label"
	case o.Label == "":
		return "serial"
	}
	return "label and serial"
}

// count says "1 slot" or "2 slots".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
