package config

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Map and pattern files, read once when the configuration is: a file
// that cannot be read is an error that names it, at startup, never a
// silent empty map at request time. As in HAProxy, a relative path is
// relative to the working directory, lines starting with '#' and empty
// lines are skipped, and leading white space is not part of a key. A '#'
// after leading white space starts a key or pattern, not a comment, as
// in HAProxy (pat_ref_read_from_file).

// MapFile is a map file: a key and a value a line, the value being the
// rest of the line after the white space that ends the key.
type MapFile struct {
	Path    string
	Entries []MapEntry

	parsed mapParsed
}

// MapEntry is one line of a map or pattern file.
type MapEntry struct {
	Line       int
	Key, Value string
}

// loadMapFile reads path once per configuration.
func loadMapFile(cache map[string]*MapFile, path string) (*MapFile, error) {
	if m := cache[path]; m != nil {
		return m, nil
	}
	entries, err := readPatternFile(path, true)
	if err != nil {
		return nil, err
	}
	m := &MapFile{Path: path, Entries: entries}
	if cache != nil {
		cache[path] = m
	}
	return m, nil
}

// readPatternFile reads a map (keyed) or an ACL pattern file (a pattern a
// line, which may hold white space).
func readPatternFile(path string, keyed bool) ([]MapEntry, error) {
	if path == "" {
		return nil, fmt.Errorf("a file name is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read file '%s': %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	var out []MapEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(text, "#") {
			continue
		}
		text = strings.TrimLeft(text, " \t")
		if text == "" {
			continue
		}
		// An ACL pattern is the rest of the line, trailing white space
		// included, as HAProxy reads it; a map's value is trimmed.
		e := MapEntry{Line: line, Key: text}
		if keyed {
			if i := strings.IndexAny(text, " \t"); i >= 0 {
				e.Key = text[:i]
				e.Value = strings.Trim(text[i:], " \t")
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read file '%s': %v", path, err)
	}
	return out, nil
}

// maxReturnFile bounds a "return ... file" body: it is sent from memory
// with every answer, as HAProxy's, which refuses one larger than a
// buffer.
const maxReturnFile = 1 << 20

// readSmallFile reads a file sent as a response body.
func readSmallFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read file '%s': %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	b := make([]byte, maxReturnFile+1)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("cannot read file '%s': %v", path, err)
	}
	if n > maxReturnFile {
		return "", fmt.Errorf("file '%s' is larger than %d bytes", path, maxReturnFile)
	}
	return string(b[:n]), nil
}

// MapConv describes a map converter (map, map_<match>[_<output>]): how
// its keys match. Its output type is the ConvSpec's Out.
type MapConv struct {
	Match MatchMethod // MatchStr, MatchBeg, MatchSub, MatchDir, MatchDom, MatchEnd, MatchReg, MatchInt or MatchIP
	// Regm: map_regm, whose values may hold "\1" references to the
	// groups of the expression that matched.
	Regm bool
}

// MapIP is an IP key of a map, as HAProxy's pat_parse_ip reads it: an
// address or a network, IPv4 ("10.0.0.0/8", "10.0.0.0/255.0.0.0") or
// IPv6 ("2001:db8::/32").
type MapIP struct {
	// Net is the network, masked. It is invalid for an IPv4 key whose
	// netmask is not contiguous, which Addr4 and Mask4 then hold.
	Net          netip.Prefix
	Addr4, Mask4 [4]byte
}

// The keys and values of a map file read as a map converter needs them,
// once per file: each slice is parallel to Entries.
type mapParsed struct {
	regexps []*regexp.Regexp
	ranges  []IntRange
	ips     []MapIP
	ints    []int64
	addrs   []netip.Addr
}

// Regexps, IntRanges and IPs are the keys read as map_reg / map_regm,
// map_int and map_ip read them; Ints and Addrs the values read as the
// _int and _ip outputs give them. Each is nil until a converter of that
// kind used the file, and is parallel to Entries.
func (m *MapFile) Regexps() []*regexp.Regexp { return m.parsed.regexps }
func (m *MapFile) IntRanges() []IntRange     { return m.parsed.ranges }
func (m *MapFile) IPs() []MapIP              { return m.parsed.ips }
func (m *MapFile) Ints() []int64             { return m.parsed.ints }
func (m *MapFile) Addrs() []netip.Addr       { return m.parsed.addrs }

// prepare reads the file's keys for match and its values for out, once,
// refusing what HAProxy refuses when it loads a map: the error names the
// file and the line.
func (m *MapFile) prepare(match MatchMethod, out SampleType) error {
	p := &m.parsed
	at := func(e MapEntry, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", m.Path, e.Line, fmt.Sprintf(format, a...))
	}
	switch {
	case match == MatchReg && p.regexps == nil:
		res := make([]*regexp.Regexp, len(m.Entries))
		for i, e := range m.Entries {
			re, err := regexp.Compile(e.Key)
			if err != nil {
				return at(e, "invalid regular expression '%s': %v", e.Key, err)
			}
			res[i] = re
		}
		p.regexps = res
	case match == MatchInt && p.ranges == nil:
		rs := make([]IntRange, len(m.Entries))
		for i, e := range m.Entries {
			r, ok := parseMapIntKey(e.Key)
			if !ok {
				return at(e, "'%s' is not an integer or a range of integers (N, MIN:MAX, MIN-MAX, MIN:, :MAX)", e.Key)
			}
			rs[i] = r
		}
		p.ranges = rs
	case match == MatchIP && p.ips == nil:
		ips := make([]MapIP, len(m.Entries))
		for i, e := range m.Entries {
			ip, ok := parseMapIPKey(e.Key)
			if !ok {
				return at(e, "'%s' is not a valid IPv4 or IPv6 address or network", e.Key)
			}
			ips[i] = ip
		}
		p.ips = ips
	}
	switch {
	case out == TypeInt && p.ints == nil:
		ints := make([]int64, len(m.Entries))
		for i, e := range m.Entries {
			n, ok := parseMapInt(e.Value)
			if !ok {
				return at(e, "the value '%s' is not an integer", e.Value)
			}
			ints[i] = n
		}
		p.ints = ints
	case out == TypeAddr && p.addrs == nil:
		addrs := make([]netip.Addr, len(m.Entries))
		for i, e := range m.Entries {
			a, ok := ParseSampleAddr(e.Value)
			if !ok {
				return at(e, "the value '%s' is not an IPv4 or IPv6 address", e.Value)
			}
			addrs[i] = a
		}
		p.addrs = addrs
	}
	return nil
}

// parseMapInt is HAProxy's map_parse_int: an optional sign and digits,
// saturated at the int64 bounds, and nothing else ("" and "-" are 0).
func parseMapInt(s string) (int64, bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for j := i; j < len(s); j++ {
		if s[j] < '0' || s[j] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil {
		return n, true
	}
	switch {
	case len(s) == i: // no digit: read_int64 reads 0
		return 0, true
	case s[0] == '-':
		return math.MinInt64, true
	}
	return math.MaxInt64, true
}

// parseMapIntKey is HAProxy's pat_parse_int: "N", or a range cut at the
// first ':' or '-' with either end left out ("-5" is up to 5: a key cannot
// be a negative number on its own). Numbers are decimal digits; HAProxy's
// strl2llrc also takes some other characters, by accident, which fjord
// refuses.
func parseMapIntKey(s string) (IntRange, bool) {
	num := func(s string) (int64, bool) {
		digits := s
		if strings.HasPrefix(s, "-") {
			digits = s[1:]
		}
		if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	var r IntRange
	var ok bool
	sep := strings.IndexAny(s, ":-")
	switch {
	case sep < 0:
		r.Min, ok = num(s)
		r.Max, r.HasMin, r.HasMax = r.Min, true, true
	case sep == 0 && len(s) > 1:
		r.Max, ok = num(s[1:])
		r.HasMax = true
	case sep == len(s)-1:
		r.Min, ok = num(s[:sep])
		r.HasMin = true
	default:
		var ok2 bool
		r.Min, ok = num(s[:sep])
		r.Max, ok2 = num(s[sep+1:])
		r.HasMin, r.HasMax = true, true
		ok = ok && ok2 && r.Min <= r.Max
	}
	return r, ok
}

// parseMapIPKey is HAProxy's pat_parse_ip without DNS: str2net, then
// str62net.
func parseMapIPKey(s string) (MapIP, bool) {
	addr, mask, hasMask := s, "", false
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		addr, mask, hasMask = s[:i], s[i+1:], true
	}
	if a, err := netip.ParseAddr(addr); err == nil && a.Is4() {
		m := maskOf(32, 4)
		if hasMask {
			if strings.Contains(mask, ".") {
				if m, err = netip.ParseAddr(mask); err != nil || !m.Is4() {
					return MapIP{}, false
				}
			} else {
				bits, err := strconv.Atoi(mask)
				if err != nil || bits < 0 || bits > 32 {
					return MapIP{}, false
				}
				m = maskOf(bits, 4)
			}
		}
		if bits, ok := maskBits(m); ok {
			return MapIP{Net: netip.PrefixFrom(a, bits).Masked()}, true
		}
		return MapIP{Addr4: a.As4(), Mask4: m.As4()}, true
	}
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return MapIP{}, false
	}
	bits := 128
	if hasMask {
		if bits, err = strconv.Atoi(mask); err != nil || bits < 0 || bits > 128 {
			return MapIP{}, false
		}
	}
	return MapIP{Net: netip.PrefixFrom(a, bits).Masked()}, true
}

// checkMap loads what a map converter needs of its file and reads its
// default value (the second argument) as its output type.
func checkMap(name string, mc MapConv, out SampleType) func(*exprContext, []Arg) error {
	return func(_ *exprContext, args []Arg) error {
		if err := args[0].Map.prepare(mc.Match, out); err != nil {
			return fmt.Errorf("argument 1 of '%s': %v", name, err)
		}
		if len(args) > 1 && out == TypeAddr {
			a, ok := ParseSampleAddr(args[1].Str)
			if !ok {
				return fmt.Errorf("argument 2 of '%s': the default '%s' is not an IPv4 or IPv6 address", name, args[1].Str)
			}
			args[1].Addr = a
		}
		return nil
	}
}
