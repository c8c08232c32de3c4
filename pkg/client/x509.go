package client

// X.509 digest-only signing: a kernel module, a UEFI image or any file is
// hashed here, its SHA-256 digest sent as a version 1.1 signing request
// (package request) to "sign --request --format F", and the answer checked
// against the pinned X.509 certificate before the signed module or image
// replaces the file, or the detached CMS signature is written next to it.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"signstar/pkg/authenticode"
	"signstar/pkg/cms"
	"signstar/pkg/kmod"
	"signstar/pkg/request"
	"signstar/pkg/x509cert"
)

// X509Options configure [SignX509].
type X509Options struct {
	// Options are the hosts, key, jobs, ssh and log as for [Sign];
	// Options.Cert and Options.Armor do not apply.
	Options
	// Format is "kmod", "authenticode" or "cms".
	Format string
	// Cert is the pinned X.509 certificate every signature must verify
	// against. nil: each host's own certificate is fetched once with
	// "cert --x509" and trusted on first use, which is announced on Log
	// with its SHA-256 fingerprint.
	Cert *x509.Certificate
	// Append adds a signature to an already signed UEFI image (another
	// WIN_CERTIFICATE, as sbsign does) instead of refusing it.
	Append bool
	// KeyID asks for a module signature that names its signer by subject
	// key identifier (sign-file -k), kmod only.
	KeyID bool
}

// x509Max bounds a module or an image, which are held in memory to be
// rewritten: the bound pkg/authenticode and the server set.
const x509Max = authenticode.MaxImageSize

// X509OutputPath is where [SignX509] writes file's signature: FILE.p7s
// for a detached CMS signature; a module or an image is signed in place.
func X509OutputPath(file, format string) string {
	if format == "cms" {
		return file + ".p7s"
	}
	return file
}

// SignX509 signs files in o.Format, Options.Jobs at a time, and returns
// one [Result] per file, in the order given, as [Sign] does. A module
// (kmod) is rewritten in place: any appended signature stripped, the new
// block appended, as sign-file leaves it. An image (authenticode) is
// rewritten in place with the signature inserted; a signed one is refused
// unless o.Append. A detached CMS signature (cms, DER) goes to FILE.p7s.
// Nothing is written before the signature has verified against the pinned
// certificate and the digest computed here; a file that changed on disk
// while it was being signed is left as it is.
func SignX509(ctx context.Context, files []string, o X509Options) ([]Result, error) {
	if _, ok := request.X509Output(o.Format); !ok {
		return nil, fmt.Errorf("sign: unknown format %q: want kmod, authenticode or cms", o.Format)
	}
	o.Options.Cert, o.Options.Armor = nil, false
	s, err := newSigner(o.Options)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("sign: no files given")
	}
	s.logFailures = len(files) > 1
	if o.KeyID && o.Format != "kmod" {
		return nil, errors.New("sign: KeyID applies to kmod only")
	}
	x := &x509Signer{signer: s, format: o.Format, append: o.Append, keyID: o.KeyID}
	var pinned *x509Cert
	if o.Cert != nil {
		pinned = &x509Cert{o.Cert}
	}
	x.certs = newCerts(pinned, x.fetchCert, s.log)
	return s.each(ctx, files, x.signFile)
}

// x509Signer is one [SignX509] run.
type x509Signer struct {
	*signer
	format string
	append bool
	keyID  bool
	certs  *certs[*x509Cert]
}

// x509Cert is an X.509 certificate as package client's certificate cache
// names it.
type x509Cert struct{ *x509.Certificate }

// Fingerprint is the SHA-256 of the certificate's DER, spelled as
// "openssl x509 -noout -fingerprint -sha256" prints it.
func (c *x509Cert) Fingerprint() string { return x509cert.Fingerprint(c.Certificate) }

// UserID is the certificate's subject.
func (c *x509Cert) UserID() string { return c.Subject.String() }

func (x *x509Signer) signFile(ctx context.Context, file string) Result {
	r := Result{File: file}
	if err := ctx.Err(); err != nil {
		r.Err = fmt.Errorf("%s: not signed: %w", show(file), err)
		return r
	}
	path, host, cert, err := x.sign(ctx, file)
	if err != nil {
		r.Err = fmt.Errorf("%s: not signed: %w", show(file), err)
		if x.logFailures {
			x.log.printf("%v", r.Err)
		}
		return r
	}
	r.Output, r.Host, r.Fingerprint = path, host, cert.Fingerprint()
	x.log.printf("signed %s on %s: wrote %s", show(file), show(host), show(path))
	return r
}

func (x *x509Signer) sign(ctx context.Context, file string) (string, string, *x509Cert, error) {
	in, err := x.prepare(file)
	if err != nil {
		return "", "", nil, err
	}
	req, err := request.NewDigestRequest(x.format, in.digest)
	if err != nil {
		return "", "", nil, fmt.Errorf("BUG: %v", err)
	}
	var out []byte
	var cert *x509Cert
	host, err := x.eachHost(ctx, file, func(host string) (err error) {
		if cert, err = x.certs.get(ctx, host); err != nil {
			return err
		}
		raw, err := x.requestX509(ctx, host, req)
		if err != nil {
			return err
		}
		out, err = in.finish(raw, cert.Certificate, x.append)
		return err
	})
	if err != nil {
		return "", "", nil, err
	}
	path := X509OutputPath(file, x.format)
	if err := in.write(path, out); err != nil {
		return "", "", nil, err
	}
	return path, host, cert, nil
}

// requestX509 sends one X.509 signing request to host and returns the
// output of its response, not yet verified.
func (x *x509Signer) requestX509(ctx context.Context, host string, req []byte) ([]byte, error) {
	words := []string{"sign", "--request", "--format", x.format}
	if x.keyID {
		words = append(words, "--keyid")
	}
	out, err := x.run(ctx, host, req, request.MaxSize+1, x.words(words...)...)
	if err != nil {
		return nil, x.oldServer(host, err)
	}
	res, err := request.ReadOutput(bytes.NewReader(out), x.format)
	if err != nil {
		return nil, fmt.Errorf("bad response: %v", err)
	}
	return res, nil
}

// oldServerRefusals are how servers that predate X.509 requests refuse
// one: signstar's grammar before --format, its grammar before --request
// took --format, cert before --x509, its request parser before version
// 1.1, and upstream's
// serde parser (signstar-request-signature, HashType).
var oldServerRefusals = []string{
	`does not take "--format"`,
	`does not take "--x509"`,
	"does not take --request",
	`unknown type "signstar-`,
	"unknown variant `signstar-",
}

// oldServer returns err, from ssh, or, when it is host's refusal of the
// request as something it does not know, says so in one line with what
// such a server does sign.
func (x *x509Signer) oldServer(host string, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "server failed") {
		return err
	}
	msg := err.Error()
	for _, r := range oldServerRefusals {
		if strings.Contains(msg, r) {
			return fmt.Errorf("this server does not sign X.509 digests (signstar 0.x or upstream Signstar): send the file with ssh %s %s < FILE",
				show(host), strings.Join(x.words("sign", "--format", x.format), " "))
		}
	}
	return err
}

// fetchCert runs "cert --x509" on host and reads the first certificate of
// the PEM chain it prints: the key's.
func (x *x509Signer) fetchCert(ctx context.Context, host string) (*x509Cert, error) {
	out, err := x.run(ctx, host, nil, certMax+1, x.words("cert", "--x509")...)
	if err := x.oldServer(host, err); err != nil {
		return nil, fmt.Errorf("fetch X.509 certificate: %v", err)
	}
	if len(out) > certMax {
		return nil, fmt.Errorf("fetch X.509 certificate: larger than %d bytes", certMax)
	}
	cert, err := ReadX509Cert(out)
	if err != nil {
		return nil, fmt.Errorf("fetch X.509 certificate: %v", err)
	}
	return &x509Cert{cert}, nil
}

// ReadX509Cert returns the first certificate of PEM data (a chain: the
// signer's certificate first, as "cert --x509" prints it), or of DER data.
func ReadX509Cert(data []byte) (*x509.Certificate, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, errors.New("no CERTIFICATE block in the PEM data")
	}
	return x509.ParseCertificate(data)
}

// x509Input is a file ready for an X.509 request: its digest, and what is
// needed to build what is written.
type x509Input struct {
	format string
	digest []byte
	data   []byte      // kmod: the module without signatures; authenticode: the image
	file   os.FileInfo // the file as read, to notice a change before it is replaced
}

// prepare reads and hashes file as its format wants.
func (x *x509Signer) prepare(file string) (*x509Input, error) {
	f, err := openRegular(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pathless(err)
	}
	in := &x509Input{format: x.format, file: fi}
	if x.format == "cms" {
		h := sha256.New()
		if _, err := x.copyFile(h, f, "hashing"); err != nil {
			return nil, fmt.Errorf("hash: %v", pathless(err))
		}
		in.digest = h.Sum(nil)
		return in, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, x509Max+1))
	if err != nil {
		return nil, fmt.Errorf("read: %v", pathless(err))
	}
	if len(data) > x509Max {
		return nil, fmt.Errorf("larger than %d MiB", x509Max>>20)
	}
	if x.format == "kmod" {
		return in, in.prepareModule(data)
	}
	return in, in.prepareImage(data, x.append)
}

// prepareModule strips the module's signatures: the digest is over the
// module without them, and the new block replaces them.
func (in *x509Input) prepareModule(data []byte) error {
	digest, err := kmod.Digest(crypto.SHA256, data)
	if err != nil {
		return err
	}
	unsigned, err := kmod.Strip(data)
	if err != nil {
		return err
	}
	in.digest, in.data = digest, unsigned
	return nil
}

// prepareImage takes the image hash, refusing a signed image unless a
// signature is to be appended.
func (in *x509Input) prepareImage(data []byte, appendSig bool) error {
	im, err := authenticode.Parse(data)
	if err != nil {
		return err
	}
	if im.Signed() && !appendSig {
		return fmt.Errorf("%w (appending a signature must be asked for)", authenticode.ErrSigned)
	}
	digest, err := im.Hash(crypto.SHA256)
	if err != nil {
		return err
	}
	in.digest, in.data = digest, data
	return nil
}

// finish checks a host's output against cert and the digest and returns
// what is to be written.
func (in *x509Input) finish(out []byte, cert *x509.Certificate, appendSig bool) ([]byte, error) {
	switch in.format {
	case "kmod":
		return in.finishModule(out, cert)
	case "authenticode":
		return in.finishImage(out, cert, appendSig)
	}
	err := cms.Verify(out, cert, cms.Expect{ContentType: cms.OIDData, Digest: in.digest, Attributes: true})
	return out, err
}

// finishModule requires one signature block, in sign-file's framing, with
// a signature over the module's digest itself (no signed attributes, as
// the kernel's modules are signed), and returns the signed module.
func (in *x509Input) finishModule(block []byte, cert *x509.Certificate) ([]byte, error) {
	signed := append(bytes.Clone(in.data), block...)
	sig, err := kmod.Parse(signed)
	if err != nil || sig == nil || sig.Start != len(in.data) || !bytes.Equal(kmod.Block(sig.CMS), block) {
		return nil, errors.New("response is not one module signature block")
	}
	if err := cms.Verify(sig.CMS, cert, cms.Expect{ContentType: cms.OIDData, Digest: in.digest}); err != nil {
		return nil, err
	}
	return signed, nil
}

// finishImage requires a PKCS#7 SignedData whose content is the
// SpcIndirectDataContent of this image's hash and whose signed attributes
// carry its digest, inserts it, and checks the signed image's hash again.
func (in *x509Input) finishImage(blob []byte, cert *x509.Certificate, appendSig bool) ([]byte, error) {
	if err := verifyBlob(blob, cert, in.digest); err != nil {
		return nil, err
	}
	signed, err := authenticode.Insert(in.data, blob, appendSig)
	if err != nil {
		return nil, err
	}
	return signed, checkSignedImage(signed, blob, in.digest)
}

// verifyBlob checks a host's Authenticode blob over the image hash digest.
func verifyBlob(blob []byte, cert *x509.Certificate, digest []byte) error {
	want, err := authenticode.Expect(digest)
	if err != nil {
		return fmt.Errorf("BUG: %v", err)
	}
	return cms.Verify(blob, cert, want)
}

// checkSignedImage reads the signed image back as a verifier would: same
// image hash, and the blob as its last signature.
func checkSignedImage(signed, blob, digest []byte) error {
	im, err := authenticode.Parse(signed)
	if err != nil {
		return fmt.Errorf("BUG: signed image does not parse: %v", err)
	}
	h, err := im.Hash(crypto.SHA256)
	sigs := im.Signatures()
	if err != nil || !bytes.Equal(h, digest) || len(sigs) == 0 || !bytes.HasPrefix(sigs[len(sigs)-1], blob) {
		return errors.New("BUG: signed image does not carry the signature over its hash")
	}
	return nil
}

// write writes out to path: a new FILE.p7s, or the module or image
// replaced with its permission bits kept, unless it changed on disk
// since it was read.
func (in *x509Input) write(path string, out []byte) error {
	if in.format == "cms" {
		return WriteAtomic(path, out)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("write %s: %v", show(path), pathless(err))
	}
	if !os.SameFile(fi, in.file) || fi.Size() != in.file.Size() || !fi.ModTime().Equal(in.file.ModTime()) {
		return fmt.Errorf("write %s: the file changed while it was being signed; left as it is", show(path))
	}
	return writeAtomicMode(path, out, in.file.Mode().Perm())
}
