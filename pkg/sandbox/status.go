package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// parseStatus reads the fields of proc_pid_status(5) that State holds.
func parseStatus(r io.Reader) (State, error) {
	var s State
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
			return State{}, fmt.Errorf("parse %s %q: %v", key, val, err)
		}
		if found {
			seen++
		}
	}
	if err := sc.Err(); err != nil {
		return State{}, err
	}
	if seen != 7 {
		return State{}, fmt.Errorf("found %d of the 7 fields Seccomp, NoNewPrivs, CapInh, CapPrm, CapEff, CapBnd, CapAmb", seen)
	}
	return s, nil
}

// set stores one status field if State holds it.
func (s *State) set(key, val string) (bool, error) {
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
