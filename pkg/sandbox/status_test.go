package sandbox

import (
	"strings"
	"testing"
)

const lockedStatus = `Name:	signstar
NoNewPrivs:	1
Seccomp:	2
Seccomp_filters:	1
CapInh:	0000000000000000
CapPrm:	0000000000000000
CapEff:	0000000000000000
CapBnd:	0000000000000000
CapAmb:	0000000000000000
`

const rootStatus = `Name:	bash
CapInh:	0000000000000000
CapPrm:	000001ffffffffff
CapEff:	000001ffffffffff
CapBnd:	000001ffffffffff
CapAmb:	0000000000000000
NoNewPrivs:	0
Seccomp:	0
`

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantErr    bool
		wantLocked bool
		wantBnd    uint64
	}{
		{name: "locked", in: lockedStatus, wantLocked: true},
		{name: "root", in: rootStatus, wantBnd: 0x1ffffffffff},
		{name: "bounding set kept", in: strings.Replace(lockedStatus, "CapBnd:\t0000000000000000", "CapBnd:\t000001ffffffffff", 1), wantLocked: true, wantBnd: 0x1ffffffffff},
		{name: "effective capability", in: strings.Replace(lockedStatus, "CapEff:\t0000000000000000", "CapEff:\t0000000000000001", 1)},
		{name: "no seccomp field", in: strings.Replace(lockedStatus, "Seccomp:\t2\n", "", 1), wantErr: true},
		{name: "bad hex", in: strings.Replace(lockedStatus, "CapPrm:\t0000000000000000", "CapPrm:\tzz", 1), wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseStatus(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %t", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if s.Locked() != tt.wantLocked || s.CapBnd != tt.wantBnd {
				t.Errorf("got %v (locked %t), want locked %t, bounding %x", s, s.Locked(), tt.wantLocked, tt.wantBnd)
			}
		})
	}
}

func TestPolicyCheck(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		wantErr bool
	}{
		{"empty", Policy{}, false},
		{"absolute", Policy{ReadWrite: []string{"/var/lib/softhsm/tokens"}, KeepOpen: []string{"/run/lock/signstar"}}, false},
		{"relative", Policy{ReadOnly: []string{"tokens"}}, true},
		{"relative keep", Policy{KeepOpen: []string{"./audit.log"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.check(); (err != nil) != tt.wantErr {
				t.Errorf("check() = %v, want error %t", err, tt.wantErr)
			}
		})
	}
}
