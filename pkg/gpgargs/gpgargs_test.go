package gpgargs

import (
	"crypto"
	"errors"
	"reflect"
	"strings"
	"testing"

	"signstar/pkg/refusal"
)

// The command lines the release tools pass, as issue 14 lists them and the
// tests in cmd/signstar logged them.
func TestParseCallers(t *testing.T) {
	tests := []struct {
		name string
		args string
		want Invocation
	}{
		{"makepkg list", "--list-secret-key repo", Invocation{Command: ListSecretKeys, Args: []string{"repo"}}},
		{"makepkg sign", "--detach-sign --use-agent -u repo --no-armor pkg.tar.zst",
			Invocation{Command: Detach, Keys: []string{"repo"}, Args: []string{"pkg.tar.zst"}}},
		{"rpm", "--no-verbose --no-armor --no-secmem-warning --digest-algo=sha256 -u pkg -sbo /tmp/rpm.sig -- -",
			Invocation{Command: Detach, Keys: []string{"pkg"}, Output: "/tmp/rpm.sig", Digest: crypto.SHA256, Args: []string{"-"}}},
		{"apt-secure clearsign", "--clearsign -o InRelease Release",
			Invocation{Command: Clear, Output: "InRelease", Args: []string{"Release"}}},
		{"apt-secure detached", "-abs -o Release.gpg Release",
			Invocation{Command: Detach, Armor: true, Output: "Release.gpg", Args: []string{"Release"}}},
		{"aptly", "-o Release.gpg --digest-algo SHA256 --armor --yes -u repo --detach-sign Release",
			Invocation{Command: Detach, Armor: true, Keys: []string{"repo"}, Output: "Release.gpg", Digest: crypto.SHA256, Args: []string{"Release"}}},
		{"version", "--version", Invocation{Command: Version}},
		{"aptly list", "--list-keys --dry-run --no-auto-check-trustdb", Invocation{Command: Delegate}},
		{"debsign", "--local-user repo --clearsign --list-options no-show-policy-urls --armor --textmode --output x.dsc.asc x.dsc",
			Invocation{Command: Clear, Armor: true, Text: true, Keys: []string{"repo"}, Output: "x.dsc.asc", Args: []string{"x.dsc"}}},
		{"debsigs", "--openpgp --detach-sign --default-key repo",
			Invocation{Command: Detach, Keys: []string{"repo"}}},
		{"git sign", "--status-fd=2 -bsau repo",
			Invocation{Command: Detach, Armor: true, Keys: []string{"repo"}, StatusFD: 2}},
		{"git verify", "--keyid-format=long --status-fd=1 --verify sig -", Invocation{Command: Delegate}},
		{"dscverify", "--status-fd 3 --batch --no-options --no-default-keyring --always-trust --keyring k.gpg --verify --output -",
			Invocation{Command: Delegate}},
		{"debsig-verify keys", "--no-options --no-default-keyring --batch --no-secmem-warning --quiet --with-colons --show-keys k.gpg",
			Invocation{Command: Delegate}},
		{"import", "--import repo.asc", Invocation{Command: Delegate}},
		{"export", "--armor --export repo@example.org", Invocation{Command: Delegate}},
		{"key glued to -u", "-b -urepo -o- f", Invocation{Command: Detach, Keys: []string{"repo"}, Output: "-", Args: []string{"f"}}},
		{"two keys", "-u old --local-user=new --clearsign", Invocation{Command: Clear, Keys: []string{"old", "new"}}},
		{"stdin dash", "-b -", Invocation{Command: Detach, Args: []string{"-"}}},
		{"with colons", "--with-colons -K", Invocation{Command: ListSecretKeys, Colons: true}},
		{"no-armor after armor", "-a --no-armor -b", Invocation{Command: Detach}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(strings.Fields(tt.args))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.args, err)
			}
			want := tt.want
			if want.StatusFD == 0 {
				want.StatusFD = -1
			}
			if got.Command == Delegate {
				got = &Invocation{Command: Delegate, StatusFD: -1}
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Parse(%s) =\n%+v, want\n%+v", tt.args, *got, want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		args string
		want string // in the message
	}{
		{"--encrypt -r x f", "--encrypt is not supported"},
		{"-e f", "-e is not supported"},
		{"--symmetric f", "--symmetric is not supported"},
		{"-c f", "-c is not supported"},
		{"--sign f", "inline signed message"},
		{"-s f", "inline signed message"},
		{"--export-secret-keys", "--export-secret-keys is not supported"},
		{"--gen-key", "--gen-key is not supported"},
		{"--keyring k.gpg -b f", "--keyring is not supported"},
		{"--frobnicate -b f", "--frobnicate is not supported"},
		{"--detach", "--detach is not supported"}, // no abbreviations
		{"--digest-algo SHA1 -b f", "weak hash"},
		{"--digest-algo=md5 -b f", "weak hash"},
		{"--digest-algo whirlpool -b f", "unknown hash"},
		{"--status-fd x -b", "file descriptor"},
		{"--status-fd=-1 -b", "file descriptor"},
		{"-b -u", "needs a value"},
		{"-b --output", "needs a value"},
		{"-b --armor=yes", "takes no value"},
		{"-b --clearsign", "conflicting gpg commands -b --clearsign"},
		{"--version -b", "conflicting"},
		{"-b a b", "one file at a time"},
		{"", "no gpg command"},
		{"-a f", "no gpg command"},
		{"-bx f", "-x is not supported"},
		{"-u '' -b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			args := strings.Fields(tt.args)
			if tt.args == "-u '' -b" {
				args = []string{"-u", "", "-b"}
				tt.want = "needs a key"
			}
			_, err := Parse(args)
			if err == nil {
				t.Fatalf("Parse(%s) succeeded", tt.args)
			}
			if !errors.Is(err, refusal.Err) {
				t.Errorf("Parse(%s) = %v, not a refusal", tt.args, err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("Parse(%s) = %q, want one line containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// After the first operand, words are operands: a file named "-b" signs.
func TestParseOperandsEndOptions(t *testing.T) {
	got, err := Parse([]string{"-b", "--", "-a"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Armor || got.Input() != "-a" {
		t.Errorf("Parse(-b -- -a) = %+v, want input -a, no armor", got)
	}
	// After "--", --verify is a file name, not a command for the real gpg.
	if got, err := Parse([]string{"-b", "--", "--verify"}); err != nil || got.Command != Detach || got.Input() != "--verify" {
		t.Errorf("Parse(-b -- --verify) = %+v, %v, want a detached signature of the file --verify", got, err)
	}
	if got, _ := Parse([]string{"-b"}); got.Input() != "-" {
		t.Errorf("Input() without operands = %q, want -", got.Input())
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"--detach-sign --use-agent -u repo --no-armor pkg.tar.zst",
		"--no-verbose --no-armor --no-secmem-warning --digest-algo=sha256 -u pkg -sbo /tmp/rpm.sig -- -",
		"-abs -o Release.gpg Release", "--clearsign -o InRelease Release",
		"--status-fd=2 -bsau repo", "--keyid-format=long --status-fd=1 --verify sig -",
		"--list-secret-keys --with-colons", "--version", "-uK -b", "-b -u",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		inv, err := Parse(strings.Split(line, " "))
		if err != nil {
			if !errors.Is(err, refusal.Err) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse(%q) = %q: want a one-line refusal", line, err)
			}
			return
		}
		switch inv.Command {
		case Detach, Clear:
			if len(inv.Args) > 1 {
				t.Fatalf("Parse(%q) signs %d files", line, len(inv.Args))
			}
		case Version, ListSecretKeys, Delegate:
		default:
			t.Fatalf("Parse(%q) = command %v", line, inv.Command)
		}
	})
}
