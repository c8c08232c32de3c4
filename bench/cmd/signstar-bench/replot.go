package main

// -replot: draw benchmarks.svg again from the summary table of a
// benchmarks.md, for a change to the plot without a new run.

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

var (
	summaryRow = regexp.MustCompile(`^\| (.+) \| ([-+0-9.]+)(x| MiB| B) \| (<=|<|>=|±) ?([0-9.]+)(x| MiB| B) \| .* \|$`)
	machineRow = regexp.MustCompile(`^\| (CPUs \(nproc\)|CPU model|kernel) \| (.*) \|$`)
	dateLine   = regexp.MustCompile(`^Measured on (\d{4}-\d\d-\d\d)`)
)

func replot(md string) ([]byte, error) {
	data, err := os.ReadFile(md)
	if err != nil {
		return nil, err
	}
	var gs []goal
	facts := map[string]string{}
	date := "?"
	for _, l := range strings.Split(string(data), "\n") {
		if m := machineRow.FindStringSubmatch(l); m != nil {
			facts[m[1]] = m[2]
		}
		if m := dateLine.FindStringSubmatch(l); m != nil {
			date = m[1]
		}
		m := summaryRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		lim, _ := strconv.ParseFloat(m[5], 64)
		g := goal{name: m[1], measured: m[2] + m[3], want: m[4] + " " + m[5] + m[6]}
		if m[4] == "±" {
			g.want = "±" + m[5] + m[6]
		}
		switch m[4] {
		case ">=":
			g.used = lim / v
		case "±":
			g.used = abs(v) / lim
		default:
			g.used = v / lim
		}
		gs = append(gs, g)
	}
	if len(gs) == 0 {
		return nil, fmt.Errorf("%s: no summary table", md)
	}
	quick := strings.Contains(string(data), "Smoke run")
	return plot(gs, quick, facts["CPU model"], facts["kernel"], facts["CPUs (nproc)"], date), nil
}
