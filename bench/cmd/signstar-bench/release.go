package main

// Section 6: what release tooling runs through the same sshd and token.
// The gpg front end (signstar started as gpg, README "Release tooling")
// against a bare 'ssh host sign', and the X.509 formats (README "Secure
// Boot and kernel modules") against the OpenPGP signature of the same
// files, with the peak RSS of a format that holds its input in memory.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// x509Key is the one key of section 6: RSA-3072 with a self-signed X.509
// certificate (codeSigning, the default usage; the kernel ignores
// extended key usage). It is made before the account's config is copied
// from root's, so the login shell knows it too.
const x509Key = "x509"

func (f *fixture) x509Key() error {
	env := f.env(f.cliConf)
	if _, err := sh(env, f.signstar, "key", "generate", "--name", x509Key, "--type", "rsa3072", "--uid", "signstar bench <bench@example.invalid>"); err != nil {
		return fmt.Errorf("generate the X.509 key: %v", err)
	}
	if _, err := sh(env, f.signstar, "key", "x509", "self-sign", "--name", x509Key, "--subject", "CN=bench"); err != nil {
		return fmt.Errorf("self-sign the X.509 key's certificate: %v", err)
	}
	return nil
}

// releaseInputs are section 6's files: a Release text, modules of 1 and
// 100 MiB, systemd-boot and systemd-boot grown to 100 MiB.
func (f *fixture) releaseInputs() error {
	f.inputs["systemd-bootx64.efi"] = efiImage
	for _, step := range []func() error{
		f.release,
		func() error { return f.kernelModule("1MiB", 1<<20) },
		func() error { return f.kernelModule("100MiB", 100<<20) },
		f.bigImage,
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// kernelModule builds an ELF object of about size bytes with gcc, as
// cmd/signstar's buildModule does: a .modinfo section and a large static
// array (a zero-filled .rodata, so gcc is quick).
func (f *fixture) kernelModule(label string, size int64) error {
	src := f.path("module.c")
	c := `static const char license[] __attribute__((section(".modinfo"), used, aligned(1))) = "license=GPL";
static const char name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=bench";
static const char payload[PAYLOAD] __attribute__((used)) = {1};
int init_module(void) { return 0; }
`
	if err := os.WriteFile(src, []byte(c), 0o644); err != nil {
		return err
	}
	ko := f.path("module-" + label + ".ko")
	if _, err := sh(nil, "gcc", "-c", fmt.Sprintf("-DPAYLOAD=%d", size-1024), "-o", ko, src); err != nil {
		return fmt.Errorf("build the %s module: %v", label, err)
	}
	f.inputs["module-"+label] = ko
	return nil
}

// efiImage is systemd-boot's EFI binary, a real PE32+ image.
const efiImage = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"

// bigImage is systemd-boot with the 100 MiB input appended as a section
// placed after the last one, so the sections still follow each other as
// authenticode requires.
func (f *fixture) bigImage() error {
	out := f.path("image-100MiB.efi")
	if _, err := sh(nil, "objcopy", "--add-section", ".bench="+f.inputs["100MiB"],
		"--set-section-flags", ".bench=data,readonly", "--change-section-address", ".bench=0x30000",
		efiImage, out); err != nil {
		return fmt.Errorf("append a 100 MiB section to %s: %v", efiImage, err)
	}
	f.inputs["image-100MiB"] = out
	return nil
}

// release is a 4 KiB text shaped like an apt Release file.
func (f *fixture) release() error {
	var b strings.Builder
	b.WriteString("Origin: bench\nLabel: bench\nSuite: stable\nCodename: bench\nDate: Sun, 22 Nov 2026 00:00:00 UTC\nArchitectures: amd64\nComponents: main\nSHA256:\n")
	for i := 0; b.Len() < 4096; i++ {
		fmt.Fprintf(&b, " %064x %8d main/binary-amd64/Packages%d\n", i*7919, 1000+i*37, i)
	}
	f.inputs["Release"] = f.path("Release")
	return os.WriteFile(f.inputs["Release"], []byte(b.String()[:4095]+"\n"), 0o644)
}

// gpgFront is the environment of signstar started as gpg: a directory
// first in PATH holding gpg -> signstar, and a client config naming the
// bench sshd and pinning the key's certificate (README, Release tooling).
func (f *fixture) gpgFront() ([]string, error) {
	bin := f.path("gpgfront")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(f.signstar, filepath.Join(bin, "gpg")); err != nil {
		return nil, err
	}
	var opts []string
	for _, o := range f.sshOptions() {
		opts = append(opts, fmt.Sprintf("%q", o))
	}
	conf := fmt.Sprintf("hosts = [%q]\nssh-options = [%s]\n\n[keys.%s]\ncert = %q\ndefault = true\n",
		f.target(), strings.Join(opts, ", "), x509Key, filepath.Join(f.dir, "certs", x509Key+".asc"))
	client := f.path("client.toml")
	if err := os.WriteFile(client, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "SIGNSTAR_CLIENT_CONFIG=" + client}, nil
}

// frontEnd: gpg --detach-sign (digest-only) and gpg --clearsign through
// the front end, interleaved with 'ssh host sign' of the same file.
func (f *fixture) frontEnd(c counts) ([]*series, error) {
	env, err := f.gpgFront()
	if err != nil {
		return nil, fmt.Errorf("set up the gpg front end: %v", err)
	}
	in := f.inputs["Release"]
	gpg := filepath.Join(f.path("gpgfront"), "gpg")
	specs := []spec{
		{label: "ssh host sign --key " + x509Key + " < Release", argv: f.ssh(nil, "sign", "--key", x509Key), stdin: in, stdout: f.path("Release.ssh.sig")},
		{label: "gpg --detach-sign -u " + x509Key + " Release", argv: []string{gpg, "--detach-sign", "-u", x509Key, in}, env: env},
		{label: "gpg --clearsign -o InRelease Release", argv: []string{gpg, "--clearsign", "-o", f.path("InRelease"), in}, env: env},
	}
	return interleave(specs, 2, c.frontRuns, time.Minute)
}

// sshFormat is 'ssh host sign [--format F] --key x509 < in'; its label
// ends in the input and its size, which the report pairs rows by.
func (f *fixture) sshFormat(format, input string) spec {
	words, label := []string{"sign", "--key", x509Key}, "sign"
	if format != "" {
		words = append(words, "--format", format)
		label += " --format " + format
	}
	return spec{label: label + " < " + f.sized(input), argv: f.ssh(nil, words...), stdin: f.inputs[input], stdout: f.path("x509.out")}
}

// sized is an input's name and size, as the tables show it.
func (f *fixture) sized(input string) string {
	name := filepath.Base(f.inputs[input])
	fi, err := os.Stat(f.inputs[input])
	if err != nil {
		return name + " (?)"
	}
	if n := fi.Size(); n < 1<<20 {
		return fmt.Sprintf("%s (%.1f KiB)", name, float64(n)/1024)
	}
	return fmt.Sprintf("%s (%.1f MiB)", name, float64(fi.Size())/(1<<20))
}

// x509Formats: each X.509 format over SSH next to the OpenPGP signature
// of the same file.
func (f *fixture) x509Formats(c counts) ([]*series, error) {
	specs := []spec{
		f.sshFormat("kmod", "module-1MiB"),
		f.sshFormat("cms", "module-1MiB"),
		f.sshFormat("", "module-1MiB"),
		f.sshFormat("authenticode", "systemd-bootx64.efi"),
		f.sshFormat("", "systemd-bootx64.efi"),
		f.sshFormat("cms", "100MiB"),
		f.sshFormat("", "100MiB"),
	}
	return interleave(specs, 1, c.x509Runs, 2*time.Minute)
}

// x509RSS: the signing process's peak RSS for 100 MiB inputs, run as sshd
// runs it (the account's login shell, 'signstar -c COMMAND', with the
// drop-in's environment) under GNU time; kmod and authenticode hold their
// input in memory, cms and OpenPGP stream it.
func (f *fixture) x509RSS(c counts) ([]*series, error) {
	shell := func(command, input string) spec {
		return spec{label: "signstar -c '" + command + "' < " + f.sized(input), argv: []string{f.signstar, "-c", command},
			env: f.env(f.acctConf), cred: f.asAccount(), stdin: f.inputs[input], rss: true}
	}
	k := " --key " + x509Key
	specs := []spec{
		shell("sign --format kmod"+k, "module-100MiB"),
		shell("sign --format authenticode"+k, "image-100MiB"),
		shell("sign --format cms"+k, "module-100MiB"),
		shell("sign"+k, "module-100MiB"),
	}
	return interleave(specs, 1, c.rssRuns, 2*time.Minute)
}
