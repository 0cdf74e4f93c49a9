package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// ACL is a named ACL. Several "acl" lines with the same name add terms that
// are ORed, as in HAProxy.
type ACL struct {
	Pos   Pos // first definition
	Name  string
	Terms []*ACLTerm
}

// ACLTerm is one "acl" line: a sample expression, a match method and
// patterns (any may match).
type ACLTerm struct {
	Pos        Pos
	Keyword    string // the sample as written: "path_beg", "req.hdr(host),lower"
	Expr       *Expr
	Method     MatchMethod
	IgnoreCase bool             // -i
	Values     []string         // str, sub, beg, end, dir, dom; bin decoded from hex
	Regexps    []*regexp.Regexp // reg
	Nets       []netip.Prefix   // ip
	Ranges     []IntRange       // int, len, dec (versions as major<<16|minor)
	Files      []string         // -f: where patterns came from, for messages
}

// IntRange is an integer pattern: a value, or "MIN:MAX" with either end
// open, as HAProxy's integer and decimal matches read them.
type IntRange struct {
	Min, Max       int64
	HasMin, HasMax bool
}

// Contains reports whether v is in the range.
func (r IntRange) Contains(v int64) bool {
	return (!r.HasMin || v >= r.Min) && (!r.HasMax || v <= r.Max)
}

// Condition is an "if"/"unless" condition: a disjunction of conjunctions of
// possibly negated ACLs, evaluated left to right.
type Condition struct {
	Pos    Pos
	Unless bool
	Or     [][]CondTerm
}

// CondTerm is one ACL reference inside a condition.
type CondTerm struct {
	Negate bool
	ACL    *ACL
}

// Need is what evaluating the condition reads.
func (c *Condition) Need() Reads {
	var r Reads
	for _, and := range c.Or {
		for _, t := range and {
			for _, term := range t.ACL.Terms {
				r |= term.Expr.Need()
			}
		}
	}
	return r
}

// NeedsHTTP reports whether evaluating the condition reads the HTTP
// request.
func (c *Condition) NeedsHTTP() bool { return c.Need()&(ReadsReq|ReadsBody|ReadsMsg) != 0 }

// ReadsHello reports whether evaluating the condition reads the peeked
// ClientHello.
func (c *Condition) ReadsHello() bool { return c.Need()&ReadsHello != 0 }

// ReadsTLS reports whether the condition reads the client's TLS session,
// which exists only once the handshake is done.
func (c *Condition) ReadsTLS() bool { return c.Need()&ReadsTLS != 0 }

// parsePrefix accepts an address or a CIDR network, IPv4 or IPv6.
func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			// HAProxy also allows a dotted netmask: 10.0.0.0/255.0.0.0.
			if addr, mask, ok := strings.Cut(v, "/"); ok {
				a, err1 := netip.ParseAddr(addr)
				m, err2 := netip.ParseAddr(mask)
				if err1 == nil && err2 == nil && a.Is4() && m.Is4() {
					if bits, ok := maskBits(m); ok {
						return netip.PrefixFrom(a, bits).Masked(), nil
					}
				}
			}
			return netip.Prefix{}, fmt.Errorf("invalid network '%s': %v", v, trimNetipErr(err))
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid address '%s': %v", v, trimNetipErr(err))
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

func trimNetipErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func isNumberLike(s string) bool {
	return len(s) > 1 && s[0] == '-' && s[1] >= '0' && s[1] <= '9'
}

// isTokenChar reports whether r may appear in an HTTP token (RFC 9110).
func isTokenChar(r rune) bool {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return true
	}
	return strings.ContainsRune("!#$%&'*+-.^_`|~", r)
}

// parseIntRange reads an integer pattern, "N" or "MIN:MAX" (or
// "MIN-MAX") with either end left out, cut at the first ':' or '-' as
// HAProxy's pat_parse_int cuts it: "-5" is "up to 5", since a pattern
// cannot be a negative number. Version patterns ("3.3", HAProxy's dotted versions) are
// kept as major<<16 | minor, as req.ssl_ver gives them.
func parseIntRange(v string, version bool) (IntRange, error) {
	num := func(s string) (int64, error) {
		if !version {
			return strconv.ParseInt(s, 10, 64)
		}
		major, minor, _ := strings.Cut(s, ".")
		m, err := strconv.ParseUint(major, 10, 15)
		if err != nil {
			return 0, err
		}
		n := uint64(0)
		if minor != "" {
			if n, err = strconv.ParseUint(minor, 10, 16); err != nil {
				return 0, err
			}
		}
		return int64(m<<16 | n), nil
	}
	kind := "an integer"
	if version {
		kind = "a version such as 3.3"
	}
	var r IntRange
	lo, hi, isRange := v, "", false
	if i := strings.IndexAny(v, ":-"); i >= 0 {
		lo, hi, isRange = v[:i], v[i+1:], true
	}
	if !isRange {
		n, err := num(v)
		if err != nil {
			return r, fmt.Errorf("'%s' is not %s", v, kind)
		}
		return IntRange{Min: n, Max: n, HasMin: true, HasMax: true}, nil
	}
	if lo == "" && hi == "" {
		return r, fmt.Errorf("'%s' is not a range: give at least one end", v)
	}
	var err error
	if lo != "" {
		if r.Min, err = num(lo); err != nil {
			return r, fmt.Errorf("'%s' in '%s' is not %s", lo, v, kind)
		}
		r.HasMin = true
	}
	if hi != "" {
		if r.Max, err = num(hi); err != nil {
			return r, fmt.Errorf("'%s' in '%s' is not %s", hi, v, kind)
		}
		r.HasMax = true
	}
	if r.HasMin && r.HasMax && r.Min > r.Max {
		return r, fmt.Errorf("the range '%s' is empty", v)
	}
	return r, nil
}
