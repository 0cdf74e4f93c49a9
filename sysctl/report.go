package sysctl

import (
	"fmt"
	"strings"
)

// shortPorts is how many characters of a port list a one-line report
// shows before it counts the rest.
const shortPorts = 40

// ShortChange says in a few words what Check found to change for r
// (Pending) or what Apply changed (Applied), for a log line: "change from
// 0 to 1", or for a port list only the ports it adds or removes,
// abbreviated ("reserve 8080,8443 and 12 more ports"). 'fjord sysctl
// check' prints the values in full, with the reasons.
func (r Result) ShortChange() string {
	to := r.Wanted
	if r.Status == Applied {
		to = r.After
	}
	if r.Kind == PortSet {
		cur, err1 := parsePorts(r.Current)
		next, err2 := parsePorts(to)
		if err1 == nil && err2 == nil {
			c, n := bitsOf(cur), bitsOf(next)
			var parts []string
			if add := n.andNot(c).spans(); len(add) > 0 {
				parts = append(parts, "reserve "+AbbreviatePorts(formatPorts(add), shortPorts))
			}
			if drop := c.andNot(n).spans(); len(drop) > 0 {
				parts = append(parts, "release "+AbbreviatePorts(formatPorts(drop), shortPorts))
			}
			if len(parts) > 0 {
				return strings.Join(parts, " and ")
			}
		}
	}
	return fmt.Sprintf("change from %s to %s", orNone(AbbreviatePorts(r.Current, shortPorts)), orNone(AbbreviatePorts(to, shortPorts)))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// AbbreviatePorts shortens a comma-separated list to the items that fit
// in max characters, and counts the ports left out: "8080,8443 and 12
// more ports". A list that fits, or a value that is no port list, is
// returned as it is.
func AbbreviatePorts(list string, max int) string {
	if len(list) <= max {
		return list
	}
	spans, err := parsePorts(list)
	if err != nil {
		return list
	}
	shown, rest := "", 0
	for _, s := range spans {
		item := formatPorts([]portSpan{s})
		switch {
		case rest == 0 && len(shown)+len(item)+1 <= max:
			if shown != "" {
				shown += ","
			}
			shown += item
		default:
			rest += int(s.hi) - int(s.lo) + 1
		}
	}
	if shown == "" {
		return fmt.Sprintf("%d ports", rest)
	}
	return fmt.Sprintf("%s and %d more ports", shown, rest)
}
