package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Criterion is what an ACL term fetches from a request and how it matches.
type Criterion int

const (
	CritPath    Criterion = iota // path: exact match
	CritPathBeg                  // path_beg: prefix
	CritPathEnd                  // path_end: suffix
	CritPathSub                  // path_sub: substring
	CritPathDir                  // path_dir: a slash-delimited component sequence
	CritPathReg                  // path_reg: regular expression
	CritHdr                      // hdr(NAME): exact
	CritHdrBeg                   // hdr_beg(NAME)
	CritHdrEnd                   // hdr_end(NAME)
	CritHdrSub                   // hdr_sub(NAME)
	CritHdrDom                   // hdr_dom(NAME): a dot-delimited domain component sequence
	CritSrc                      // src: client address in a network
	CritMethod                   // method
	CritTrue                     // predefined TRUE
	CritFalse                    // predefined FALSE

	// The client's TLS session, on a bind with "ssl" (false or empty
	// elsewhere), in both modes.
	CritSSLFc         // ssl_fc: boolean, the connection is TLS
	CritSSLFcSNI      // ssl_fc_sni: the SNI the client sent, exact
	CritSSLFcSNIEnd   // ssl_fc_sni_end: suffix
	CritSSLFcSNIReg   // ssl_fc_sni_reg: regular expression
	CritSSLFcProtocol // ssl_fc_protocol: "TLSv1.2", "TLSv1.3"
	CritSSLFcCipher   // ssl_fc_cipher: OpenSSL's name of the suite
	CritSSLFcALPN     // ssl_fc_alpn: the protocol ALPN agreed on
	CritSSLCUsed      // ssl_c_used: boolean, the client sent a certificate
	CritSSLCVerify    // ssl_c_verify: integer, the verification result (0: ok)
	CritSSLCSDN       // ssl_c_s_dn: the client certificate's subject DN

	// The client's ClientHello, peeked in tcp mode before anything is
	// forwarded ("tcp-request inspect-delay"): TLS passed through.
	CritReqSSLSNI       // req.ssl_sni, exact
	CritReqSSLSNIEnd    // req.ssl_sni_end
	CritReqSSLSNIReg    // req.ssl_sni_reg
	CritReqSSLHelloType // req.ssl_hello_type: integer (1: ClientHello)
	CritReqSSLVer       // req.ssl_ver: decimal, as 3.3 for TLS 1.2
	CritReqSSLALPN      // req.ssl_alpn: one of the ALPN protocols the client offers
	CritReqSSLECExt     // req.ssl_ec_ext: boolean, the hello has the supported_groups extension
	CritReqSSLSTExt     // req.ssl_st_ext: integer, 0 no SessionTicket extension, 1 empty, 2 a ticket
)

var criterionNames = map[string]Criterion{
	"path": CritPath, "path_beg": CritPathBeg, "path_end": CritPathEnd,
	"path_sub": CritPathSub, "path_dir": CritPathDir, "path_reg": CritPathReg,
	"hdr": CritHdr, "hdr_beg": CritHdrBeg, "hdr_end": CritHdrEnd,
	"hdr_sub": CritHdrSub, "hdr_dom": CritHdrDom,
	"src": CritSrc, "method": CritMethod,

	"ssl_fc": CritSSLFc, "ssl_fc_sni": CritSSLFcSNI, "ssl_fc_sni_end": CritSSLFcSNIEnd,
	"ssl_fc_sni_reg": CritSSLFcSNIReg, "ssl_fc_protocol": CritSSLFcProtocol,
	"ssl_fc_cipher": CritSSLFcCipher, "ssl_fc_alpn": CritSSLFcALPN,
	"ssl_c_used": CritSSLCUsed, "ssl_c_verify": CritSSLCVerify, "ssl_c_s_dn": CritSSLCSDN,

	"req.ssl_sni": CritReqSSLSNI, "req_ssl_sni": CritReqSSLSNI,
	"req.ssl_sni_end": CritReqSSLSNIEnd, "req.ssl_sni_reg": CritReqSSLSNIReg,
	"req.ssl_hello_type": CritReqSSLHelloType, "req_ssl_hello_type": CritReqSSLHelloType,
	"req.ssl_ver": CritReqSSLVer, "req_ssl_ver": CritReqSSLVer,
	"req.ssl_alpn": CritReqSSLALPN, "req.ssl_ec_ext": CritReqSSLECExt, "req.ssl_st_ext": CritReqSSLSTExt,
}

func (c Criterion) String() string {
	for name, v := range criterionNames {
		if v == c && !strings.HasPrefix(name, "req_") { // not the old aliases
			return name
		}
	}
	if c == CritTrue {
		return "always_true"
	}
	return "always_false"
}

// supportedCriteria lists the criteria for messages, in their order.
var supportedCriteria = func() string {
	var names []string
	for c := CritPath; c <= CritReqSSLSTExt; c++ {
		if c != CritTrue && c != CritFalse {
			names = append(names, c.String())
		}
	}
	return strings.Join(names, ", ")
}()

// NeedsHTTP reports whether the criterion reads the HTTP request.
func (c Criterion) NeedsHTTP() bool {
	return c <= CritMethod && c != CritSrc
}

// Boolean reports whether the criterion is a boolean fetch: it matches
// when true, and takes no value.
func (c Criterion) Boolean() bool {
	return c == CritSSLFc || c == CritSSLCUsed || c == CritReqSSLECExt
}

// ReadsHello reports whether the criterion reads the peeked ClientHello
// (TLS passthrough), which only tcp mode peeks.
func (c Criterion) ReadsHello() bool { return c >= CritReqSSLSNI && c <= CritReqSSLSTExt }

// IsRegexp reports whether the criterion's values are regular
// expressions.
func (c Criterion) IsRegexp() bool {
	return c == CritPathReg || c == CritSSLFcSNIReg || c == CritReqSSLSNIReg
}

// IsHeader reports whether the criterion takes a header name.
func (c Criterion) IsHeader() bool { return c >= CritHdr && c <= CritHdrDom }

// ACL is a named ACL. Several "acl" lines with the same name add terms that
// are ORed, as in HAProxy.
type ACL struct {
	Pos   Pos // first definition
	Name  string
	Terms []*ACLTerm
}

// ACLTerm is one "acl" line: a criterion and its patterns (any may match).
type ACLTerm struct {
	Pos        Pos
	Criterion  Criterion
	Header     string // lower-case header name for hdr* criteria
	IgnoreCase bool   // -i
	Values     []string
	Regexps    []*regexp.Regexp // path_reg, *_sni_reg
	Nets       []netip.Prefix   // src
	Ranges     []IntRange       // ssl_c_verify, req.ssl_hello_type; req.ssl_ver as major<<16|minor
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

// NeedsHTTP reports whether evaluating the condition reads the HTTP request.
func (c *Condition) NeedsHTTP() bool {
	for _, and := range c.Or {
		for _, t := range and {
			for _, term := range t.ACL.Terms {
				if term.Criterion.NeedsHTTP() {
					return true
				}
			}
		}
	}
	return false
}

// predefinedACLs are HAProxy's built-in ACL names that fjord supports.
func predefinedACL(name string) *ACL {
	term := func(c Criterion, vals ...string) *ACL {
		return &ACL{Name: name, Terms: []*ACLTerm{{Criterion: c, Values: vals}}}
	}
	switch name {
	case "TRUE":
		return term(CritTrue)
	case "FALSE":
		return term(CritFalse)
	case "METH_CONNECT", "METH_DELETE", "METH_GET", "METH_HEAD", "METH_OPTIONS",
		"METH_POST", "METH_PUT", "METH_TRACE":
		m := strings.TrimPrefix(name, "METH_")
		if m == "GET" {
			return term(CritMethod, "GET", "HEAD") // as HAProxy's METH_GET
		}
		return term(CritMethod, m)
	}
	return nil
}

// parseACLTerm parses "CRITERION [-i] [--] VALUE..." (the words after the ACL
// name, or inside an anonymous "{ }").
func parseACLTerm(pos Pos, words []string) (*ACLTerm, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("missing ACL criterion")
	}
	crit, hdr, err := parseCriterion(words[0])
	if err != nil {
		return nil, err
	}
	t := &ACLTerm{Pos: pos, Criterion: crit, Header: hdr}
	vals := words[1:]
flags:
	for len(vals) > 0 && strings.HasPrefix(vals[0], "-") {
		switch vals[0] {
		case "-i":
			t.IgnoreCase = true
		case "--":
			vals = vals[1:]
			break flags
		case "-f":
			return nil, fmt.Errorf("ACL pattern files (-f) are not supported: list the patterns on the line")
		case "-m":
			return nil, fmt.Errorf("ACL match method flag -m is not supported: use the suffixed criterion (for example path_beg)")
		default:
			if crit == CritSrc || isNumberLike(vals[0]) {
				break flags // a value that happens to start with '-'
			}
			return nil, fmt.Errorf("unknown ACL flag '%s' (supported: -i, --)", vals[0])
		}
		vals = vals[1:]
	}
	if crit.Boolean() {
		if len(vals) > 0 {
			return nil, fmt.Errorf("ACL criterion '%s' is a boolean and takes no value (it matches when true), not '%s'", words[0], vals[0])
		}
		return t, nil
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("ACL criterion '%s' needs at least one value", words[0])
	}
	for _, v := range vals {
		switch crit {
		case CritSSLCVerify, CritReqSSLHelloType, CritReqSSLVer, CritReqSSLSTExt:
			r, err := parseIntRange(v, crit == CritReqSSLVer)
			if err != nil {
				return nil, fmt.Errorf("ACL criterion '%s': %v", words[0], err)
			}
			t.Ranges = append(t.Ranges, r)
		case CritPathReg, CritSSLFcSNIReg, CritReqSSLSNIReg:
			expr := v
			if t.IgnoreCase {
				expr = "(?i)" + expr
			}
			re, err := regexp.Compile(expr)
			if err != nil {
				return nil, fmt.Errorf("invalid regular expression '%s': %v", v, err)
			}
			t.Regexps = append(t.Regexps, re)
		case CritSrc:
			p, err := parsePrefix(v)
			if err != nil {
				return nil, err
			}
			t.Nets = append(t.Nets, p)
		case CritMethod:
			if i := strings.IndexFunc(v, func(r rune) bool { return !isTokenChar(r) }); i >= 0 {
				return nil, fmt.Errorf("invalid HTTP method '%s': character %q is not allowed in a token", v, v[i])
			}
		}
		t.Values = append(t.Values, v)
	}
	return t, nil
}

func parseCriterion(w string) (Criterion, string, error) {
	name, arg, hasArg := w, "", false
	if i := strings.IndexByte(w, '('); i >= 0 {
		if !strings.HasSuffix(w, ")") {
			return 0, "", fmt.Errorf("unterminated '(' in ACL criterion '%s'", w)
		}
		name, arg, hasArg = w[:i], w[i+1:len(w)-1], true
	}
	crit, ok := criterionNames[name]
	if !ok {
		return 0, "", fmt.Errorf("unknown ACL criterion '%s' (supported: %s)", name, supportedCriteria)
	}
	if crit.IsHeader() {
		if !hasArg || arg == "" {
			return 0, "", fmt.Errorf("ACL criterion '%s' needs a header name, as in %s(host)", name, name)
		}
		if i := strings.IndexFunc(arg, func(r rune) bool { return !isTokenChar(r) }); i >= 0 {
			return 0, "", fmt.Errorf("invalid header name '%s' in '%s': character %q is not allowed", arg, w, arg[i])
		}
		return crit, strings.ToLower(arg), nil
	}
	if hasArg {
		return 0, "", fmt.Errorf("ACL criterion '%s' takes no argument", name)
	}
	return crit, "", nil
}

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

// parseIntRange reads an integer pattern, "N" or "MIN:MAX" with either
// end left out. Version patterns ("3.3", HAProxy's dotted versions) are
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
	lo, hi, isRange := strings.Cut(v, ":")
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
