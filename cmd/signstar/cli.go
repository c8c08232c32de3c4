package main

// The command line: the client's request command, which every build has,
// and the admin CLI (admin.go), which only the full build has: the
// client-only build embeds an empty AdminCLI (clientonly.go), so kong's
// model, and with it --help, lists what the binary can do.

import (
	"context"
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
	Request requestCmd       `cmd:"" help:"Sign local files through a signstar server, sending only their SHA-512 state over ssh."`
	Gpg     gpgCmd           `cmd:"" help:"Sign as gpg does, for release tools that call gpg: 'signstar gpg ARGS' (gpg first), or signstar run as a gpg or signstar-gpg symlink."`
}

type requestCmd struct {
	Host      []string      `help:"signstar server as ssh destination (user@host); repeat for failover, tried in order." required:"" sep:"none" placeholder:"DEST"`
	Cert      string        `help:"Pinned OpenPGP certificate of the key; without it, each server's 'cert' is trusted on first use." type:"existingfile" placeholder:"FILE"`
	Key       string        `help:"Name of the key on the server (default: the server's default key)." placeholder:"NAME"`
	Armor     bool          `help:"Write FILE.asc (ASCII armor) instead of FILE.sig."`
	Jobs      int           `help:"Files signed in parallel." default:"4"`
	SSHOption []string      `help:"Extra ssh(1) argument, one per flag: --ssh-option=-oConnectTimeout=5; repeatable." name:"ssh-option" sep:"none" placeholder:"ARG"`
	Timeout   time.Duration `help:"Limit for one ssh run." default:"2m"`
	Files     []string      `arg:"" help:"Files to sign." type:"existingfile"`
}

func (c *requestCmd) Run(g *cli) error {
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
	if c.Jobs < 1 {
		return refusal.Errorf("--jobs must be at least 1")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := client.Sign(ctx, c.Files, client.Options{
		Hosts: c.Host, Cert: cert, Key: c.Key, Armor: c.Armor, Jobs: c.Jobs,
		SSHOptions: c.SSHOption, Timeout: c.Timeout, Log: os.Stderr,
	})
	return err
}
