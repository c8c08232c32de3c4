package token

import (
	"fmt"

	"signstar/pkg/modules"
)

// What signstar knows about particular PKCS#11 modules, beyond what the
// PKCS#11 interface says, is package modules' table; package token asks it
// two questions.

// NeedsLock reports whether processes that share a token of the module at
// path must take turns through a lock file ([Options.LockFile]), as
// package modules says of its family ([modules.Module.NeedsLock]).
func NeedsLock(path string) bool {
	m, ok := modules.Of(path)
	return ok && m.NeedsLock
}

// detectTPM2 sets t.tpm2 and t.fl if the module's keys are TPM objects
// ([modules.Module.TPM]). tpm2-pkcs11 is recognized by the manufacturer it
// reports in C_GetInfo rather than by its file name, which varies.
func (t *Token) detectTPM2() error {
	info, err := t.mod.GetInfo()
	if err != nil {
		return fmt.Errorf("read PKCS#11 module info of %q: %s", t.mod.path, ckr(err))
	}
	if m, ok := modules.ByManufacturer(info.ManufacturerID); !ok || !m.TPM {
		return nil
	}
	fl, err := loadedFunctionList(t.mod.path)
	if err != nil {
		return err
	}
	t.tpm2, t.fl = true, fl
	return nil
}
