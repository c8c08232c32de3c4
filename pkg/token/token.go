// Package token holds the PKCS#11 token signstar signs with.
//
// [Open] selects one token of a PKCS#11 module by label or serial and logs
// in. [Token.Generate] creates key pairs whose private half is a token
// object that is private, sensitive, never extractable and may only sign
// (no decrypt, unwrap, derive or sign-recover); [Token.Key] finds such a
// key again by CKA_ID. Both return a [crypto.Signer] whose private key
// never leaves the token:
//
//   - RSA signers make PKCS#1 v1.5 signatures of a digest (opts names the
//     hash); ECDSA signers return ASN.1 DER; both are driven by crypto11.
//   - Ed25519 signers make pure Ed25519 signatures (RFC 8032 section 5.1)
//     of the message they are given, through CKM_EDDSA, which crypto11
//     lacks; Public returns an [crypto/ed25519.PublicKey].
//   - RSA signers on tpm2-pkcs11 sign whole messages, which the module
//     hashes itself (SignMessage), and refuse digests with
//     [ErrMessageOnly]: see msgKey.
//
// [Token.KeyTypes] says which key types the token can make and sign with;
// Generate refuses others, wrapping [ErrKeyType].
//
// Every signature is verified against the public key read from the token
// before it is returned, so a faulty token cannot hand out a bad signature.
//
// Errors say what was being done and wrap [ErrModule], [ErrTokenNotFound],
// [ErrPIN] or [ErrKeyNotFound] where a caller may branch on them. No error
// contains the PIN.
//
// A PKCS#11 module is process-wide state: a process may hold several
// Tokens, but SoftHSM2 reads SOFTHSM2_CONF only when the first one opens.
// Processes that share a token serialize through [Options.LockFile];
// [NeedsLock] says which modules need that, and a token that cannot be
// found or read on such a module without a lock file is reported with that
// likely cause.
package token

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"signstar/internal/filesys"
)

// Options say which token to open and how.
type Options struct {
	Module string // path of the PKCS#11 module (.so)
	Label  string // token label (CK_TOKEN_INFO label); required unless Serial is set
	Serial string // token serial number; with Label, both must match
	PIN    string // user PIN

	// LockFile, if set, is created if missing (mode 0600, owned by the
	// owner of its directory; see [CreateLockFile]) and locked with
	// flock(2) LOCK_EX from Open until Close, so that processes sharing a
	// token take turns. [NeedsLock] says which modules need one.
	LockFile string
}

// Token is an open, logged-in PKCS#11 token. Its methods and the signers
// it returns are safe for concurrent use; none may be used after Close.
type Token struct {
	name   string // `token "signstar"`, for messages
	c11    *crypto11.Context
	mod    *module // our handle on the module crypto11 initialized
	lock   *os.File
	closed atomic.Bool

	mu         sync.Mutex // guards session: PKCS#11 sessions are single-threaded
	session    pkcs11.SessionHandle
	hasSession bool

	// tpm2 is set for tpm2-pkcs11, whose RSA keys sign only whole
	// messages (see msgKey) and whose key templates need adapting (see
	// tpm2PublicTemplate); fl is then its function list (see signFinal).
	tpm2 bool
	fl   functionList
}

// Open loads the PKCS#11 module, finds the token and logs in with the PIN.
func Open(o Options) (*Token, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	t := &Token{name: o.name()}
	if o.LockFile != "" {
		f, err := lockFile(o.LockFile)
		if err != nil {
			return nil, err
		}
		t.lock = f
	}
	if err := t.open(o); err != nil {
		t.unlock()
		return nil, o.unserialized(err)
	}
	return t, nil
}

// unserialized says why a token may have gone missing, or its store have
// been unreadable, when nothing makes the processes that share it take
// turns (see [NeedsLock]): otherwise the admin is sent looking for a token
// that is there, or for a PIN that is set.
func (o Options) unserialized(err error) error {
	if o.LockFile != "" || !NeedsLock(o.Module) {
		return err
	}
	const cause = "concurrent signstar processes without a lock file (token.lock-file) can make SoftHSM2 miss the token"
	switch {
	case errors.Is(err, ErrTokenNotFound):
		return errorf(ErrTokenNotFound, "%v; %s", err, cause)
	case isCKR(err, pkcs11.CKR_GENERAL_ERROR), isCKR(err, pkcs11.CKR_USER_PIN_NOT_INITIALIZED):
		// What SoftHSM2 answers when it read the token's file half
		// written: it could not read the token's flags
		// (Token::getTokenInfo, Token::loginUser), or found no user PIN
		// in it (Token::loginUser). Seen with 16 concurrent signers.
		return fmt.Errorf("%w; %s or fail to read it", err, cause)
	}
	return err
}

func (o Options) check() error {
	if o.Module == "" {
		return fmt.Errorf("open token: no PKCS#11 module given")
	}
	if o.Label == "" && o.Serial == "" {
		return fmt.Errorf("open token: neither label nor serial given")
	}
	return checkModule(o.Module)
}

// open lets crypto11 initialize the module and log in first, because
// crypto11.Configure fails if the module is already initialized; then it
// opens our own session beside crypto11's for EdDSA and key lookup.
func (t *Token) open(o Options) error {
	moduleMu.Lock()
	defer moduleMu.Unlock()
	c11, err := crypto11.Configure(o.crypto11Config())
	if err != nil {
		return configureError(o, err)
	}
	t.c11 = c11
	if err := t.attach(o); err != nil {
		t.release()
		return err
	}
	return nil
}

func (o Options) crypto11Config() *crypto11.Config {
	// One session keeps crypto11 logged in, one signs: signstar signs one
	// request per process, and some tokens allow few sessions.
	c := &crypto11.Config{Path: o.Module, Pin: o.PIN, MaxSessions: 2}
	if o.Serial != "" {
		c.TokenSerial = o.Serial // crypto11 takes one selector; findSlot checks the label too
	} else {
		c.TokenLabel = o.Label
	}
	return c
}

// crypto11NotFound is the message of crypto11's unexported
// token-not-found error (crypto11 v1.5.0, crypto11.go).
const crypto11NotFound = "could not find PKCS#11 token"

// configureError says which step of crypto11.Configure failed. crypto11
// does not say, and its token-not-found error is unexported, so unless the
// PIN was refused we load the module and look for the token ourselves.
// If we find the token crypto11 did not, it came and went while the
// module read its store.
func configureError(o Options, err error) error {
	if pinProblem(err) != "" {
		return loginError(o.name(), err)
	}
	m, lerr := loadModule(o.Module)
	if lerr != nil {
		return lerr
	}
	defer m.close()
	if _, ferr := findSlot(m, o); ferr != nil {
		return ferr
	}
	if err.Error() == crypto11NotFound {
		return errorf(ErrTokenNotFound, "find %s: the module did not list it, then did", o.name())
	}
	return fmt.Errorf("open %s: %w", o.name(), rvError{err})
}

// attach opens our session on the token crypto11 has opened.
func (t *Token) attach(o Options) error {
	m, err := loadModule(o.Module)
	if err != nil {
		return err
	}
	t.mod = m
	if m.owner {
		return fmt.Errorf("BUG: open %s: PKCS#11 module not initialized by crypto11", t.name)
	}
	if err := t.detectTPM2(); err != nil {
		return err
	}
	slot, err := findSlot(m, o)
	if err != nil {
		return err
	}
	// A R/W session, because a R/O one cannot create token objects
	// (PKCS#11 v3.0 base specification section 5.6.1).
	s, err := m.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION|pkcs11.CKF_RW_SESSION)
	if err != nil {
		return fmt.Errorf("open session on %s: %w", t.name, rvError{err})
	}
	t.session, t.hasSession = s, true
	return t.login(o.PIN)
}

// login makes sure our session is a user session. All sessions of one
// application with one token share one login state (PKCS#11 v3.0 base
// specification section 5.6), so after crypto11 logged in ours already is;
// we still check, as not every module keeps to that.
func (t *Token) login(pin string) error {
	info, err := t.mod.GetSessionInfo(t.session)
	if err != nil {
		return fmt.Errorf("read session state on %s: %w", t.name, rvError{err})
	}
	if info.State == pkcs11.CKS_RO_USER_FUNCTIONS || info.State == pkcs11.CKS_RW_USER_FUNCTIONS {
		return nil
	}
	err = t.mod.Login(t.session, pkcs11.CKU_USER, pin)
	if err == nil || isCKR(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		return nil
	}
	return loginError(t.name, err)
}

func loginError(name string, err error) error {
	if p := pinProblem(err); p != "" {
		return errorf(ErrPIN, "log in to %s: %s (%s)", name, p, ckr(err))
	}
	return fmt.Errorf("log in to %s: %w", name, rvError{err})
}

// Close logs out, releases the module and then the lock file. Signers
// from this token fail afterwards. Closing twice is harmless.
func (t *Token) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	moduleMu.Lock()
	err := t.release()
	moduleMu.Unlock()
	if uerr := t.unlock(); err == nil {
		err = uerr
	}
	return err
}

// release closes our session and module handle before crypto11's
// context, whose Close finalizes the module when it holds the last
// reference: finalizing first would pull the module from under crypto11.
// Callers hold moduleMu.
func (t *Token) release() error {
	var err error
	t.mu.Lock()
	if t.hasSession {
		if e := t.mod.CloseSession(t.session); e != nil {
			err = fmt.Errorf("close session on %s: %s", t.name, ckr(e))
		}
		t.hasSession = false
	}
	t.mu.Unlock()
	if t.mod != nil {
		if e := t.mod.close(); err == nil {
			err = e
		}
	}
	if e := t.c11.Close(); err == nil && e != nil {
		err = fmt.Errorf("close %s: %v", t.name, e)
	}
	return err
}

func (t *Token) unlock() error {
	if t.lock == nil {
		return nil
	}
	// Closing the only descriptor of the open file releases the flock.
	if err := t.lock.Close(); err != nil {
		return fmt.Errorf("unlock %q: %v", t.lock.Name(), filesys.WithoutPath(err))
	}
	return nil
}

// ReleaseLock lets other processes use the token while this one waits for
// its input; [Token.ReacquireLock] must be called before the token is used
// again. Without a lock file both do nothing. Call neither directly: the
// keyring's signing methods ([signstar/pkg/keyring.Key.Sign]) own that rule.
func (t *Token) ReleaseLock() error {
	if t.lock == nil {
		return nil
	}
	return unlockFile(t.lock)
}

// ReacquireLock waits for the lock file again.
func (t *Token) ReacquireLock() error {
	if t.lock == nil {
		return nil
	}
	return relockFile(t.lock)
}
