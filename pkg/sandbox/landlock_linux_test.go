//go:build linux

package sandbox

import "testing"

func TestShortfalls(t *testing.T) {
	tcp := Policy{ConnectTCP: []uint16{1500}}
	tests := []struct {
		name string
		p    Policy
		abi  int
		want int // shortfalls
	}{
		{"no landlock", Policy{}, 0, 1},
		{"files only", Policy{}, 1, 0},
		{"no landlock, tcp", tcp, 0, 2},
		{"tcp on abi 3", tcp, 3, 1},
		{"tcp on abi 4", tcp, 4, 0},
		{"tcp on abi 7", tcp, 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shortfalls(tt.p, tt.abi); len(got) != tt.want {
				t.Errorf("shortfalls = %q, want %d", got, tt.want)
			}
		})
	}
}
