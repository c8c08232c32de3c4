// Package client is the client side of digest-only signing: it hashes files
// locally with SHA-512, sends only the hasher's state as a
// [signstar/pkg/request] signing request to a signstar server through the
// system's OpenSSH client (so ~/.ssh/config, agents and ControlMaster
// apply), and writes a detached OpenPGP signature next to each file.
// Several files go through 'sign --batch' sessions, one request per line
// and [Options.Jobs] sessions at once, with one session per file for a
// server that takes no batches (see batch.go).
// [SignX509] does the same for X.509 signatures: it sends the SHA-256
// digest of a kernel module, a UEFI image's Authenticode hash or a file's
// SHA-256 (request format 1.1), and signs the module or the image in
// place, or writes a detached CMS signature next to the file.
//
// It promises three things. A signature file, or a signed module or
// image, is written only after the signature has been verified against
// the certificate and the local file (or the digest computed from it
// here), so a server that signs other data is caught. An OpenPGP file is
// read once: the SHA-512 hasher whose state went out in the request is
// kept, and a copy of it finished with the returned signature's trailer
// checks that signature; fstat(2) on the descriptor that was hashed then
// checks that the file's size and modification time are what they were
// before the hashing, and a file that changed in between is an error
// naming it, with no signature written. What is written is
// either absent, left as it was, or complete: it is written to a
// temporary file, synced and renamed. And [Sign] and [SignX509] return nil
// only when every file got a verified signature.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"signstar/pkg/keyname"
	"signstar/pkg/pgp"
)

// DefaultTimeout bounds one ssh run (one certificate fetch, or one signing
// request) when [Options.Timeout] is zero: long enough for a slow login
// and a queue at a shared token, short enough that a hung host is given up
// and the next one tried.
const DefaultTimeout = 2 * time.Minute

// Options configure [Sign].
type Options struct {
	// Hosts are ssh destinations ("signer@host", a ~/.ssh/config alias, or
	// "ssh://signer@host:port"), tried in order for each file. A host that
	// fails is tried last for the files that follow.
	Hosts []string
	// Cert is the pinned certificate every signature must verify against.
	// nil: each host's own certificate is fetched once with "cert" and
	// trusted on first use, which is announced on Log with its fingerprint.
	Cert *pgp.Certificate
	// Key names the server's key; empty means the account's default key.
	Key string
	// Armor writes ASCII-armored FILE.asc instead of binary FILE.sig.
	Armor bool
	// Jobs is how many batch sessions run at once, or, with NoBatch or
	// against a host that takes no batches, how many files are signed at
	// once; zero or less means one.
	Jobs int
	// NoBatch signs each file in an ssh session of its own ('sign
	// --request'). Without it, more than one file go through 'sign
	// --batch' sessions, and a host that refuses those is given one
	// session per file from then on, which Log is told once.
	NoBatch bool
	// SSH is the ssh client to run; empty means "ssh" from PATH.
	SSH string
	// SSHOptions go before the destination on every ssh command line.
	SSHOptions []string
	// Timeout bounds one ssh run, and in a batch the wait for the next
	// answer while requests are in flight; zero means [DefaultTimeout].
	Timeout time.Duration
	// LogKey, if set, is the verifier key of the hosts' transparency log:
	// every signature must be in it before it is written, and the log
	// must not have shrunk or forked since LogState's last checkpoint
	// (translog.go).
	LogKey note.Verifier
	// LogState is the directory keeping the last checkpoint of each log
	// between runs; "" keeps none.
	LogState string
	// Log receives one line per signed file naming the host, warnings
	// (a host that failed, a certificate trusted on first use), and a
	// progress bar for large files when Log is a terminal. nil discards.
	Log io.Writer
}

// Result is the outcome for one file.
type Result struct {
	File string
	// Output is the signature file written; empty on failure.
	Output string
	// Host is the destination that signed; empty on failure.
	Host string
	// Fingerprint is that of the certificate the signature verified against.
	Fingerprint string
	Err         error
}

// Sign signs files, Options.Jobs at a time, and returns one [Result] per
// file, in the order given. The error is nil only if every file got a
// verified signature. When there is more than one file, each failure is
// also reported on Log as it happens and the error only counts them.
func Sign(ctx context.Context, files []string, o Options) ([]Result, error) {
	s, err := newSigner(o)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("sign: no files given")
	}
	s.logFailures = len(files) > 1
	var results []Result
	if o.NoBatch || len(files) == 1 {
		results, err = s.each(ctx, files, s.signFile) // a batch of one would cost the same session
	} else {
		results, err = s.signBatches(ctx, files)
	}
	return results, s.finishLog(ctx, err)
}

// each runs signFile on files, s.jobs at a time, and returns the results
// in the order of files.
func (s *signer) each(ctx context.Context, files []string, signFile func(context.Context, string) Result) ([]Result, error) {
	results := make([]Result, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.jobs, len(files)) {
		wg.Go(func() {
			for i := range next {
				results[i] = signFile(ctx, files[i])
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return results, summary(results)
}

// summary is nil when every file was signed, the one failure when only one
// file was asked for, and a count otherwise (each failure went to Log).
func summary(results []Result) error {
	var failed []error
	for _, r := range results {
		if r.Err != nil {
			failed = append(failed, r.Err)
		}
	}
	switch {
	case len(failed) == 0:
		return nil
	case len(results) == 1:
		return failed[0]
	}
	return fmt.Errorf("%d of %d files not signed", len(failed), len(results))
}

// signer is one [Sign] run: validated options and the state its workers
// share.
type signer struct {
	hosts       *hosts
	certs       *certs[*pgp.Certificate]
	key         string
	armor       bool
	jobs        int
	ssh         string
	sshOptions  []string
	timeout     time.Duration
	log         *logger
	logFailures bool
	noBatch     *batchless
	writing     chan struct{} // a slot per signature being written, in batches
	tlog        *logCheck     // nil: no log checked
}

func newSigner(o Options) (*signer, error) {
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	s := &signer{
		hosts:      newHosts(o.Hosts),
		key:        o.Key,
		armor:      o.Armor,
		jobs:       max(o.Jobs, 1),
		ssh:        o.SSH,
		sshOptions: o.SSHOptions,
		timeout:    o.Timeout,
		log:        newLogger(o.Log),
		noBatch:    &batchless{hosts: make(map[string]bool)},
		tlog:       newLogCheck(o.LogKey, o.LogState),
	}
	if s.ssh == "" {
		s.ssh = "ssh"
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	s.certs = newCerts(o.Cert, s.fetchCert, s.log)
	return s, nil
}

// checkOptions refuses what would make ssh misread its command line: a
// destination that starts with '-' would be an option, and the key name
// travels as a word of the remote command.
func checkOptions(o Options) error {
	if len(o.Hosts) == 0 {
		return errors.New("sign: no hosts given")
	}
	for _, h := range o.Hosts {
		if err := CheckHost(h); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
	}
	if o.Key != "" && !keyname.Valid(o.Key) {
		return fmt.Errorf("sign: invalid key name %q", o.Key)
	}
	return nil
}

// CheckHost refuses a destination ssh would misread: one that starts with
// '-' would be an option; spaces and control bytes split or hide words.
func CheckHost(h string) error {
	if h == "" || strings.HasPrefix(h, "-") || strings.ContainsFunc(h, isSpaceOrControl) {
		return fmt.Errorf("invalid host %q", h)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// signFile hashes file, has the first willing host sign its state, and
// writes the verified signature.
func (s *signer) signFile(ctx context.Context, file string) Result {
	r := Result{File: file}
	if err := ctx.Err(); err != nil {
		r.Err = fmt.Errorf("%s: not signed: %w", show(file), err)
		return r
	}
	out, err := s.sign(ctx, file)
	if err != nil {
		r.Err = fmt.Errorf("%s: not signed: %w", show(file), err)
		if s.logFailures {
			s.log.printf("%v", r.Err)
		}
		return r
	}
	r.Output, r.Host, r.Fingerprint = out.path, out.host, out.cert.Fingerprint()
	s.log.printf("signed %s on %s: wrote %s", show(file), show(out.host), show(out.path))
	return r
}

// signed is a signature that verified and was written.
type signed struct {
	path, host string
	cert       *pgp.Certificate
}

func (s *signer) sign(ctx context.Context, file string) (signed, error) {
	f, err := openRegular(file)
	if err != nil {
		return signed{}, err
	}
	defer f.Close()
	d, err := s.hashFile(f)
	if err != nil {
		return signed{}, err
	}
	sig, host, cert, err := s.tryHosts(ctx, file, d)
	if err != nil {
		return signed{}, err
	}
	path, err := s.write(f, d, sig)
	if err != nil {
		return signed{}, err
	}
	return signed{path, host, cert}, nil
}

// write writes sig, verified against d, as the signature of f, if f has
// not changed since it was hashed, and returns the path written.
func (s *signer) write(f *os.File, d digest, sig []byte) (string, error) {
	if err := checkUnchanged(f, d); err != nil {
		return "", err
	}
	path := OutputPath(f.Name(), s.armor)
	return path, WriteAtomic(path, sig)
}

// OutputPath is where [Sign] writes file's signature: FILE.sig, or
// FILE.asc when armored, as pacman, apt and gpg look for them.
func OutputPath(file string, armor bool) string {
	if armor {
		return file + ".asc"
	}
	return file + ".sig"
}

// tryHosts asks each host in turn until one returns a signature that
// verifies, and returns it ready to write.
func (s *signer) tryHosts(ctx context.Context, file string, d digest) ([]byte, string, *pgp.Certificate, error) {
	var sig []byte
	var cert *pgp.Certificate
	host, err := s.eachHost(ctx, file, func(host string) (err error) {
		sig, cert, err = s.attempt(ctx, host, d)
		return err
	})
	if err != nil {
		return nil, "", nil, err
	}
	return sig, host, cert, nil
}

// eachHost calls try with each host in turn, those that last worked
// first, until one succeeds, and returns that host. Each failure but the
// last is logged as a warning about file; the error lists them all.
func (s *signer) eachHost(ctx context.Context, file string, try func(host string) error) (string, error) {
	order := s.hosts.order()
	var failures []string
	for i, host := range order {
		err := try(host)
		if err == nil {
			s.hosts.mark(host, true)
			return host, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		s.hosts.mark(host, false)
		failures = append(failures, fmt.Sprintf("%s: %v", show(host), err))
		if i+1 < len(order) {
			s.log.printf("warning: %s: %s: %v; trying %s", show(file), show(host), err, show(order[i+1]))
		}
	}
	return "", errors.New(strings.Join(failures, "; "))
}

// attempt has host sign d and checks the answer against the host's
// certificate and the file's hash.
func (s *signer) attempt(ctx context.Context, host string, d digest) ([]byte, *pgp.Certificate, error) {
	cert, err := s.certs.get(ctx, host)
	if err != nil {
		return nil, nil, err
	}
	armored, err := s.request(ctx, host, d.request)
	if err != nil {
		return nil, nil, err
	}
	sig, err := s.check(ctx, host, cert, armored, d)
	return sig, cert, err
}

// check verifies armored, host's signature from a response, against cert
// and the file's digest, and returns it ready to write: binary, or
// armored afresh. Every OpenPGP signature of [Sign], batched or not,
// passes here before it is written.
func (s *signer) check(ctx context.Context, host string, cert *pgp.Certificate, armored []byte, d digest) ([]byte, error) {
	bin, err := checkSignature(armored, d.sum)
	if err != nil {
		return nil, err
	}
	if err := verifyHash(cert, bin, d); err != nil {
		return nil, err
	}
	if err := s.checkLogged(ctx, host, bin); err != nil {
		return nil, err
	}
	if !s.armor {
		return bin, nil
	}
	return armorSignature(bin)
}
