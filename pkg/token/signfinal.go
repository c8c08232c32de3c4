package token

// C_SignFinal called once, with a buffer already big enough.
//
// miekg/pkcs11 finishes a multi-part signature with two C_SignFinal calls,
// the first with no buffer to learn the length (PKCS#11 v3.0 base
// specification section 5.2). tpm2-pkcs11 1.9 answers that first call by
// restarting its hash of the message (sign_final_ex in src/lib/sign.c
// resets the digest whenever no signature was produced), so the second call
// signs the hash of nothing. One call with a modulus-sized buffer avoids
// the reset. miekg keeps the module's function list to itself, so we ask
// the already loaded module for it again.

/*
#cgo CFLAGS: -I/usr/include/p11-kit-1
#include <dlfcn.h>
#include <stdlib.h>
#include <p11-kit/pkcs11.h>

// function_list returns the function list of the module at path, which
// must already be loaded (RTLD_NOLOAD): it stays loaded after dlclose, as
// crypto11 and miekg hold their own references.
static CK_FUNCTION_LIST_PTR function_list(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
	if (h == NULL) {
		return NULL;
	}
	CK_FUNCTION_LIST_PTR fl = NULL;
	CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (get == NULL || get(&fl) != CKR_OK) {
		fl = NULL;
	}
	dlclose(h);
	return fl;
}

static CK_RV sign_final(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG *len) {
	return fl->C_SignFinal(s, sig, len);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/miekg/pkcs11"
)

// functionList is a loaded module's CK_FUNCTION_LIST.
type functionList struct{ p C.CK_FUNCTION_LIST_PTR }

// loadedFunctionList returns the function list of the module at path,
// which this process has already loaded.
func loadedFunctionList(path string) (functionList, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	fl := C.function_list(cpath)
	if fl == nil {
		return functionList{}, fmt.Errorf("BUG: PKCS#11 module %q is not loaded or has no function list", path)
	}
	return functionList{fl}, nil
}

// signFinal finishes the multi-part signature on session s in one call
// with a buffer of size bytes, which must be enough. Callers hold t.mu.
func (fl functionList) signFinal(s pkcs11.SessionHandle, size int) ([]byte, error) {
	buf := make([]byte, size)
	n := C.CK_ULONG(size)
	rv := C.sign_final(fl.p, C.CK_SESSION_HANDLE(s), (*C.CK_BYTE)(unsafe.Pointer(&buf[0])), &n)
	if rv != C.CKR_OK {
		return nil, pkcs11.Error(rv)
	}
	if int(n) > size {
		return nil, fmt.Errorf("token wrote a %d-byte signature into %d bytes", n, size)
	}
	return buf[:n], nil
}
