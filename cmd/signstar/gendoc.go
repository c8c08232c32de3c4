//go:build linux && cgo

package main

// signstar's own documentation: the tables and examples of signstar(1),
// which the tests hold against pkg/config, pkg/audit, pkg/remote and the
// README. The engine that writes the page and the shell completions from
// the kong model is internal/clidoc; gendoc_cmd.go and gendoc_man.go, built
// only with -tags gendoc, lay the page out and write the files, so the
// shipped binary imports no part of it. What is here is data the shipped
// binary never references: the linker drops it.

import (
	"fmt"
	"strings"

	"github.com/alecthomas/kong"

	"signstar/pkg/modules"
)

// docParser builds the admin CLI's parser with main's options, so the
// model holds the same names, defaults and interpolated help as
// 'signstar --help' (TestGenHelpMatchesBinary compares the two).
func docParser(opts ...kong.Option) (*kong.Kong, error) {
	return newParser(&cli{}, opts...)
}

// docVersion is the version signstar(1) is generated for: the second word
// of the --version line, so both say the same.
func docVersion() string {
	if f := strings.Fields(versionLine()); len(f) > 1 {
		return f[1]
	}
	return "(devel)"
}

// term is one entry of a tagged list: a name and what it means.
type term struct{ name, help string }

// remoteCommands is the login shell's grammar (package remote);
// TestGenRemoteGrammar has remote.Parse accept each with every flag given.
var remoteCommands = []term{
	{"", "The account's default action, remote.default-action: sign standard input with the default key, " +
		"as 'sign' does (sign, the default), or answer a signing request on standard input, as 'sign --request' does (request). " +
		"This is what 'ssh ACCOUNT@HOST < FILE > FILE.sig' sends."},
	{"sign [--key NAME]... [--armor] [--text]",
		"Sign standard input with key NAME (default: the default key) and write a binary detached OpenPGP signature, " +
			"or an ASCII-armored one with --armor. With --text the input must be UTF-8 text without NUL bytes, and the " +
			"signature is a canonical-text one (type 0x01, as gpg -t makes): it signs the text with CRLF line ends. " +
			"With --key given more than once (a key transition), the input is read once and the output holds a signature " +
			"by each key, in that order (one armor block with --armor, as gpg -u OLD -u NEW writes it); every key must be " +
			"allowed, the same key twice is refused, and each key's signature gets its own audit record."},
	{"sign --clearsign [--key NAME]...",
		"Read UTF-8 text (at most 64 MiB, no NUL bytes) from standard input and write it as a cleartext signed message " +
			"(RFC 4880 section 7, as gpg --clearsign makes and apt reads as InRelease): dash-escaped, without trailing " +
			"spaces and tabs, above an armored canonical-text signature. The message is held in memory until it is recorded. " +
			"With several --key, its armor block holds a signature by each and its Hash header lists every hash they use."},
	{"sign --request [--key NAME]",
		"Read a digest-only signing request (JSON, version 1, as 'signstar request' and Arch Linux Signstar's client send it) " +
			"from standard input and write the response, which carries an armored signature (one key only)."},
	{"cert [--key NAME]", "Print the key's armored OpenPGP certificate."},
	{"certs", "Print every key this session may use (its SSH key on the key's allow list) as one JSON object: " +
		"a list certs of objects with name, fingerprint and certificate (armored), sorted by name, each given out once " +
		"the token has shown it holds the key; for clients that refresh pinned certificates. It leaves one answered " +
		"audit record per key, with one request ID."},
	{"version", "Print the version line, as --version does."},
	{"help", "Print a summary of these commands."},
}

// configKeys documents every key of the configuration file
// (TestGenConfigKeys walks config.Config's toml tags against it). It and
// exitStatus are functions, not variables: their values need code at
// init, which the shipped binary would otherwise run and carry.
func configKeys() []term {
	return []term{
		{"token.uri", "The token as an RFC 7512 PKCS#11 URI: token= or serial=, and module-path=. A PIN in the URI is refused."},
		{"token.module", "The PKCS#11 module (.so), the alternative to uri, with label."},
		{"token.label", "The token's label, with module."},
		{"token.pin-file", "File holding the user PIN (required); refused unless its mode is 0600 or stricter."},
		{"token.lock-file", "Lock file held for the whole token session, so that signstar processes take turns on the token. " +
			"init sets one where the module needs it (SoftHSM2): /run/signstar/NAME.lock for /etc/signstar/NAME.toml, NAME.lock beside the config elsewhere. " +
			"Created if missing (mode 0600, owned by its directory's owner); whoever can open it can hold up signing."},
		{"audit.sink", "Where the audit trail goes: journald (default), file:/absolute/path (JSON lines) or stderr (development only; refused in the login shell). See AUDIT."},
		{"lockdown.read-write", "Extra absolute paths the PKCS#11 module reads and writes after lockdown."},
		{"lockdown.read-only", "Extra absolute paths the PKCS#11 module reads after lockdown."},
		{"lockdown.connect-tcp", "TCP ports a network HSM is reached on after lockdown (Landlock ABI 4 or newer)."},
		{"lockdown.landlock", "required (default), or best-effort to sign on kernels without Landlock; the downgrade is printed and recorded in SIGNSTAR_WARNING."},
		{"remote.default-action", "sign (default) or request: what an empty remote command does (see LOGIN SHELL)."},
		{"remote.idle-timeout", "How long the login shell waits for the next byte of input, as a duration (\"90s\", \"5m\"; 1s to 24h; default 5m). " +
			"A client that sends nothing for that long gets 'no input for 5m0s: closing', exit status 1, and a failed record."},
		{"remote.max-duration", "How long one login shell request may take in all, counted from its start, token login included (1s to 24h; default 1h). " +
			"Past it: 'request took longer than 1h0m0s: closing', exit status 1, and a failed record. The admin CLI has neither limit."},
		{"remote.batch", "false refuses sign --batch for the account ('batch signing is not enabled for this account', exit status 2); default true."},
		{"remote.batch-max-requests", "The most requests one sign --batch session answers (1 to 1000000; default 10000). The session then stops reading: " +
			"'batch ended: N requests, the limit for one session; send the rest in a new session', exit status 3, and its batch-end record says limit."},
		{"remote.batch-idle-timeout", "How long a sign --batch session waits for the next whole request line, as a duration (1s to 24h; default 60s). " +
			"Past it: 'batch ended: idle for 60s; send the rest in a new session', exit status 3; a request cut off is recorded failed; the batch-end record says idle."},
		{"log.key", "The transparency log's key: the name of an ed25519 key in [keys], which then signs checkpoints and nothing else. " +
			"With it, every released signature is first appended to the log; if the append fails nothing is released."},
		{"log.dir", "The log's directory (absolute; default /var/lib/signstar/log), in the C2SP tlog-tiles layout: " +
			"the one path the login shell may write after lockdown besides the audit file."},
		{"log.origin", "The checkpoints' origin line and the verifier key's name (default: the host name, a slash and the account)."},
		{"keys.NAME.type", "The key type: " + strings.ReplaceAll(keyTypeEnum(), ",", ", ") + "."},
		{"keys.NAME.id", "The key's CKA_ID on the token, in hex."},
		{"keys.NAME.cert", "The key's OpenPGP certificate file; it holds the key's creation time."},
		{"keys.NAME.x509", "The key's X.509 certificate file (PEM: the certificate, then its chain up to the root), written by " +
			"key x509 self-sign and import; relative paths are resolved against the config's directory, like cert. " +
			"sign --format kmod|authenticode|cms and cert --x509 need it."},
		{"keys.NAME.hash", "sha512 (default) or sha256."},
		{"keys.NAME.default", "true for the key that sign uses without --key; at most one key. With a single key, that key is the default."},
		{"keys.NAME.allow", "SSH key fingerprints (SHA256:...) that may use this key over SSH; empty: every authorized key. " +
			"A key with an allow list is refused to sessions whose key sshd did not expose (ExposeAuthInfo)."},
		{"keys.NAME.notations", "OpenPGP notations (RFC 4880 section 5.2.3.16) the key adds to every signature it makes, in its hashed area, " +
			"after signstar's own: [{name = \"build-host@example.org\", value = \"sign1\"}], human-readable = false to clear that flag (default true). " +
			"A name is tag@domain (a DNS domain), not data-digest@archlinux.org nor a salt notation; a value is 1 to 1024 bytes without control characters; " +
			"at most 16, each name once; never critical. key list shows them."},
	}
}

const configExample = `[token]
module = "/usr/lib/softhsm/libsofthsm2.so"
label = "signstar"
pin-file = "/etc/signstar/pin"
lock-file = "/run/signstar/config.lock"

[keys.repo]                    # written by 'signstar key generate'
type = "ed25519"
id = "5d41402abc4b2a765d41402abc4b2a76"
cert = "certs/repo.asc"
default = true
allow = ["SHA256:EaGDxUxRfAkBX/ilGde0OsryzmcJfP8KCLcNqVIj5go"]`

var environment = []term{
	{"SIGNSTAR_CONFIG", "The configuration file when --config is not given, in the admin CLI and the login shell alike. " +
		"The shipped sshd drop-in sets it per account with SetEnv, which wins over anything a client sends."},
	{"SIGNSTAR_CLIENT_CONFIG", "The gpg front end's client config, instead of ~/.config/signstar/client.toml ($XDG_CONFIG_HOME) and " +
		"/etc/signstar/client.toml: the signing hosts and each key's pinned certificate. With none of the three, the front end signs " +
		"through SIGNSTAR_CONFIG's token, by running signstar sign."},
	{"SSH_ORIGINAL_COMMAND", "The client's command, set by sshd(8) when a forced command is in force and the client sent one: the login shell's request, " +
		"unless the forced command pins another (see LOGIN SHELL)."},
	{"SSH_USER_AUTH", "A file naming the keys that authenticated the session, set by sshd with ExposeAuthInfo yes. " +
		"Checked against keys.NAME.allow and recorded as SIGNSTAR_SSH_KEY; without it, keys with an allow list are refused."},
	{"SSH_CONNECTION", "The client's address and port, recorded as SIGNSTAR_CLIENT."},
	{"USER", "The account, recorded as SIGNSTAR_USER in the login shell."},
	{"(everything else)", "The login shell keeps SSH_*, USER, LOGNAME, HOME, PATH, SIGNSTAR_CONFIG and the variables the PKCS#11 modules " +
		"signstar knows read (SoftHSM2, tpm2-pkcs11 and the TSS, pcsc-lite, OpenSC, ykcs11, nethsm-pkcs11), and clears the rest before it reads " +
		"the config or loads a module: a client's LANG or LC_* never reach them. Set module variables with sshd's SetEnv."},
	{"SOFTHSM2_CONF", "SoftHSM2's configuration (default " + modules.SoftHSMConf + "): signstar reads its token directory there " +
		"and keeps it reachable after lockdown."},
}

func exitStatus() []term {
	return []term{
		{fmt.Sprint(exitOK), "Signed, or the command succeeded."},
		{fmt.Sprint(exitFailed), "Failed: a missing module or token, a wrong PIN, a missing key, a certificate that does not match, " +
			"empty input, a read error, an audit record that could not be written, a config, certificate or module that someone other than root " +
			"could change, an idle or overlong upload, a client that hung up. In the login shell the client sees one line and the request ID; " +
			"the detail is in the audit record."},
		{fmt.Sprint(exitRefused), "Usage error, or a refused request: a bad remote command, a key the session may not use, an interactive login."},
		{fmt.Sprint(exitPartial), "A sign --batch session ended before the client's stream did (remote.batch-max-requests or remote.batch-idle-timeout): " +
			"every request it read was answered or recorded; send the rest in a new session."},
	}
}

var files = []term{
	{defaultConfig, "The configuration file (see CONFIGURATION). It, certs/, the PKCS#11 module and every directory on their paths must be " +
		"changeable by root alone (owned by root, not writable by group or others; a sticky directory counts as safe): " +
		"signstar refuses to start otherwise, and signstar check says so."},
	{"certs/NAME.asc", "The OpenPGP certificate of key NAME, written by key generate, adopt or import beside the configuration file; " +
		"key extend, revoke and rotate add their signatures to it."},
	{"certs/NAME.rev", "The revocation certificate of key NAME (mode 0600), made by the token when the key is made: take it offline, " +
		"publish it if the token is lost."},
	{"certs/NAME.pem", "The X.509 certificate of key NAME and its chain (keys.NAME.x509), written by key x509 self-sign or import."},
	{"certs/deleted/NAME.FPR.*", "The files of a key key delete removed from the config, kept: its certificate still verifies old signatures."},
	{"/etc/signstar/pin", "The token's user PIN (token.pin-file), owned by the signing account, mode 0600 or stricter."},
	{"/etc/ssh/sshd_config.d/50-signstar.conf", "The sshd drop-in: ForceCommand signstar for the signing account, " +
		"ExposeAuthInfo yes, SetEnv SIGNSTAR_CONFIG=..., and no pty, forwarding, tunnels or user environment."},
	{"/etc/signstar/authorized_keys/USER", "The SSH keys that may log in to account USER (the drop-in's AuthorizedKeysFile), " +
		"root-owned, each with restrict and from=."},
	{"/etc/signstar/client.toml", "The gpg front end's client config (hosts, ssh-options, timeout, keys.NAME.cert, .remote, .default), " +
		"when neither SIGNSTAR_CLIENT_CONFIG nor ~/.config/signstar/client.toml is there; see README, Release tooling."},
	{modules.SoftHSMConf, "SoftHSM2's configuration, when the token is SoftHSM2 and SOFTHSM2_CONF is not set."},
}

var auditFields = []term{
	{"MESSAGE", "One line for a person reading journalctl."},
	{"PRIORITY", "6 (info) signed or answered, 4 (warning) refused or undelivered, 3 (err) failed, 5 (notice) changed."},
	{"SYSLOG_IDENTIFIER", "Always signstar."},
	{"SIGNSTAR_REQUEST_ID", "A 128-bit id; errors shown to the client end with (request ID). A signature by several keys " +
		"(--key given more than once) leaves one record per key, each naming its key, with the same id."},
	{"SIGNSTAR_MODE", "cli or ssh."},
	{"SIGNSTAR_RESULT", "signed; answered (cert, certs, version, help); refused; failed; undelivered: a second record for a " +
		"signed request whose signature could not be written to the client; or changed: a key lifecycle command " +
		"(SIGNSTAR_EVENT) did its work."},
	{"SIGNSTAR_ERROR", "Why, when refused, failed or undelivered."},
	{"SIGNSTAR_WARNING", "A lockdown downgrade (best-effort Landlock)."},
	{"SIGNSTAR_MODULE_OUTPUT", "Login shell only: what the PKCS#11 module and its libraries wrote to standard error, kept from the SSH client."},
	{"SIGNSTAR_USER", "The local account."},
	{"SIGNSTAR_SSH_KEY", "The SHA256: fingerprint of the SSH key that authenticated the session."},
	{"SIGNSTAR_CLIENT", "The client's address and port, from SSH_CONNECTION."},
	{"SIGNSTAR_REQUEST", "The client's command, sanitized; empty for the default action. Login shell only."},
	{"SIGNSTAR_KEY", "The key's name."},
	{"SIGNSTAR_KEY_FINGERPRINT", "The key's OpenPGP fingerprint."},
	{"SIGNSTAR_FORMAT", "What was made, on signed and undelivered records: detached, detached-text (--text), cleartext " +
		"(--clearsign), request (the answer to a signing request), kmod, authenticode or cms (--format)."},
	{"SIGNSTAR_INPUT_SIZE", "The size of the signed bytes (of the file, for a signing request; of the text as sent, for a text signature)."},
	{"SIGNSTAR_INPUT_SHA256", "The SHA-256 of the signed bytes; absent for a signing request, where signstar sees only a SHA-512 state."},
	{"SIGNSTAR_INPUT_SHA512", "The SHA-512 of the signed bytes."},
	{"SIGNSTAR_SIGNATURE_CREATED", "The signature's creation time (RFC 3339)."},
	{"SIGNSTAR_SIGNED_DIGEST", "For kmod and authenticode, the digest the signature covers in hex: the module's without an old " +
		"signature, the PE image's Authenticode hash."},
	{"SIGNSTAR_EVENT", "The key lifecycle command of a changed record, or of a refused or failed one: generate, adopt, " +
		"import, extend, revoke, rotate, delete or x509 (admin CLI only; SIGNSTAR_USER is the admin). A command on two " +
		"keys (rotate) leaves one record per key with the same id."},
	{"SIGNSTAR_DETAIL", "What the lifecycle command changed, in a few words (key type, user ID and expiry; the reason; " +
		"the X.509 subject and fingerprint)."},
	{"SIGNSTAR_BATCH", "The session ID of the sign --batch session a record belongs to. Each request of a batch has its own " +
		"record and request ID; the session's end is one more record, answered, with SIGNSTAR_EVENT=batch-end, the session ID " +
		"as its request ID, and SIGNSTAR_DETAIL 'N requests, M signed, ended by eof|limit|idle|hangup|failure'."},
	{"SIGNSTAR_BATCH_SEQ", "The request's place in its batch session, from 1."},
	{"SIGNSTAR_LOG_INDEX", "The signature's leaf in the transparency log (log.key), appended before the record was written; " +
		"a signature by several keys has one leaf per key, each in its key's record."},
}

const auditRecipes = `journalctl -t signstar SIGNSTAR_KEY=repo SIGNSTAR_RESULT=signed
journalctl -t signstar --since -1d \
    SIGNSTAR_RESULT=failed SIGNSTAR_RESULT=refused
sum=$(sha256sum < core.db | cut -d' ' -f1)
journalctl -t signstar -o json SIGNSTAR_INPUT_SHA256=$sum`

var examples = []term{
	{"Create a configuration for a SoftHSM2 token and generate a key on it:",
		"signstar init --config ./signstar.toml --pin-file ./pin \\\n" +
			"    --module /usr/lib/softhsm/libsofthsm2.so --token signstar\n" +
			"signstar key generate --config ./signstar.toml --name repo \\\n" +
			"    --uid 'Example Repo Key <repo@example.org>' --expires 2y"},
	{"List the keys, export a certificate, and check everything a signature will need:",
		"signstar key list\nsignstar key export --name repo > repo.asc\nsignstar check"},
	{"Sign locally, and verify:",
		"signstar sign --key repo < core.db > core.db.sig\n" +
			"gpgv --keyring <(gpg --dearmor < repo.asc) core.db.sig core.db"},
	{"Sign through the login shell of account signer on sign.example.org:",
		"ssh signer@sign.example.org cert > repo.asc\nssh signer@sign.example.org < core.db > core.db.sig\n" +
			"ssh signer@sign.example.org sign --key repo --armor \\\n" +
			"    < core.db > core.db.asc"},
	{"Sign local files through two servers, sending only their SHA-512 state:",
		"signstar request --host signer@sign1 --host signer@sign2 \\\n" +
			"    --cert repo.asc *.pkg.tar.zst"},
}

const seeAlso = `gpgv(1), sqv(1), pacman-key(8), ssh(1), sshd(8), sshd_config(5), journalctl(1), softhsm2.conf(5)`
