// Package modules holds what signstar knows about particular PKCS#11
// modules beyond what the PKCS#11 interface says: one [Module] per family
// (SoftHSM2, tpm2-pkcs11, OpenSC, ykcs11, Nitrokey's nethsm-pkcs11), in
// one table, [Known].
//
// Each quirk is written here once and read from here by every caller:
//
//   - the lockdown policy: what the module reads, writes and keeps open at
//     sign time ([Module.Access]);
//   - the login shell's environment allowlist: which variables the known
//     modules read ([ReadsEnv]); the rest is cleared;
//   - signstar init and check, and package token: whether processes that
//     share a token must take turns through a lock file
//     ([Module.NeedsLock]);
//   - package token: whether the keys are TPM objects, recognized by what
//     the loaded module reports ([ByManufacturer], [Module.TPM]).
//
// Adding a module family is one entry in [Known] and one case in its
// table test. A module the table does not know gets nothing after lockdown
// beyond the config's [lockdown] section, keeps no environment variable
// and needs no lock file.
//
// The package describes modules and never loads one: it imports the
// standard library only, and reads the environment only through the getenv
// its caller passes.
package modules

import (
	"path/filepath"
	"slices"
	"strings"
)

// Module describes one family of PKCS#11 modules.
type Module struct {
	// Name names the family in messages and tests: "SoftHSM2".
	Name string
	// Files are the base names of the family's .so files, whatever
	// directory a distribution puts them in; a trailing '*' matches any
	// suffix (libtpm2_pkcs11.so.1).
	Files []string
	// Manufacturer is the manufacturerID the module reports in C_GetInfo
	// (PKCS#11 v3.0 base specification section 3.1, CK_INFO), without its
	// blank padding: what the module says it is, whatever its file is
	// called.
	Manufacturer string
	// Env are the environment variables the module and the libraries it
	// loads read, from their source; a trailing '*' is a prefix. Left out
	// on purpose: variables that only make a module load other code
	// (pcsc-lite's LIBPCSCLITE_DELEGATE, OpenSC's PKCS11SPY), per-card
	// secrets (OpenSC's PIV_EXT_AUTH_KEY, *_CAN) and passwords read from
	// the environment (the NetHSM config's "env:NAME"): the PIN comes from
	// pin-file.
	Env []string
	// NeedsLock says that processes sharing a token of this module must
	// take turns through a lock file (token.lock-file). tpm2-pkcs11 locks
	// its SQLite store itself; smartcards and network HSMs serialize in
	// their daemon or device.
	NeedsLock bool
	// TPM says that the module's keys are TPM objects with tpm2-pkcs11's
	// quirks: package token makes their public half's template match the
	// TPM object and has the module hash RSA messages itself.
	TPM bool

	// access says what the module needs at sign time; nil for nothing.
	access func(getenv func(string) string) (Access, error)
}

// Access is what a module still needs once signstar is locked down; the
// fields are the sandbox policy's of the same names.
type Access struct {
	// ReadWrite are files and directories it reads and writes at sign
	// time.
	ReadWrite []string
	// KeepOpen are files it opened before lockdown and keeps open, with no
	// new access granted.
	KeepOpen []string
	// Streams says that it keeps talking over stream descriptors (sockets,
	// a device) it opened before lockdown.
	Streams bool
}

// Access returns what m needs at sign time, found where the module looks
// for its configuration: getenv is the environment the module sees.
func (m Module) Access(getenv func(string) string) (Access, error) {
	if m.access == nil {
		return Access{}, nil
	}
	return m.access(getenv)
}

// Known returns the table of the module families signstar knows, new on
// every call. The environment variables are each module's at the version
// Debian 12 ships, read from its source.
func Known() []Module {
	return []Module{{
		Name:         "SoftHSM2",
		Files:        []string{"libsofthsm2.so"},
		Manufacturer: "SoftHSM",
		// SoftHSM2 2.6.1, SimpleConfigLoader.cpp: its configuration file.
		Env: []string{"SOFTHSM2_CONF"},
		// The file store needs a lock: every successful C_Login rewrites
		// the token's object file (Token::loginUser calls setTokenFlags,
		// SoftHSMv2 src/lib/slot_mgr/Token.cpp), and a process that reads
		// the store at that moment (C_Initialize) drops the token as
		// invalid, so its slot is missing (measured here: up to 7 of 16
		// concurrent signers failed).
		NeedsLock: true,
		access:    softHSM2Access,
	}, {
		Name:         "tpm2-pkcs11",
		Files:        []string{"libtpm2_pkcs11.so*"},
		Manufacturer: "tpm2-software.github.io",
		Env: []string{
			// tpm2-pkcs11 1.9.0, src/lib: TPM2_PKCS11_STORE, _TCTI,
			// _BACKEND, _LOG_LEVEL, _ESAPI_MANAGE_FLAGS, _OWNER_AUTH;
			// db.c: PKCS11_SQL_LOCK.
			"TPM2_PKCS11_*", "PKCS11_SQL_LOCK",
			// tpm2-tss 3.2.1, util/log.c and tss2-fapi: TSS2_LOG,
			// TSS2_LOGFILE, TSS2_FAPICONF.
			"TSS2_*",
			// tpm2-abrmd's TCTI (tabrmd:bus_type=session|system) finds
			// its bus through GLib's GDBus.
			"DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS",
		},
		TPM: true,
		access: func(getenv func(string) string) (Access, error) {
			return tpm2Access(getenv("TPM2_PKCS11_STORE"), getenv("TPM2_PKCS11_TCTI"))
		},
	}, {
		Name:         "OpenSC",
		Files:        []string{"opensc-pkcs11.so"},
		Manufacturer: "OpenSC Project",
		// OpenSC 0.23.0, libopensc/ctx.c; and pcscd's socket.
		Env:    []string{"OPENSC_CONF", "OPENSC_DRIVER", "OPENSC_DEBUG", pcscSocket},
		access: pcscdAccess,
	}, {
		Name:         "ykcs11",
		Files:        []string{"libykcs11.so*"},
		Manufacturer: "Yubico (www.yubico.com)",
		// yubico-piv-tool 2.2.0: ykcs11.c's debug level; lib/internal.c's
		// per-setting YUBIKEY_PIV_<SETTING> overrides; and pcscd's socket.
		Env:    []string{"YKCS11_DBG", "YUBIKEY_PIV_*", pcscSocket},
		access: pcscdAccess,
	}, {
		// A NetHSM is reached over TCP: the ports are the config's
		// [lockdown] connect-tcp, the addresses pinned by the firewall
		// (sshd/signstar-nethsm.nft), as Landlock cannot see them.
		Name:         "NetHSM",
		Files:        []string{"libnethsm_pkcs11.so"},
		Manufacturer: "Nitrokey", // nethsm-pkcs11 pkcs11/src/defs.rs
		// Nitrokey nethsm-pkcs11 1.7 and 2.2, config_file/src/lib.rs, and
		// RUST_LOG for its env_logger (config/logging.rs).
		Env: []string{"P11NETHSM_CONFIG_FILE", "RUST_LOG"},
	}}
}

// pcscSocket names pcscd's socket for the pcsc-lite 1.9.9 client
// (winscard_msg.c), which smartcard modules talk through.
const pcscSocket = "PCSCLITE_CSOCK_NAME"

// pcscdAccess is what a smartcard module needs at sign time: pcscd's
// socket, connected at C_Initialize. libpcsclite's MessageReceiveTimeout
// polls it, then reads; MessageSend writes. Read from pcsc-lite 1.9's
// source, not measured: no card here (see README, Tokens).
func pcscdAccess(func(string) string) (Access, error) {
	return Access{Streams: true}, nil
}

// Of returns the family of the module at path, known by its file name.
func Of(path string) (Module, bool) {
	base := filepath.Base(path)
	for _, m := range Known() {
		if slices.ContainsFunc(m.Files, func(pattern string) bool { return matches(pattern, base) }) {
			return m, true
		}
	}
	return Module{}, false
}

// ByManufacturer returns the family whose modules report manufacturer in
// C_GetInfo.
func ByManufacturer(manufacturer string) (Module, bool) {
	for _, m := range Known() {
		if m.Manufacturer == manufacturer {
			return m, true
		}
	}
	return Module{}, false
}

// ReadsEnv reports whether a known module reads the environment variable
// name (see [Module.Env]).
func ReadsEnv(name string) bool {
	for _, m := range Known() {
		if slices.ContainsFunc(m.Env, func(pattern string) bool { return matches(pattern, name) }) {
			return true
		}
	}
	return false
}

// matches reports whether name is pattern, or starts with pattern's prefix
// if pattern ends in '*'.
func matches(pattern, name string) bool {
	prefix, wild := strings.CutSuffix(pattern, "*")
	return name == pattern || wild && strings.HasPrefix(name, prefix)
}
