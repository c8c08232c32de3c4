package token

import "path/filepath"

// What signstar knows about particular PKCS#11 modules, beyond what the
// PKCS#11 interface says. tpm2-pkcs11 is recognized by its C_GetInfo
// manufacturer instead (see detectTPM2), as its file names vary.

// NeedsLock reports whether processes that share a token of module must
// take turns through a lock file ([Options.LockFile]).
//
// SoftHSM2's file store needs one: every successful C_Login rewrites the
// token's object file (Token::loginUser calls setTokenFlags, SoftHSMv2
// src/lib/slot_mgr/Token.cpp), and a process that reads the store at that
// moment (C_Initialize) drops the token as invalid, so its slot is missing
// (measured here: up to 7 of 16 concurrent signers failed). tpm2-pkcs11
// locks its SQLite store itself; smartcards and network HSMs serialize in
// their daemon or device.
func NeedsLock(module string) bool { return isSoftHSM(module) }

// isSoftHSM reports whether module is SoftHSM2, whatever directory the
// distribution put it in.
func isSoftHSM(module string) bool { return filepath.Base(module) == "libsofthsm2.so" }
