package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// state is what /proc/self/status says about the sandbox.
type state struct {
	Seccomp    int // 0 none, 1 strict, 2 filter
	NoNewPrivs bool
	CapEff     uint64
	CapPrm     uint64
	CapInh     uint64
	CapBnd     uint64
	CapAmb     uint64
}

// Locked reports whether s is what [Lockdown] leaves behind. The bounding
// set is not checked: Lockdown leaves it as it was, root's full one too,
// and with no capability in any other set, no_new_privs and no execve it
// cannot be used (dropPrivileges says why).
func (s state) Locked() bool {
	return s.Seccomp == 2 && s.NoNewPrivs && s.CapEff == 0 && s.CapPrm == 0 && s.CapInh == 0 && s.CapAmb == 0
}

// parseStatus reads the fields of proc_pid_status(5) that state holds.
func parseStatus(r io.Reader) (state, error) {
	var s state
	seen := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		found, err := s.set(key, val)
		if err != nil {
			return state{}, fmt.Errorf("parse %s %q: %v", key, val, err)
		}
		if found {
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return state{}, err
	}
	if seen != 7 {
		return state{}, fmt.Errorf("found %d of the 7 fields Seccomp, NoNewPrivs, CapInh, CapPrm, CapEff, CapBnd, CapAmb", seen)
	}
	return s, nil
}

// set stores one status field if state holds it.
func (s *state) set(key, val string) (bool, error) {
	caps := map[string]*uint64{"CapEff": &s.CapEff, "CapPrm": &s.CapPrm, "CapInh": &s.CapInh, "CapBnd": &s.CapBnd, "CapAmb": &s.CapAmb}
	if p, ok := caps[key]; ok {
		v, err := strconv.ParseUint(val, 16, 64)
		*p = v
		return true, err
	}
	switch key {
	case "Seccomp":
		v, err := strconv.Atoi(val)
		s.Seccomp = v
		return true, err
	case "NoNewPrivs":
		v, err := strconv.Atoi(val)
		s.NoNewPrivs = v == 1
		return true, err
	}
	return false, nil
}

func (s state) String() string {
	return fmt.Sprintf("seccomp %s, no_new_privs %t, capabilities effective %016x permitted %016x inheritable %016x bounding %016x ambient %016x",
		seccompMode(s.Seccomp), s.NoNewPrivs, s.CapEff, s.CapPrm, s.CapInh, s.CapBnd, s.CapAmb)
}

func seccompMode(m int) string {
	switch m {
	case 0:
		return "off"
	case 1:
		return "strict"
	case 2:
		return "filter"
	}
	return fmt.Sprintf("mode %d", m)
}
