package token

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/miekg/pkcs11"

	"signstar/internal/filesys"
)

// moduleMu orders module initialization and finalization within the
// process. The PKCS#11 module is process-wide state (PKCS#11 v3.0 base
// specification section 5.4.1): crypto11 and this package each hold a
// miekg handle to it, and only the one that initialized it may finalize it.
var moduleMu sync.Mutex

// module is this package's own handle to a PKCS#11 module that crypto11
// usually has initialized already.
type module struct {
	*pkcs11.Ctx
	path  string
	owner bool // we called C_Initialize, so we call C_Finalize
}

// checkModule rejects a module path that is not a regular file before
// dlopen, because miekg's New returns nil without saying why.
func checkModule(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errorf(ErrModule, "load PKCS#11 module %q: no such file", path)
	case err != nil:
		return errorf(ErrModule, "load PKCS#11 module %q: %v", path, filesys.WithoutPath(err))
	case !fi.Mode().IsRegular():
		return errorf(ErrModule, "load PKCS#11 module %q: not a regular file", path)
	}
	return nil
}

// loadModule opens path and initializes it unless crypto11 (or anyone else
// in this process) already has: C_Initialize then returns
// CKR_CRYPTOKI_ALREADY_INITIALIZED (PKCS#11 v3.0 base specification
// section 5.4.1), which here means the module is ready and not ours to
// finalize. Callers hold moduleMu.
func loadModule(path string) (*module, error) {
	if err := checkModule(path); err != nil {
		return nil, err
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, errorf(ErrModule, "load PKCS#11 module %q: dlopen failed or no C_GetFunctionList", path)
	}
	m := &module{Ctx: ctx, path: path, owner: true}
	if err := ctx.Initialize(); isCKR(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		m.owner = false
	} else if err != nil {
		ctx.Destroy()
		return nil, errorf(ErrModule, "initialize PKCS#11 module %q: %s", path, ckr(err))
	}
	return m, nil
}

// close finalizes the module if we initialized it, then drops our dlopen
// reference. Callers hold moduleMu.
func (m *module) close() error {
	var err error
	if m.owner {
		if e := m.Finalize(); e != nil {
			err = fmt.Errorf("finalize PKCS#11 module %q: %s", m.path, ckr(e))
		}
	}
	m.Destroy()
	return err
}
