package main

// The command line: the client's request command, which every build has,
// and the admin CLI (admin.go), which only the full build has: the
// client-only build embeds an empty AdminCLI (clientonly.go), so kong's
// model, and with it --help, lists what the binary can do.

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"signstar/pkg/client"
	"signstar/pkg/pgp"
	"signstar/pkg/refusal"
)

// cli is the whole command line. AdminCLI comes first, so the full build
// lists --config before --version and the admin commands before request.
type cli struct {
	AdminCLI `embed:""`

	Version kong.VersionFlag `help:"Print the version and exit."`
	Request requestCmd       `cmd:"" help:"Sign local files through a signstar server, sending only their SHA-512 state (OpenPGP) or SHA-256 digest (--format) over ssh."`
	Gpg     gpgCmd           `cmd:"" help:"Sign as gpg does, for release tools that call gpg: 'signstar gpg ARGS' (gpg first), or signstar run as a gpg or signstar-gpg symlink."`
}

type requestCmd struct {
	Host      []string      `help:"signstar server as ssh destination (user@host); repeat for failover, tried in order." required:"" sep:"none" placeholder:"DEST"`
	Cert      string        `help:"Pinned OpenPGP certificate of the key; without it, each server's 'cert' is trusted on first use." type:"existingfile" placeholder:"FILE"`
	Key       string        `help:"Name of the key on the server (default: the server's default key)." placeholder:"NAME"`
	Armor     bool          `help:"Write FILE.asc (ASCII armor) instead of FILE.sig."`
	Format    string        `help:"Sign with the key's X.509 certificate instead of OpenPGP, sending only the file's SHA-256 digest: kmod (a kernel module, signed in place), authenticode (a UEFI PE image, signed in place) or cms (a detached signature, FILE.p7s)." enum:",kmod,authenticode,cms" default:"" placeholder:"FORMAT"`
	X509Cert  string        `help:"Pinned X.509 certificate (PEM) of the key, for --format; without it, each server's 'cert --x509' is trusted on first use." name:"x509-cert" type:"existingfile" placeholder:"FILE"`
	Append    bool          `help:"With --format authenticode: add a signature to an already signed image instead of refusing it."`
	KeyID     bool          `name:"keyid" help:"With --format kmod: name the signer by subject key identifier, as sign-file -k does."`
	Jobs      int           `help:"Batch sessions run in parallel ('sign --batch', files shared among them); files signed in parallel where a session signs one file." default:"4"`
	NoBatch   bool          `name:"no-batch" help:"Sign each file in an ssh session of its own ('sign --request'). Without it, several OpenPGP files go through batches, and a server that refuses them gets one session per file, said once."`
	LogKey    string        `name:"log-key" help:"The hosts' transparency log key (NAME+HASH+KEY, as 'signstar log verifier' prints it, or a file holding it): every signature must be proven in the log before it is written, and the log must extend the checkpoint kept from the last run ($XDG_STATE_HOME/signstar)." placeholder:"KEY"`
	SSHOption []string      `help:"Extra ssh(1) argument, one per flag: --ssh-option=-oConnectTimeout=5; repeatable." name:"ssh-option" sep:"none" placeholder:"ARG"`
	Timeout   time.Duration `help:"Limit for one ssh run; in a batch, for the next answer while requests wait." default:"2m"`
	Files     []string      `arg:"" help:"Files to sign." type:"existingfile"`
}

func (c *requestCmd) Run(g *cli) error {
	if err := c.checkForm(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o := client.Options{
		Hosts: c.Host, Key: c.Key, Armor: c.Armor, Jobs: c.Jobs, NoBatch: c.NoBatch,
		SSHOptions: c.SSHOption, Timeout: c.Timeout, Log: os.Stderr,
	}
	if err := c.logOptions(&o); err != nil {
		return err
	}
	if c.Format != "" {
		return c.signX509(ctx, o)
	}
	var cert *pgp.Certificate
	if c.Cert != "" {
		f, err := os.Open(c.Cert)
		if err != nil {
			return err
		}
		cert, err = pgp.ReadCertificate(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("read certificate %s: %w", c.Cert, err)
		}
	}
	o.Cert = cert
	_, err := client.Sign(ctx, c.Files, o)
	return err
}

// checkForm refuses flags that belong to the other kind of signature.
func (c *requestCmd) checkForm() error {
	switch {
	case c.Jobs < 1:
		return refusal.Errorf("--jobs must be at least 1")
	case c.Format != "" && (c.Cert != "" || c.Armor):
		return refusal.Errorf("--cert and --armor are OpenPGP flags: --format %s takes --x509-cert", c.Format)
	case c.Format == "" && c.X509Cert != "":
		return refusal.Errorf("--x509-cert needs --format kmod, authenticode or cms")
	case c.Append && c.Format != "authenticode":
		return refusal.Errorf("--append applies to --format authenticode only")
	case c.KeyID && c.Format != "kmod":
		return refusal.Errorf("--keyid applies to --format kmod only")
	}
	return nil
}

// signX509 signs the files in an X.509 format.
func (c *requestCmd) signX509(ctx context.Context, o client.Options) error {
	var cert *x509.Certificate
	if c.X509Cert != "" {
		data, err := os.ReadFile(c.X509Cert)
		if err != nil {
			return err
		}
		if cert, err = client.ReadX509Cert(data); err != nil {
			return fmt.Errorf("read X.509 certificate %s: %w", c.X509Cert, err)
		}
	}
	_, err := client.SignX509(ctx, c.Files, client.X509Options{Options: o, Format: c.Format, Cert: cert, Append: c.Append, KeyID: c.KeyID})
	return err
}
