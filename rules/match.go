package rules

import (
	"bytes"
	"net/netip"
	"regexp"

	"github.com/fjordlb/fjord/config"
)

// Cond is a compiled "if"/"unless" condition: a disjunction of
// conjunctions of possibly negated ACLs, evaluated left to right with
// HAProxy's short-circuits.
type Cond struct {
	unless bool
	or     [][]condTerm
}

type condTerm struct {
	negate bool
	acl    *acl
}

// acl is a named ACL: several "acl" lines with one name are ORed.
type acl struct{ terms []*term }

// term is one ACL line compiled: its expression and its patterns in the
// form its match method reads fastest.
type term struct {
	expr   *Expr
	method config.MatchMethod
	fold   bool
	values []string
	exact  map[string]struct{} // MatchStr without -i, many patterns
	res    []*regexp.Regexp
	nets   []netip.Prefix
	ranges []config.IntRange
	groups *config.Userlist // http_auth_group: the patterns are its groups
}

// exactSetMin is the pattern count from which an exact match looks its
// sample up in a map rather than comparing it with each pattern.
const exactSetMin = 8

// Compiler compiles conditions, sharing the ACLs they name.
type Compiler struct {
	acls map[*config.ACL]*acl
	// The map converters' lookup structures and values (conv_map.go),
	// built once per file for every converter using it.
	maps      map[mapKey]*mapIndex
	mapValues map[valuesKey][]Value
}

// NewCompiler returns a compiler for one configuration.
func NewCompiler() *Compiler {
	return &Compiler{
		acls:      map[*config.ACL]*acl{},
		maps:      map[mapKey]*mapIndex{},
		mapValues: map[valuesKey][]Value{},
	}
}

// Cond compiles c; nil stays nil (no condition: always).
func (cp *Compiler) Cond(c *config.Condition) *Cond {
	if c == nil {
		return nil
	}
	out := &Cond{unless: c.Unless}
	for _, and := range c.Or {
		var terms []condTerm
		for _, t := range and {
			terms = append(terms, condTerm{negate: t.Negate, acl: cp.acl(t.ACL)})
		}
		out.or = append(out.or, terms)
	}
	return out
}

func (cp *Compiler) acl(a *config.ACL) *acl {
	if x := cp.acls[a]; x != nil {
		return x
	}
	x := &acl{}
	for _, t := range a.Terms {
		x.terms = append(x.terms, cp.term(t))
	}
	cp.acls[a] = x
	return x
}

func (cp *Compiler) term(t *config.ACLTerm) *term {
	tm := &term{
		expr: cp.Expr(t.Expr), method: t.Method, fold: t.IgnoreCase,
		values: t.Values, res: t.Regexps, nets: t.Nets, ranges: t.Ranges,
	}
	if t.Expr.Fetch.Name == "http_auth_group" {
		tm.groups = t.Expr.Fetch.Args[0].Userlist
	}
	if t.Method == config.MatchStr && !t.IgnoreCase && len(t.Values) >= exactSetMin && tm.groups == nil {
		tm.exact = make(map[string]struct{}, len(t.Values))
		for _, v := range t.Values {
			tm.exact[v] = struct{}{}
		}
	}
	return tm
}

// Result is a condition's outcome, HAProxy's acl_test_res: Pass and
// Fail, or Miss when it cannot be decided yet (t.Partial: the sample may
// change as more bytes come). Its values combine as HAProxy's do: "and"
// is &, "or" is |.
type Result uint8

const (
	Fail Result = 0
	Miss Result = 1
	Pass Result = 3
)

// not negates r; Miss stays Miss (HAProxy's acl_neg).
func (r Result) not() Result { return 3 >> r }

// Match evaluates the condition; a nil condition holds. Outside content
// inspection (t.Partial unset) a condition is always decided.
func (c *Cond) Match(t *Txn) bool { return c.Eval(t) == Pass }

// Eval evaluates the condition, "unless" applied: Pass or Fail, or Miss
// while t.Partial when a sample it needs may still change. A nil
// condition passes.
func (c *Cond) Eval(t *Txn) Result {
	if c == nil {
		return Pass
	}
	res := Fail
	for _, and := range c.or {
		all := Pass
		for _, ct := range and {
			r := ct.acl.eval(t)
			if ct.negate {
				r = r.not()
			}
			if all &= r; all != Pass {
				break // a Fail decides; a Miss is only reported
			}
		}
		if res |= all; res == Pass {
			break
		}
	}
	if c.unless {
		res = res.not()
	}
	return res
}

func (a *acl) eval(t *Txn) Result {
	res := Fail
	for _, tm := range a.terms {
		if res |= tm.eval(t); res == Pass {
			return Pass
		}
	}
	return res
}

// eval reports whether any value of the term's sample matches any of its
// patterns, as HAProxy's acl_exec_cond: Miss when none did but the last
// sample (or the lack of one) may change.
func (tm *term) eval(t *Txn) Result {
	t.it = iter{all: true}
	it := &t.it
	for {
		v, ok := tm.expr.next(t, it)
		if !ok {
			return tm.miss(t)
		}
		if tm.method == config.MatchFound || tm.matchValue(t, v) {
			return Pass
		}
		if !it.more {
			return tm.miss(t)
		}
	}
}

// miss is a term's result when nothing matched: Miss if the sample may
// still change and the rules may wait for it.
func (tm *term) miss(t *Txn) Result {
	if t.mayChange && t.Partial {
		return Miss
	}
	return Fail
}

func (tm *term) matchValue(t *Txn, v Value) bool {
	switch tm.method {
	case config.MatchBool:
		return v.asBool()
	case config.MatchInt, config.MatchDec:
		n, ok := v.asInt()
		return ok && inRanges(tm.ranges, n)
	case config.MatchLen:
		var n int
		switch v.Type {
		case config.TypeStr, config.TypeBin:
			n = len(v.B)
		default:
			var buf [48]byte
			n = len(v.appendText(buf[:0]))
		}
		return inRanges(tm.ranges, int64(n))
	case config.MatchIP:
		a, ok := v.asAddr()
		return ok && matchNets(tm.nets, a)
	}
	// The string methods: a number or an address is matched as text.
	s := v.B
	if v.Type != config.TypeStr && v.Type != config.TypeBin {
		off := len(t.scratch)
		t.scratch = v.appendText(t.scratch)
		s = t.built(off)
	}
	if tm.method == config.MatchReg {
		for _, re := range tm.res {
			if re.Match(s) {
				return true
			}
		}
		return false
	}
	if tm.groups != nil {
		return matchGroups(tm.groups, s, tm.values)
	}
	if tm.exact != nil {
		_, ok := tm.exact[string(s)] // no allocation: a map index
		return ok
	}
	for _, p := range tm.values {
		if matchString(tm.method, tm.fold, s, p) {
			return true
		}
	}
	return false
}

func inRanges(rs []config.IntRange, v int64) bool {
	for _, r := range rs {
		if r.Contains(v) {
			return true
		}
	}
	return false
}

// matchNets reports whether a is in one of the networks, with HAProxy's
// mapping between IPv4 and IPv4-mapped IPv6.
func matchNets(nets []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap() // an IPv4 client on a dual-stack socket
	for _, n := range nets {
		if n.Addr().Is4In6() && n.Bits() >= 96 {
			// ::ffff:a.b.c.d/N is the IPv4 network a.b.c.d/N-96.
			n = netip.PrefixFrom(n.Addr().Unmap(), n.Bits()-96)
		}
		if n.Contains(a) {
			return true
		}
		// HAProxy looks IPv4 clients up as ::ffff:a.b.c.d too, so that
		// an IPv6 network such as ::/0 covers them.
		if a.Is4() && n.Addr().Is6() && n.Contains(netip.AddrFrom16(a.As16())) {
			return true
		}
	}
	return false
}

// matchString matches a sample against one pattern (exact, prefix,
// suffix, substring, dir, dom, bytes).
func matchString(m config.MatchMethod, fold bool, s []byte, p string) bool {
	switch m {
	case config.MatchStr, config.MatchBin:
		return equal(s, p, fold)
	case config.MatchBeg:
		return len(s) >= len(p) && equal(s[:len(p)], p, fold)
	case config.MatchEnd:
		return len(s) >= len(p) && equal(s[len(s)-len(p):], p, fold)
	case config.MatchSub:
		return index(s, p, fold) >= 0
	case config.MatchDir:
		return matchDelimited(s, p, dirDelims, fold)
	case config.MatchDom:
		return matchDelimited(s, p, domDelims, fold)
	}
	return false
}

// The delimiters of HAProxy's "dir" and "dom" matching (pattern.c:
// pat_match_dir and pat_match_dom).
const (
	dirDelims = "/?"
	domDelims = "/?.:"
)

// matchDelimited is HAProxy's "dir" and "dom" matching: p, stripped of
// leading and trailing delimiters, must appear in s bounded by delimiters or
// by the ends of s. "/images" matches "/images/logo.png" and "/a/images",
// not "/imagesX"; "example.com" matches "www.example.com:8080".
func matchDelimited(s []byte, p string, delims string, fold bool) bool {
	isDelim := func(c byte) bool {
		for i := 0; i < len(delims); i++ {
			if delims[i] == c {
				return true
			}
		}
		return false
	}
	for len(p) > 0 && isDelim(p[0]) {
		p = p[1:]
	}
	for len(p) > 0 && isDelim(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	if p == "" {
		return false
	}
	for off := 0; off+len(p) <= len(s); {
		i := index(s[off:], p, fold)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(p)
		if (start == 0 || isDelim(s[start-1])) && (end == len(s) || isDelim(s[end])) {
			return true
		}
		off = start + 1
	}
	return false
}

func equal(s []byte, p string, fold bool) bool {
	if fold {
		return equalFold(s, p)
	}
	return string(s) == p // no allocation: the compiler compares in place
}

func index(s []byte, p string, fold bool) int {
	if !fold {
		return bytes.Index(s, strBytes(p))
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if equalFold(s[i:i+len(p)], p) {
			return i
		}
	}
	return -1
}
