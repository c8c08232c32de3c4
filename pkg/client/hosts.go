package client

import (
	"context"
	"slices"
	"sync"
)

// hosts orders the destinations for each file: those that last worked,
// in the order given, then those that last failed. A release script that
// signs hundreds of files with the first host down then waits for that
// host's connection timeout a few times, not once per file.
type hosts struct {
	mu     sync.Mutex
	list   []string
	failed map[string]bool
}

func newHosts(list []string) *hosts {
	return &hosts{list: slices.Clone(list), failed: make(map[string]bool)}
}

func (h *hosts) order() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var up, down []string
	for _, host := range h.list {
		if h.failed[host] {
			down = append(down, host)
		} else {
			up = append(up, host)
		}
	}
	return append(up, down...)
}

func (h *hosts) mark(host string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failed[host] = !ok
}

// cert is what a signature is checked against: an OpenPGP certificate
// (*pgp.Certificate) or an X.509 one (*x509Cert).
type cert interface {
	comparable
	Fingerprint() string
	UserID() string
}

// certs gives the certificate a host's signatures must verify against:
// the pinned one, or else the one the host serves, fetched once per host.
type certs[C cert] struct {
	pinned C
	fetch  func(ctx context.Context, host string) (C, error)
	log    *logger

	mu     sync.Mutex
	byHost map[string]*hostCert[C]
	first  string // fingerprint of the first certificate fetched
}

// hostCert is one host's fetched certificate; its lock makes the workers
// that need it wait for one fetch instead of each running their own.
type hostCert[C cert] struct {
	mu   sync.Mutex
	cert C
}

func newCerts[C cert](pinned C, fetch func(context.Context, string) (C, error), log *logger) *certs[C] {
	return &certs[C]{pinned: pinned, fetch: fetch, log: log, byHost: make(map[string]*hostCert[C])}
}

// get returns host's certificate. A failed fetch is not remembered: the
// host may be back for the next file.
func (c *certs[C]) get(ctx context.Context, host string) (C, error) {
	var none C
	if c.pinned != none {
		return c.pinned, nil
	}
	hc := c.entry(host)
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.cert != none {
		return hc.cert, nil
	}
	cert, err := c.fetch(ctx, host)
	if err != nil {
		return none, err
	}
	hc.cert = cert
	c.announce(host, cert)
	return cert, nil
}

func (c *certs[C]) entry(host string) *hostCert[C] {
	c.mu.Lock()
	defer c.mu.Unlock()
	hc := c.byHost[host]
	if hc == nil {
		hc = &hostCert[C]{}
		c.byHost[host] = hc
	}
	return hc
}

// announce says that a certificate is trusted on first use, which is only
// as good as the ssh connection it came over, and names its fingerprint
// so it can be compared with a trusted copy; two hosts serving different
// certificates get a second warning.
func (c *certs[C]) announce(host string, cert C) {
	fpr := cert.Fingerprint()
	c.log.printf("warning: %s: no pinned certificate; trusting the one it serves on first use: %s %s",
		show(host), fpr, show(cert.UserID()))
	c.mu.Lock()
	first := c.first
	if first == "" {
		c.first = fpr
	}
	c.mu.Unlock()
	if first != "" && first != fpr {
		c.log.printf("warning: %s serves certificate %s, another host served %s", show(host), fpr, first)
	}
}
