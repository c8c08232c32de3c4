package modules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TPM2Store is where tpm2-pkcs11 looks for its store when
// TPM2_PKCS11_STORE is not set (then $HOME/.tpm2_pkcs11, then the working
// directory, which signstar does not guess).
const TPM2Store = "/etc/tpm2_pkcs11"

// tpm2Access returns what tpm2-pkcs11 still needs at sign time, given the
// values of TPM2_PKCS11_STORE and TPM2_PKCS11_TCTI:
//
//   - its store directory, for [Access.KeepOpen] only: the module keeps
//     its SQLite database open from C_Initialize to C_Finalize (SQLite
//     stats it by path and by descriptor when closing, which Landlock
//     does not confine) but reads and writes nothing in it at sign time:
//     objects are loaded at C_Login, before lockdown;
//   - for TCTI tabrmd (and the TSS default, which tries tabrmd first), the
//     AF_UNIX stream sockets connected at C_Initialize: the TPM command
//     socket tpm2-abrmd passed over D-Bus and the D-Bus connection itself;
//   - for TCTI device (the kernel's resource manager, /dev/tpmrm0), the
//     device, opened at C_Initialize and kept open.
//
// Measured with tpm2-pkcs11 1.9.0 and tpm2-tss 3.2.1 (Debian 12).
func tpm2Access(store, tcti string) (Access, error) {
	if store == "" {
		store = TPM2Store
	}
	if !filepath.IsAbs(store) {
		return Access{}, fmt.Errorf("tpm2-pkcs11 store %q (TPM2_PKCS11_STORE) is not an absolute path", store)
	}
	if _, err := os.Stat(filepath.Join(store, "tpm2_pkcs11.sqlite3")); err != nil {
		return Access{}, fmt.Errorf("find tpm2-pkcs11 store: %v; set TPM2_PKCS11_STORE to the directory 'tpm2_ptool init' made", err)
	}
	a := Access{KeepOpen: []string{filepath.Clean(store)}}
	name, conf, _ := strings.Cut(tcti, ":")
	switch name {
	case "", "tabrmd", "libtss2-tcti-tabrmd.so.0":
		a.Streams = true
		if name == "" {
			a.KeepOpen = append(a.KeepOpen, "/dev/tpmrm0", "/dev/tpm0")
		}
	case "device", "libtss2-tcti-device.so.0":
		if conf == "" {
			conf = "/dev/tpm0" // tcti-device's default
		}
		a.KeepOpen = append(a.KeepOpen, conf)
		a.Streams = true // tcti-device polls the device before reading
	default:
		// mssim, swtpm: TCP to a simulator; give its port in
		// [lockdown] connect-tcp.
	}
	return a, nil
}
