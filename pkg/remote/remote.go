// Package remote parses what an SSH client may ask of signstar: a tiny
// grammar of whitespace-separated words, kept apart from the admin CLI so a
// client can never reach key generation or configuration.
//
//	""                         the account's default action (sign stdin, or
//	                           answer a signing request) with the default key
//	sign [--key NAME]... [--armor] [--text]
//	                           a detached signature of stdin; --text signs
//	                           it as canonical text (type 0x01, gpg -t)
//	sign --clearsign [--key NAME]...
//	                           a cleartext signed message of the text on
//	                           stdin (RFC 4880 section 7; always armored)
//	sign --request [--key NAME] answer a digest-only signing request on stdin
//	sign --batch [--key NAME]  answer a stream of digest-only signing
//	                           requests on stdin, one JSON text a line, one
//	                           response line each, in order (OpenPGP only)
//	sign --request --format kmod|authenticode|cms [--key NAME]
//	                           answer an X.509 digest-only request (version
//	                           1.1 of the request format) on stdin
//	sign --format kmod|authenticode|cms [--key NAME] [--armor] [--append] [--keyid]
//	                           an X.509 signature of stdin: a kernel module's
//	                           signature block, a signed UEFI image, or a
//	                           detached CMS signature (--armor: PEM, cms
//	                           only; --append: add to a signed image;
//	                           --keyid: a module's signer named by subject
//	                           key identifier, as sign-file -k does)
//	cert [--key NAME] [--x509] print the key's armored OpenPGP certificate,
//	                           or its X.509 certificate and chain (PEM)
//	certs                      print every key the session may use, with its
//	                           armored certificate, as JSON
//	log checkpoint | log proof INDEX [SIZE] | log consistency OLD NEW
//	                           read the transparency log (see [LogQuery])
//	version | help
//
// A sign command may name several keys (a key transition: gpg -u OLD -u
// NEW): one output then holds a signature by each; the same key twice is
// refused, and so is a second key for --request. Anything else is refused. The grammar is deliberately smaller than a shell:
// printable ASCII only, at most [MaxLen] bytes, no quoting, no escapes.
package remote

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"signstar/pkg/keyname"
	"signstar/pkg/refusal"
)

// MaxLen bounds a request line. A real one is under 40 bytes.
const MaxLen = 256

// Action is what the client asks for.
type Action string

const (
	Sign    Action = "sign"
	Cert    Action = "cert"
	Certs   Action = "certs" // every key the session may use (read-only)
	Version Action = "version"
	Help    Action = "help"
)

// Command is a parsed request.
type Command struct {
	Action Action
	Key    string // empty: the default key
	// Also are the keys named after the first, in order: sign with each
	// too (sign only, not --request).
	Also  []string
	Armor bool
	// Text: sign stdin as canonical text (a type 0x01 signature).
	Text bool
	// Clearsign: make a cleartext signed message of stdin (implies Text).
	Clearsign bool
	// Request: stdin is a signing request (a hash state), not the artifact.
	Request bool
	// Batch: stdin is a stream of signing requests, one a line; each is
	// answered by one line (JSON Lines both ways).
	Batch bool
	// Implicit: the client sent no words; the account's config picks
	// between signing the artifact and answering a request.
	Implicit bool
	// Format is an X.509 format ([Kmod], [Authenticode], [CMS]); empty
	// for OpenPGP.
	Format Format
	// Append: add a signature to an already signed UEFI image.
	Append bool
	// X509: cert returns the X.509 certificate and chain.
	X509 bool
	// KeyID: a module signature names its signer by subject key
	// identifier instead of issuer and serial (sign-file -k).
	KeyID bool
	// Log is what a log command asks of the transparency log.
	Log LogQuery
}

// Format names an X.509 signature format.
type Format string

const (
	// Kmod is a Linux kernel module signature block (scripts/sign-file).
	Kmod Format = "kmod"
	// Authenticode is a UEFI PE/COFF image with an Authenticode signature.
	Authenticode Format = "authenticode"
	// CMS is a detached CMS (PKCS #7) signature.
	CMS Format = "cms"
)

// formats are the X.509 formats --format takes.
var formats = []Format{Kmod, Authenticode, CMS}

// Parse reads one request line. Every error it returns is a refusal
// ([refusal.Err]): the client asked for something signstar does not do.
func Parse(line string) (Command, error) {
	if len(line) > MaxLen {
		return Command{}, refusal.Errorf("command longer than %d bytes", MaxLen)
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 || c > 0x7e {
			return Command{}, refusal.Errorf("command contains byte 0x%02x: only printable ASCII is allowed", c)
		}
	}
	words := strings.Fields(line)
	if len(words) == 0 {
		return Command{Action: Sign, Implicit: true}, nil
	}
	switch verb, args := Action(words[0]), words[1:]; verb {
	case Sign:
		return parseFlags(verb, args, true)
	case Cert:
		return parseFlags(verb, args, false)
	case Version, Help, Certs:
		if len(args) > 0 {
			return Command{}, refusal.Errorf("%s takes no arguments", verb)
		}
		return Command{Action: verb}, nil
	case Log:
		return parseLog(args)
	}
	return Command{}, refusal.Errorf("unknown command %s (try 'help')", quote(words[0]))
}

func parseFlags(verb Action, args []string, armorOK bool) (Command, error) {
	c := Command{Action: verb}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		flag, value, hasValue := strings.Cut(args[i], "=")
		if seen[flag] && (flag != "--key" || verb != Sign) {
			return Command{}, refusal.Errorf("%s given twice", quote(flag))
		}
		seen[flag] = true
		switch {
		case flag == "--armor" && armorOK && !hasValue:
			c.Armor = true
		case flag == "--request" && verb == Sign && !hasValue:
			c.Request = true
		case flag == "--batch" && verb == Sign && !hasValue:
			c.Batch = true
		case flag == "--text" && verb == Sign && !hasValue:
			c.Text = true
		case flag == "--clearsign" && verb == Sign && !hasValue:
			c.Clearsign = true
		case flag == "--append" && verb == Sign && !hasValue:
			c.Append = true
		case flag == "--keyid" && verb == Sign && !hasValue:
			c.KeyID = true
		case flag == "--x509" && verb == Cert && !hasValue:
			c.X509 = true
		case flag == "--format" && verb == Sign:
			if !hasValue {
				if i+1 == len(args) {
					return Command{}, refusal.Errorf("--format needs one of kmod, authenticode, cms")
				}
				i++
				value = args[i]
			}
			if !slices.Contains(formats, Format(value)) {
				return Command{}, refusal.Errorf("unknown format %s: want kmod, authenticode or cms", quote(value))
			}
			c.Format = Format(value)
		case flag == "--key":
			if !hasValue {
				if i+1 == len(args) {
					return Command{}, refusal.Errorf("--key needs a key name")
				}
				i++
				value = args[i]
			}
			if !keyname.Valid(value) {
				return Command{}, refusal.Errorf("invalid key name %s", quote(value))
			}
			if c.Key == "" {
				c.Key = value
			} else {
				c.Also = append(c.Also, value)
			}
		default:
			return Command{}, refusal.Errorf("%s does not take %s", verb, quote(args[i]))
		}
	}
	return c, c.CheckForm()
}

// CheckForm refuses signature flags that contradict each other. The admin
// CLI's sign command applies it to its own flags too.
func (c Command) CheckForm() error {
	if c.Batch {
		return c.checkBatch()
	}
	switch {
	case c.Request && c.Armor:
		return refusal.Errorf("--armor does not apply to --request: the response always carries an armored signature")
	case c.Request && (c.Text || c.Clearsign):
		return refusal.Errorf("--text and --clearsign do not apply to --request: it signs a digest, not text")
	case c.Clearsign && c.Armor:
		return refusal.Errorf("--armor does not apply to --clearsign: a cleartext message is always armored")
	case c.Clearsign && c.Text:
		return refusal.Errorf("--text does not apply to --clearsign: a cleartext message is always text")
	case c.Request && len(c.Also) > 0:
		return refusal.Errorf("--request signs with one key: a signing request is answered by one signature")
	case c.Format != "" && (c.Text || c.Clearsign):
		return refusal.Errorf("--format %s does not take --text or --clearsign: those are OpenPGP forms", c.Format)
	case c.Format != "" && c.Request && c.Append:
		return refusal.Errorf("--append does not apply to --request: the client puts the signature into the image")
	case c.Format != "" && len(c.Also) > 0:
		return refusal.Errorf("--format %s signs with one key", c.Format)
	case c.Armor && c.Format != "" && c.Format != CMS:
		return refusal.Errorf("--armor does not apply to --format %s", c.Format)
	case c.Append && c.Format != Authenticode:
		return refusal.Errorf("--append applies to --format authenticode only")
	case c.KeyID && c.Format != Kmod:
		return refusal.Errorf("--keyid applies to --format kmod only")
	}
	for i, k := range c.Also {
		if k == c.Key || slices.Contains(c.Also[:i], k) {
			return refusal.Errorf("key %s named twice", quote(k))
		}
	}
	return nil
}

// checkBatch refuses what a batch cannot take: a batch answers OpenPGP
// digest-only requests, each by one armored signature of one key, so
// every other signature flag contradicts it.
func (c Command) checkBatch() error {
	switch {
	case c.Request:
		return refusal.Errorf("--batch answers signing requests already: leave out --request")
	case c.Armor || c.Text || c.Clearsign:
		return refusal.Errorf("--armor, --text and --clearsign do not apply to --batch: it answers digest-only requests")
	case c.Format != "" || c.Append || c.KeyID:
		return refusal.Errorf("--batch answers OpenPGP requests only: send X.509 requests one at a time with 'sign --request --format'")
	case len(c.Also) > 0:
		return refusal.Errorf("--batch signs with one key: each request is answered by one signature")
	}
	return nil
}

// Equal reports whether c and d ask for the same thing, keys in the same
// order (a forced command must be asked for exactly).
func (c Command) Equal(d Command) bool {
	return reflect.DeepEqual(c, d)
}

// Keys are the keys the command names, in order: one empty name (the
// default key) if it names none.
func (c Command) Keys() []string { return append([]string{c.Key}, c.Also...) }

// Sanitize makes client-supplied text safe to record in a log line:
// non-printable bytes become '?', and it is cut to MaxLen bytes.
func Sanitize(s string) string { return cut(s, MaxLen) }

// quote is Sanitize for echoing a word back in an error: short enough that
// a refusal stays one readable line.
func quote(s string) string { return fmt.Sprintf("%q", cut(s, 32)) }

func cut(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
