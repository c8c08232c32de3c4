package main

// docs/benchmarks.md, docs/benchmarks.svg and the summary on stdout.

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

type fact struct{ name, value string }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func output(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return firstLine(string(out))
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func cpuFlags(want ...string) string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	var have []string
	for _, w := range want {
		if bytes.Contains(data, []byte(" "+w+" ")) || bytes.Contains(data, []byte(" "+w+"\n")) {
			have = append(have, w)
		}
	}
	return strings.Join(have, " ")
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	return strings.Join(strings.Fields(firstLine(string(data)))[1:], " ")
}

func osName() string {
	data, _ := os.ReadFile("/etc/os-release")
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "?"
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func pkgVersion(debian, fallback string, args ...string) string {
	if v := output("dpkg-query", "-W", "-f", "${Version}", debian); v != "?" && v != "" {
		return v
	}
	return output(fallback, args...)
}

func machineFacts(signstar string) []fact {
	return []fact{
		{"CPUs (nproc)", fmt.Sprint(runtime.NumCPU())},
		{"CPU model", cpuModel()},
		{"CPU features used by the hashes", cpuFlags("sha_ni", "avx2", "avx512f")},
		{"memory", memTotal()},
		{"kernel", output("uname", "-r")},
		{"OS", osName()},
		{"signstar", output(signstar, "--version")},
		{"SoftHSM2", pkgVersion("softhsm2", "softhsm2-util", "--version")},
		{"OpenSC (pkcs11-tool)", pkgVersion("opensc", "pkcs11-tool", "--version")},
		{"GnuPG", pkgVersion("gnupg", "gpg", "--version")},
		{"OpenSSH", pkgVersion("openssh-server", "ssh", "-V")},
		{"coreutils (sha512sum)", pkgVersion("coreutils", "sha512sum", "--version")},
	}
}

// --- goals ---------------------------------------------------------------

type goal struct {
	name     string
	measured string // as shown
	want     string
	used     float64 // measured as a fraction of what the goal allows: <= 1 is met
}

func (g goal) met() bool { return g.used <= 1 }

func (r *results) smallRatio(a, b string) float64 {
	return r.small.byKey[a].wall().median / r.small.byKey[b].wall().median
}

func (r *results) largeByLabel(l string) *series {
	for _, s := range r.large {
		if s.label == l {
			return s
		}
	}
	panic("BUG: no large series " + l)
}

func (r *results) sshFind(conc int, mode, w string) sshRow {
	for _, row := range r.ssh {
		if row.conc == conc && row.mode == mode && row.workload == w {
			return row
		}
	}
	panic(fmt.Sprintf("BUG: no ssh row %d %s %s", conc, mode, w))
}

func (r *results) sshRatio(conc int, mode string) float64 {
	return r.sshFind(conc, mode, "sign").rate() / r.sshFind(conc, mode, "version").rate()
}

// reqSent is the median bytes sent of digest-only row i.
func (r *results) reqSent(i int) float64 { return r.req[i].sent.median }

func (r *results) goals() []goal {
	var gs []goal
	ratio := func(name string, v, limit float64, strict bool) {
		want := fmt.Sprintf("<= %.2fx", limit)
		if strict {
			want = fmt.Sprintf("< %.2fx", limit)
		}
		gs = append(gs, goal{name, fmt.Sprintf("%.2fx", v), want, v / limit})
	}
	if r.small != nil {
		ratio("small, Ed25519: signstar / pkcs11-tool", r.smallRatio("signstar sign (ed25519)", "pkcs11-tool --sign (ed25519)"), 1.3, false)
		ratio("small, RSA-3072: signstar / pkcs11-tool", r.smallRatio("signstar sign (rsa3072)", "pkcs11-tool --sign (rsa3072)"), 1.3, false)
		ratio("small, RSA-3072: signstar / gpg", r.smallRatio("signstar sign (rsa3072)", "gpg --detach-sign (rsa3072)"), 1.0, true)
	}
	if r.large != nil {
		big := r.largeByLabel("signstar sign (ed25519)")
		ratio(r.c.largeLabel+": signstar / sha512sum", big.wall().median/r.largeByLabel("sha512sum").wall().median, 1.15, false)
		rss := big.rssMiB().max
		gs = append(gs, goal{r.c.largeLabel + ": signstar peak RSS", fmt.Sprintf("%.1f MiB", rss), "<= 32 MiB", rss / 32})
	}
	if r.ssh != nil {
		for _, mode := range []string{"new connection", "ControlMaster"} {
			v := r.sshRatio(32, mode)
			gs = append(gs, goal{"SSH, 32 at once, " + mode + ": sign / do-nothing rate", fmt.Sprintf("%.2fx", v), ">= 0.90x", 0.9 / v})
		}
	}
	if r.req != nil {
		added := r.reqSent(2) - r.reqSent(0)
		gs = append(gs, goal{"digest-only " + r.c.largeLabel + ": bytes sent beyond the session's own", fmt.Sprintf("%.0f B", added), "< 4096 B", added / 4096})
		diff := r.reqSent(2) - r.reqSent(1)
		gs = append(gs, goal{"digest-only: bytes sent, " + r.c.largeLabel + " minus 1 KiB", fmt.Sprintf("%+.0f B", diff), "±64 B", abs(diff) / 64})
	}
	if r.many != nil {
		gs = append(gs, r.many.goals()...)
	}
	return gs
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func yes(b bool) string {
	if b {
		return "met"
	}
	return "**missed**"
}

// --- markdown --------------------------------------------------------------

func (r *results) write(dir, repo string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	notes, err := os.ReadFile(filepath.Join(repo, "bench", "notes.md"))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	r.markdown(&b, notes)
	if err := os.WriteFile(filepath.Join(dir, "benchmarks.md"), b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "benchmarks.svg"), r.svg(), 0o644)
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }

func (r *results) markdown(w io.Writer, notes []byte) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Benchmarks\n\n")
	p("<!-- Generated by `just bench` (bench/cmd/signstar-bench); the prose after the tables is bench/notes.md. Edit those, not this file. -->\n\n")
	if r.quick {
		p("> **Smoke run (SIGNSTAR_BENCH_QUICK=1): counts and sizes are reduced; these figures are not the reference.**\n\n")
	}
	if !r.sel.all() {
		p("> **Partial run (SIGNSTAR_BENCH_SECTIONS): only the sections below were measured.**\n\n")
	}
	p("Measured on %s, %s to %s (%.0f minutes). Times are wall-clock medians unless said otherwise; ", r.started.UTC().Format("2006-01-02"), r.started.UTC().Format("15:04"), r.ended.UTC().Format("15:04 MST"), r.ended.Sub(r.started).Minutes())
	p("CPU is what wait4(2) reports for the process (user+sys); peak RSS is GNU time's %%M for the process run under `/usr/bin/time`, whose CPU is then included (a fraction of a millisecond). ")
	p("Commands of one table run interleaved, one round after the other, so that load from elsewhere on the machine falls on all of them alike.\n\n")
	p("| machine | |\n| --- | --- |\n")
	for _, f := range r.machine {
		p("| %s | %s |\n", f.name, f.value)
	}
	p("| load average (1, 5, 15 min) at start / end | %s / %s |\n\n", r.loadStart, r.loadEnd)

	p("## Summary\n\n![each goal: measured / allowed](benchmarks.svg)\n\n")
	p("| goal | measured | wanted | |\n| --- | --- | --- | --- |\n")
	for _, g := range r.goals() {
		p("| %s | %s | %s | %s |\n", g.name, g.measured, g.want, yes(g.met()))
	}

	if r.small != nil {
		r.smallSection(w)
	}
	if r.large != nil {
		r.largeSection(w)
	}
	if r.ssh != nil {
		r.sshSection(w)
	}
	if r.req != nil {
		r.reqSection(w)
	}
	if r.growth != nil {
		r.growthSection(w)
	}
	if r.front != nil {
		r.releaseTooling(w)
	}
	if r.many != nil {
		r.many.section(w, r.c)
	}

	p("\n")
	w.Write(notes)
}

func (r *results) smallSection(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 1. Small input, whole process\n\n")
	p("A 1 KiB file, %d interleaved runs of each command after 3 warm-up rounds; the token is SoftHSM2 %s with the same key for signstar and pkcs11-tool; ", r.c.smallRuns, r.machine[7].value)
	p("GnuPG signs with a software key of the same type, its agent warm, `--digest-algo SHA512` as signstar. ")
	p("signstar's audit sink is a file (`file:`, fsync'd per record): there is no journald on the bench machine. Rows marked *as the account* run as the unprivileged signing account instead of root.\n\n")
	p("| command | median ms | min ms | max ms | CPU ms (median) |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, s := range r.small.rows {
		wl := s.wall()
		p("| `%s` | %s | %s | %s | %s |\n", s.label, f1(wl.median), f1(wl.min), f1(wl.max), f1(s.cpu().median))
	}
	p("\n| ratio (medians) | Ed25519 | RSA-3072 |\n| --- | ---: | ---: |\n")
	for _, q := range []struct{ name, a, b string }{
		{"signstar / pkcs11-tool (the floor)", "signstar sign (%s)", "pkcs11-tool --sign (%s)"},
		{"signstar / gpg --detach-sign", "signstar sign (%s)", "gpg --detach-sign (%s)"},
		{"signstar as the account / pkcs11-tool", "signstar sign (%s), as the account", "pkcs11-tool --sign (%s)"},
		{"baseline (SIGNSTAR_BENCH_BASELINE) / pkcs11-tool", "signstar sign (%s), baseline", "pkcs11-tool --sign (%s)"},
		{"signstar / baseline", "signstar sign (%s)", "signstar sign (%s), baseline"},
		{"with the transparency log / without", "signstar sign (%s), with the transparency log", "signstar sign (%s)"},
	} {
		if r.small.byKey[fmt.Sprintf(q.a, "ed25519")] == nil || r.small.byKey[fmt.Sprintf(q.b, "ed25519")] == nil {
			continue
		}
		p("| %s | %.2fx | %.2fx |\n", q.name,
			r.smallRatio(fmt.Sprintf(q.a, "ed25519"), fmt.Sprintf(q.b, "ed25519")),
			r.smallRatio(fmt.Sprintf(q.a, "rsa3072"), fmt.Sprintf(q.b, "rsa3072")))
	}
	r.phases(w)
}

func (r *results) largeSection(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 2. Large input (%s)\n\n", r.c.largeLabel)
	p("Every command reads the file on standard input (page-cached), %d interleaved runs after one warm-up round.\n\n", r.c.largeRuns)
	p("| command | median s | min s | max s | CPU s (median) | peak RSS MiB (max) |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range r.large {
		wl := s.wall()
		p("| `%s` | %.2f | %.2f | %.2f | %.2f | %.1f |\n", s.label, wl.median/1000, wl.min/1000, wl.max/1000, s.cpu().median/1000, s.rssMiB().max)
	}
	sg, sha, s256, gpg := r.largeByLabel("signstar sign (ed25519)").wall().median, r.largeByLabel("sha512sum").wall().median, r.largeByLabel("sha256sum").wall().median, r.largeByLabel("gpg --detach-sign (ed25519)").wall().median
	p("\n| ratio (medians) | |\n| --- | ---: |\n| signstar / sha512sum (the floor) | %.2fx |\n| signstar / gpg --detach-sign | %.2fx |\n| gpg / sha512sum | %.2fx |\n| signstar / (sha512sum + sha256sum) | %.2fx |\n", sg/sha, sg/gpg, gpg/sha, sg/(sha+s256))
	p("| throughput: signstar / sha512sum / sha256sum | %.0f / %.0f / %.0f MB/s |\n", mbps(r.c.largeSize, sg), mbps(r.c.largeSize, sha), mbps(r.c.largeSize, s256))
}

func (r *results) sshSection(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 3. Over SSH\n\n")
	p("sshd on 127.0.0.1 with the shipped drop-in (`MaxStartups 64:30:256`, `MaxSessions 32`), the account's login shell is signstar, INFO logging. ")
	p("Each row is %d sessions (or as many as start within %v: the *sessions* column says how many ran), that many at once; *sign* pipes a %d MiB file and gets a signature back, the floor *version* is `ssh host version`: the account's shell is signstar, so there is no `ssh host true`, and `version` is the session that does nothing else (signstar starts, prints one line, exits; no token, no lockdown). ", r.c.sshTotal, sshRowTime, r.c.sshSize>>20)
	p("*ControlMaster*: sessions ride on already-authenticated connections, one per 32 concurrent sessions (the drop-in's `MaxSessions 32`).\n\n")
	p("| at once | mode | masters | workload | sessions | failed | sessions/s | p50 ms | p99 ms | max ms |\n| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, row := range r.ssh {
		p("| %d | %s | %d | %s | %d | %d | %.1f | %s | %s | %s |\n", row.conc, row.mode, row.masters, row.workload, row.total, row.failed, row.rate(), f1(row.lat.median), f1(row.lat.p99), f1(row.lat.max))
	}
	p("\n| sign rate / do-nothing rate | 1 | 8 | 32 |\n| --- | ---: | ---: | ---: |\n")
	for _, mode := range []string{"new connection", "ControlMaster"} {
		p("| %s | %.2fx | %.2fx | %.2fx |\n", mode, r.sshRatio(1, mode), r.sshRatio(8, mode), r.sshRatio(32, mode))
	}
}

func (r *results) reqSection(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 4. Digest-only requests\n\n")
	p("Bytes sent are what `ssh -v -E LOG` reports at exit (`Transferred: sent N`), for the whole connection. `signstar request` hashes the file locally and sends the 208-byte SHA-512 state; `ssh host < file` sends the file. %d runs each.\n\n", r.c.reqRuns)
	p("| what | median s | min s | max s | bytes sent (median) |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, row := range r.req {
		p("| %s | %.2f | %.2f | %.2f | %.0f |\n", row.label, row.wall.median/1000, row.wall.min/1000, row.wall.max/1000, row.sent.median)
	}
	p("\n| ratio | |\n| --- | ---: |\n| time: request / whole file over ssh | %.2fx |\n| bytes: request / whole file over ssh | %.6fx |\n| bytes the request adds to a session | %.0f B |\n",
		r.req[2].wall.median/r.req[3].wall.median, r.reqSent(2)/r.reqSent(3), r.reqSent(2)-r.reqSent(0))
}

func (r *results) growthSection(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 5. Cost growth\n\n")
	p("`signstar sign` (Ed25519) as root, against `sha512sum` on the same input; %v runs for the smaller sizes, the %s row is section 2's.\n\n", r.c.growthRuns, r.c.largeLabel)
	p("| input | wall ms | CPU ms (user+sys) | user ms | sys ms | peak RSS MiB (median / max) | sha512sum CPU ms | signstar CPU / sha512sum CPU |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, g := range r.growth {
		p("| %s | %s | %s | %s | %s | %s / %s | %s | %.2fx |\n", g.size, f1(g.signstar.wall().median), f1(g.signstar.cpu().median), f1(g.signstar.user().median), f1(g.signstar.sys().median),
			f1(g.signstar.rssMiB().median), f1(g.signstar.rssMiB().max), f1(g.floor.cpu().median), g.signstar.cpu().median/g.floor.cpu().median)
	}
	first, last := r.growth[0], r.growth[len(r.growth)-1]
	per := (last.signstar.cpu().median - first.signstar.cpu().median) / float64(last.bytes-first.bytes) * 1e6 // ns per byte
	perFloor := (last.floor.cpu().median - first.floor.cpu().median) / float64(last.bytes-first.bytes) * 1e6
	p("\nMarginal CPU per byte (from 1 KiB to %s): signstar %.2f ns/B, sha512sum %.2f ns/B; fixed cost per signature: %.1f ms of CPU.\n", r.c.largeLabel, per, perFloor, first.signstar.cpu().median)
}

// releaseTooling is section 6: the gpg front end and the X.509 formats.
func (r *results) releaseTooling(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\n## 6. Release tooling: the gpg front end and the X.509 formats\n\n")
	p("Section 3's sshd and token, one new connection per command (no ControlMaster), and one key, `%s`: RSA-3072 with a self-signed X.509 certificate (`key x509 self-sign`). ", x509Key)
	p("The front end is signstar started as `gpg` through a symlink first in `PATH`, with a client config (`SIGNSTAR_CLIENT_CONFIG`) naming this sshd and pinning the key's certificate: `--detach-sign` hashes the file here and sends its SHA-512 state (`sign --request`), `--clearsign` sends the text; both verify the signature against the pinned certificate before writing it. ")
	p("The input is a 4 KiB text shaped like an apt Release file; %d interleaved runs after 2 warm-up rounds. CPU is the client's: the command and its ssh child.\n\n", r.c.frontRuns)
	p("| command | median ms | min ms | max ms | client CPU ms (median) |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, s := range r.front {
		wl := s.wall()
		p("| `%s` | %s | %s | %s | %s |\n", s.label, f1(wl.median), f1(wl.min), f1(wl.max), f1(s.cpu().median))
	}
	bare := r.front[0].wall().median
	p("\n| the front end over a bare `ssh host sign` (medians) | added ms | ratio |\n| --- | ---: | ---: |\n")
	for _, s := range r.front[1:] {
		p("| `%s` | %+.1f | %.2fx |\n", s.label, s.wall().median-bare, s.wall().median/bare)
	}

	p("\nEach X.509 format over SSH next to the OpenPGP `sign` of the same file, `ssh host sign [--format F] --key %s < FILE > OUT`; %d interleaved runs after one warm-up round. ", x509Key, r.c.x509Runs)
	p("The 1 MiB module is an ELF object built with gcc (a `.modinfo` section and a large static array); the EFI image is Debian's systemd-boot.\n\n")
	p("| command | median ms | min ms | max ms | / OpenPGP `sign` of the same file |\n| --- | ---: | ---: | ---: | ---: |\n")
	openpgp := map[string]float64{}
	for _, s := range r.x509 {
		if cmd, in, _ := strings.Cut(s.label, " < "); cmd == "sign" {
			openpgp[in] = s.wall().median
		}
	}
	for _, s := range r.x509 {
		wl := s.wall()
		ratio := ""
		if cmd, in, _ := strings.Cut(s.label, " < "); cmd != "sign" && openpgp[in] > 0 {
			ratio = fmt.Sprintf("%.2fx", wl.median/openpgp[in])
		}
		p("| `%s` | %s | %s | %s | %s |\n", s.label, f1(wl.median), f1(wl.min), f1(wl.max), ratio)
	}

	p("\nPeak RSS of the signing process for 100 MiB inputs: the account's login shell as sshd starts it (`signstar -c COMMAND`, the drop-in's environment, standard input from the file, output discarded) under `/usr/bin/time`; %d runs after one warm-up round. ", r.c.rssRuns)
	p("kmod and authenticode hold the input in memory (at most 256 MiB); the 100 MiB module is built as the 1 MiB one, the image is systemd-boot with section 2's 100 MiB input appended as a section by `objcopy --add-section`.\n\n")
	p("| command | median s | CPU s (median) | peak RSS MiB (max) |\n| --- | ---: | ---: | ---: |\n")
	for _, s := range r.rss {
		wl := s.wall()
		p("| `%s` | %.2f | %.2f | %.1f |\n", s.label, wl.median/1000, s.cpu().median/1000, s.rssMiB().max)
	}
}

func mbps(size int64, medianMs float64) float64 { return float64(size) / 1e6 / (medianMs / 1000) }

// phases splits one 'signstar sign' (Ed25519, 1 KiB) into where it stops:
// differences of medians of probes that end at known points.
func (r *results) phases(w io.Writer) {
	med := func(l string) float64 { return r.small.byKey[l].wall().median }
	cpu := func(l string) float64 { return r.small.byKey[l].cpu().median }
	version, login, locked := "signstar --version", "signstar sign --key absent (stops after login)", "signstar sign < /dev/null (stops after lockdown)"
	shellVersion := "signstar -c version (login-shell path: no CLI parser)"
	full, lockedAcct := "signstar sign (ed25519)", "signstar sign < /dev/null, as the account"
	p11 := "pkcs11-tool --sign (ed25519)"
	fmt.Fprintf(w, "\nWhere one `signstar sign` (Ed25519, as root) spends its time, from the probe rows above (differences of medians; each probe that fails also writes its audit record):\n\n")
	fmt.Fprintf(w, "| phase | wall ms | CPU ms |\n| --- | ---: | ---: |\n")
	rows := []struct {
		name string
		a, b string
	}{
		{"exec, Go runtime start, CLI parsing (`signstar --version`)", version, ""},
		{"config, audit sink, module load, C_Initialize, C_Login, audit record", login, version},
		{"key lookup, certificate check, lockdown", locked, login},
		{"hash, C_Sign, two verifications, audit record, output", full, locked},
	}
	for _, row := range rows {
		a, c := med(row.a), cpu(row.a)
		if row.b != "" {
			a, c = a-med(row.b), c-cpu(row.b)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", row.name, f1(a), f1(c))
	}
	fmt.Fprintf(w, "| total | %s | %s |\n", f1(med(full)), f1(cpu(full)))
	fmt.Fprintf(w, "| of the first phase: the CLI parser (`--version` less `-c version`) | %s | %s |\n", f1(med(version)-med(shellVersion)), f1(cpu(version)-cpu(shellVersion)))
	fmt.Fprintf(w, "| of the lockdown: as root rather than as the account (`< /dev/null` probes) | %s | %s |\n", f1(med(locked)-med(lockedAcct)), f1(cpu(locked)-cpu(lockedAcct)))
	fmt.Fprintf(w, "| the floor, `pkcs11-tool --sign` | %s | %s |\n", f1(med(p11)), f1(cpu(p11)))
}

// --- plot ------------------------------------------------------------------

// svg draws each goal as a bar of measured / allowed: left of the line at
// 1 is met. Bars past 2 are cut and marked.
func (r *results) svg() []byte {
	return plot(r.goals(), r.quick, r.machine[1].value, r.machine[4].value, r.machine[0].value, r.started.UTC().Format("2006-01-02"))
}

func plot(gs []goal, quick bool, cpu, kernel, ncpu, date string) []byte {
	const (
		left, barW, rowH, top, right = 440, 400, 30, 56, 190
		maxUsed                      = 2.0
	)
	width, height := left+barW+right, top+rowH*len(gs)+40
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	title := "signstar benchmark goals: measured / allowed (1 = the goal's limit; shorter is better)"
	if quick {
		title += " [smoke run]"
	}
	p(`<text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	p(`<text x="10" y="42" fill="#555">%s, %s, %s CPUs; %s</text>`+"\n", html.EscapeString(cpu), html.EscapeString("Linux "+kernel), ncpu, date)
	x := func(v float64) float64 { return left + barW*min(v, maxUsed)/maxUsed }
	for i, g := range gs {
		y := top + i*rowH
		color := "#3a8f4b"
		if !g.met() {
			color = "#c0392b"
		}
		p(`<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+19, html.EscapeString(g.name))
		p(`<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y+5, x(g.used)-left, rowH-10, color)
		if g.used > maxUsed {
			p(`<text x="%.1f" y="%d" fill="white" text-anchor="end">&#187;</text>`+"\n", x(maxUsed)-4, y+19)
		}
		p(`<text x="%d" y="%d">%s (want %s)</text>`+"\n", left+barW+8, y+19, html.EscapeString(g.measured), html.EscapeString(g.want))
	}
	bottom := top + rowH*len(gs)
	for _, t := range []float64{0, 0.5, 1, 1.5, 2} {
		stroke, dash := "#bbb", ` stroke-dasharray="3,3"`
		if t == 1 {
			stroke, dash = "#000", ""
		}
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"%s/>`+"\n", x(t), top, x(t), bottom, stroke, dash)
		p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%.1f</text>`+"\n", x(t), bottom+16, t)
	}
	p(`<text x="%.1f" y="%d" text-anchor="middle" fill="#555">goal</text>`+"\n", x(1), bottom+32)
	p("</svg>\n")
	return b.Bytes()
}

// --- stdout ----------------------------------------------------------------

func (r *results) printSummary(w io.Writer, dir string) {
	fmt.Fprintf(w, "\nsignstar benchmarks (%s, %s CPUs, load %s -> %s, %s)\n\n", r.machine[1].value, r.machine[0].value, r.loadStart, r.loadEnd, r.ended.Sub(r.started).Round(time.Second))
	for _, g := range r.goals() {
		mark := "ok    "
		if !g.met() {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %s %-62s %12s  (want %s)\n", mark, g.name, g.measured, g.want)
	}
	fmt.Fprintf(w, "\nwrote %s and %s\n", filepath.Join(dir, "benchmarks.md"), filepath.Join(dir, "benchmarks.svg"))
}
