package sysctl

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Kind says how the value a setting wants compares with the one in force,
// that is what "better" means for it. The tuner only ever moves a value in
// that direction, so a host tuned further than fjord asks stays as it is.
type Kind int

const (
	// AtLeast is a limit: raise it to Want, never lower it.
	AtLeast Kind = iota
	// AtMost is a timeout: lower it to Want, never raise it.
	AtMost
	// Exactly is a switch whose values are not ordered: set it to Want.
	Exactly
	// Range is a "low high" pair such as the ephemeral port range: widen
	// it to cover Want, never narrow it.
	Range
	// PortSet is a port list such as "80,443,8000-8010": add Want's ports,
	// never remove one.
	PortSet
)

func (k Kind) String() string {
	switch k {
	case AtLeast:
		return "at least"
	case AtMost:
		return "at most"
	case Exactly:
		return "exactly"
	case Range:
		return "covering"
	case PortSet:
		return "including"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// parseUint reads one unsigned decimal number as /proc/sys prints it.
func parseUint(s string) (uint64, error) {
	f := strings.Fields(s)
	if len(f) != 1 {
		return 0, fmt.Errorf("want one number, got %q", s)
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want one number, got %q", s)
	}
	return n, nil
}

// parseRange reads "low high" (the kernel separates them with a tab).
func parseRange(s string) (lo, hi uint64, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("want two numbers 'low high', got %q", s)
	}
	lo, err1 := strconv.ParseUint(f[0], 10, 64)
	hi, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("want two numbers 'low high', got %q", s)
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("range %q ends before it starts", s)
	}
	return lo, hi, nil
}

// portSpan is an inclusive range of ports.
type portSpan struct{ lo, hi uint16 }

// parsePorts reads a port list as the kernel prints and accepts it for
// ip_local_reserved_ports: comma-separated ports and "low-high" ranges,
// possibly empty. The result is sorted and merged.
func parsePorts(s string) ([]portSpan, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []portSpan
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		loS, hiS, isRange := strings.Cut(item, "-")
		lo, err := strconv.ParseUint(strings.TrimSpace(loS), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("bad port %q in %q", item, s)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.ParseUint(strings.TrimSpace(hiS), 10, 16); err != nil || hi < lo {
				return nil, fmt.Errorf("bad port range %q in %q", item, s)
			}
		}
		out = append(out, portSpan{uint16(lo), uint16(hi)})
	}
	return mergeSpans(out), nil
}

func mergeSpans(in []portSpan) []portSpan {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b portSpan) int { return int(a.lo) - int(b.lo) })
	out := s[:1]
	for _, p := range s[1:] {
		last := &out[len(out)-1]
		if uint32(p.lo) <= uint32(last.hi)+1 {
			last.hi = max(last.hi, p.hi)
			continue
		}
		out = append(out, p)
	}
	return out
}

func formatPorts(s []portSpan) string {
	var b strings.Builder
	for i, p := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(p.lo)))
		if p.hi != p.lo {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(p.hi)))
		}
	}
	return b.String()
}

// covers reports whether every port of want is in have (both merged).
func covers(have, want []portSpan) bool {
	for _, w := range want {
		ok := false
		for _, h := range have {
			if h.lo <= w.lo && w.hi <= h.hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// normalize returns a value with its fields separated by single spaces, the
// way reports and files show it.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// Merge computes what to write for a setting whose current value is cur:
// the wanted value moved no further than needed from cur, so that nothing
// already better is made worse. done reports that cur already satisfies the
// setting (then next == cur). An error means cur or the wanted value cannot
// be understood.
func (s Setting) Merge(cur string) (next string, done bool, err error) {
	cur = normalize(cur)
	switch s.Kind {
	case AtLeast, AtMost, Exactly:
		c, err := parseUint(cur)
		if err != nil {
			return "", false, fmt.Errorf("current value: %w", err)
		}
		w, err := parseUint(s.Want)
		if err != nil {
			return "", false, fmt.Errorf("wanted value: %w", err)
		}
		switch {
		case s.Kind == AtLeast && (c >= w || (s.ZeroIsUnlimited && c == 0)),
			s.Kind == AtMost && c <= w,
			s.Kind == Exactly && c == w:
			return cur, true, nil
		}
		return strconv.FormatUint(w, 10), false, nil
	case Range:
		clo, chi, err := parseRange(cur)
		if err != nil {
			return "", false, fmt.Errorf("current value: %w", err)
		}
		wlo, whi, err := parseRange(s.Want)
		if err != nil {
			return "", false, fmt.Errorf("wanted value: %w", err)
		}
		if clo <= wlo && chi >= whi {
			return cur, true, nil
		}
		return fmt.Sprintf("%d %d", min(clo, wlo), max(chi, whi)), false, nil
	case PortSet:
		c, err := parsePorts(cur)
		if err != nil {
			return "", false, fmt.Errorf("current value: %w", err)
		}
		w, err := parsePorts(s.Want)
		if err != nil {
			return "", false, fmt.Errorf("wanted value: %w", err)
		}
		if covers(c, w) {
			return cur, true, nil
		}
		return formatPorts(mergeSpans(append(c, w...))), false, nil
	}
	return "", false, fmt.Errorf("unknown kind %d", int(s.Kind))
}

// satisfied reports whether v meets the setting; it is how a value read back
// after a write is judged, since the kernel may round what it was given
// (fs.pipe-max-size goes up to a power of two pages).
func (s Setting) satisfied(v string) bool {
	_, done, err := s.Merge(v)
	return err == nil && done
}

// clampInt keeps a computed want within what the kernel's int sysctls take.
func clampInt(v uint64) uint64 { return min(v, math.MaxInt32) }
