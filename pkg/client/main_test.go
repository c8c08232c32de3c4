package client

// The test binary plays the other side too. Run through a symlink named
// "fakessh" it is the ssh client given as Options.SSH and answers as the
// server named by the destination would; run as "signstar" by sshd (see
// sshd_test.go) it is a signing account's login shell. Either way it signs
// with a software key from a fixed seed, as upstream's server would sign a
// request (pkg/request's TestServerFlow).

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"signstar/pkg/pgp"
	"signstar/pkg/request"
)

// fakeSSH is the path of the "fakessh" symlink to the test binary.
var fakeSSH string

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "fakessh":
		os.Exit(fakeSSHMain(os.Args[1:]))
	case "signstar", "-signstar":
		os.Exit(loginShellMain())
	}
	dir, err := os.MkdirTemp("", "signstar-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := setupAndRun(m, dir)
	os.RemoveAll(dir)
	os.Exit(code)
}

func setupAndRun(m *testing.M, dir string) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fakeSSH = filepath.Join(dir, "fakessh")
	if err := os.Symlink(exe, fakeSSH); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// The server's keys: the one clients pin, and another one.
var (
	testCreated = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	testKey     = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	otherKey    = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize))
)

func newCert(key ed25519.PrivateKey) (*pgp.Certificate, error) {
	return pgp.NewCertificate(key, "client test <test@signstar.invalid>", testCreated, time.Time{}, crypto.SHA512)
}

// logOption is the fake "ssh -o" option naming a file to which each run
// appends one line: its start and end in Unix nanoseconds, then its
// command line after "-T".
const logOption = "SignstarTestLog="

// fakeSSHMain parses "ssh -T [OPTIONS] -- HOST WORDS..." and serves the
// words as the server named by HOST's first dot-separated part would.
func fakeSSHMain(args []string) int {
	start := time.Now()
	dash := slices.Index(args, "--")
	if len(args) == 0 || args[0] != "-T" || dash < 0 || dash+1 >= len(args) {
		fmt.Fprintf(os.Stderr, "fakessh: bad command line %q\n", args)
		return 255
	}
	mode, _, _ := strings.Cut(args[dash+1], ".")
	touchPath = sshOption(args[:dash], touchOption)
	code := serve(mode, args[dash+2:], os.Stdin, os.Stdout, os.Stderr)
	if path := sshOption(args[:dash], logOption); path != "" {
		appendLine(path, fmt.Sprintf("%d %d %s", start.UnixNano(), time.Now().UnixNano(), strings.Join(args[1:], " ")))
	}
	return code
}

// sshOption is the value of "-o NAMEvalue" among args, or "".
func sshOption(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name); ok && i > 0 && args[i-1] == "-o" {
			return v
		}
	}
	return ""
}

// touchOption is the fake "ssh -o" option naming a file that the server
// rewrites (the same size, other bytes) before it answers the request
// for it: a file that changes while it is being signed.
const touchOption = "SignstarTestTouch="

// touchPath is the value of touchOption in this run of the fake ssh.
var touchPath string

// loginShellMain is "signstar -c signstar" as sshd runs it, with the
// client's words in SSH_ORIGINAL_COMMAND.
func loginShellMain() int {
	if len(os.Args) != 3 || os.Args[1] != "-c" {
		fmt.Fprintf(os.Stderr, "test shell: unexpected arguments %q\n", os.Args)
		return 2
	}
	return serve("ok", strings.Fields(os.Getenv("SSH_ORIGINAL_COMMAND")), os.Stdin, os.Stdout, os.Stderr)
}

func appendLine(path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		f.WriteString(line + "\n")
		f.Close()
	}
}

// serve answers as a server of the given mode:
//
//	ok          signs correctly (key "repo" or the default key only)
//	down        ssh cannot connect: exit 255
//	refuse      refuses with exit 2 and a message holding an escape sequence
//	garbage     answers something that is not a response
//	flood       answers 1 MiB
//	hang        never answers
//	straggler   signs, but leaves a child holding stdout and stderr, as a
//	            ControlPersist master can
//	otherdata   signs other data, with that data's digest notation
//	liar        signs other data, with the file's digest notation
//	nonotation  signs the file without the digest notation
//	wrongkey    signs the file with another key (and serves its certificate)
//	othertext   signs other text for 'sign --clearsign' and 'sign --text'
//	old         refuses 'sign --batch' as a server without batches does
//	limitN      ends a batch after N answers, exit 3, as the request limit does
//	errline     answers each request of a batch with an error line
//
// Every mode that signs answers 'sign --batch' unless it is "old".
func serve(mode string, words []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch mode {
	case "down":
		fmt.Fprintln(stderr, "ssh: connect to host down port 22: Connection refused")
		return 255
	case "refuse":
		fmt.Fprint(stderr, "signstar: error: key \"repo\" is not allowed\x1b[2J\nsignstar: hint: ask the admin\n")
		return 2
	case "garbage":
		fmt.Fprint(stdout, "HTTP/1.1 200 OK\r\n\r\nnot json")
		return 0
	case "flood":
		stdout.Write(bytes.Repeat([]byte{'{'}, 1<<20))
		return 0
	case "hang":
		time.Sleep(time.Minute)
		return 0
	case "straggler":
		straggle()
	}
	if code, ok := serveX509(mode, words, stdin, stdout, stderr); ok {
		return code
	}
	key := testKey
	if mode == "wrongkey" {
		key = otherKey
	}
	cert, err := newCert(key)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	verb, keyName, ok := parseWords(words)
	switch {
	case !ok || (keyName != "" && keyName != "repo"):
		fmt.Fprintf(stderr, "signstar: error: refused %q\n", words)
		return 2
	case verb == "cert":
		if err := cert.WriteArmored(stdout); err != nil {
			return 1
		}
		return 0
	case verb == "sign":
		return signRequest(mode, cert, key, stdin, stdout, stderr)
	case verb == "batch" && mode == "old":
		fmt.Fprintln(stderr, `signstar: error: unknown flag "--batch"`)
		return 2
	case verb == "batch":
		return signBatch(mode, cert, key, stdin, stdout, stderr)
	}
	return signText(mode, verb, cert, key, stdin, stdout, stderr)
}

// signText answers 'sign --clearsign' and 'sign --text' with the whole
// text sent.
func signText(mode, verb string, cert *pgp.Certificate, key ed25519.PrivateKey, stdin io.Reader, stdout, stderr io.Writer) int {
	if mode == "othertext" {
		stdin = strings.NewReader("Origin: evil\n")
	}
	signer, err := pgp.NewSigner(cert, key, crypto.SHA512)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if verb == "clearsign" {
		_, err = signer.ClearSign(stdout, stdin, pgp.Options{})
	} else {
		_, err = signer.Sign(stdout, stdin, pgp.Options{Text: true})
	}
	if err != nil {
		fmt.Fprintf(stderr, "signstar: error: %v\n", err)
		return 1
	}
	return 0
}

// parseWords accepts "cert [--key NAME]" and "sign --request|--clearsign|--text
// [--key NAME]".
func parseWords(w []string) (verb, key string, ok bool) {
	if len(w) >= 2 && w[len(w)-2] == "--key" {
		key, w = w[len(w)-1], w[:len(w)-2]
	}
	switch {
	case slices.Equal(w, []string{"cert"}):
		return "cert", key, true
	case slices.Equal(w, []string{"sign", "--request"}):
		return "sign", key, true
	case slices.Equal(w, []string{"sign", "--batch"}):
		return "batch", key, true
	case slices.Equal(w, []string{"sign", "--clearsign"}):
		return "clearsign", key, true
	case slices.Equal(w, []string{"sign", "--text"}):
		return "text", key, true
	}
	return "", "", false
}

func signRequest(mode string, cert *pgp.Certificate, key ed25519.PrivateKey, stdin io.Reader, stdout, stderr io.Writer) int {
	req, err := request.Read(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "signstar: error: %v\n", err)
		return 2
	}
	resp, err := answer(mode, cert, key, req)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(resp)
	return 0
}

// signBatch answers one request per line, as batch-protocol.md has it: a
// response or an error line each, exit 3 after the limit of a limitN mode.
func signBatch(mode string, cert *pgp.Certificate, key ed25519.PrivateKey, stdin io.Reader, stdout, stderr io.Writer) int {
	limit := -1
	if n, ok := strings.CutPrefix(mode, "limit"); ok {
		fmt.Sscan(n, &limit)
	}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(nil, request.MaxSize+1)
	for n := 0; sc.Scan(); n++ {
		if n == limit {
			fmt.Fprintf(stderr, "signstar: batch ended: %d requests, the limit for one session; send the rest in a new session\n", limit)
			return 3
		}
		var resp []byte
		req, err := request.Read(bytes.NewReader(sc.Bytes()))
		if err == nil && mode != "errline" {
			resp, err = answer(mode, cert, key, req)
		} else if err == nil {
			err = fmt.Errorf("key \"repo\" is not allowed\x1b[2J")
		}
		if err != nil {
			resp = request.ErrorResponse(fmt.Sprintf("%v (request %d)", err, n))
		}
		stdout.Write(append(resp, '\n'))
	}
	return 0
}

// answer signs req as the mode says, and returns the response.
func answer(mode string, cert *pgp.Certificate, key ed25519.PrivateKey, req *request.Request) ([]byte, error) {
	h, err := req.Hash()
	if err != nil {
		return nil, err
	}
	touch(h.Sum(nil))
	notations := []*packet.Notation{request.DigestNotation(h.Sum(nil))}
	switch mode {
	case "otherdata":
		h.Write([]byte("other"))
		notations = []*packet.Notation{request.DigestNotation(h.Sum(nil))}
	case "liar":
		h.Write([]byte("other"))
	case "nonotation":
		notations = nil
	}
	signer, err := pgp.NewSigner(cert, key, crypto.SHA512)
	if err != nil {
		return nil, err
	}
	sig, err := signer.SignHash(h, pgp.Options{Armor: true, Notations: notations})
	if err != nil {
		return nil, err
	}
	return request.Response(sig)
}

// touch rewrites touchPath, keeping its size, when sum is its SHA-512:
// the request being answered is the one for that file.
func touch(sum []byte) {
	if touchPath == "" {
		return
	}
	data, err := os.ReadFile(touchPath)
	if err != nil {
		return
	}
	if got := sha512.Sum512(data); !bytes.Equal(got[:], sum) || len(data) == 0 {
		return
	}
	data[0] ^= 0xff
	os.WriteFile(touchPath, data, 0o644)
}

// straggle starts a process that outlives this one and holds its stdout
// and stderr open for a while.
func straggle() {
	cmd := exec.Command("sleep", "10")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Start()
}
