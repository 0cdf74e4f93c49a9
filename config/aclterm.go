package config

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// MatchMethod is how an ACL compares a sample with its patterns (HAProxy's
// "-m", or the suffix of a keyword such as path_beg).
type MatchMethod uint8

const (
	MatchFound MatchMethod = iota // the sample exists; no pattern
	MatchBool                     // the sample is true (non-zero); no pattern
	MatchInt                      // integers and ranges, "eq|ge|gt|le|lt N"
	MatchIP                       // addresses and networks
	MatchBin                      // bytes, written in hex
	MatchLen                      // the length of the sample, as integers
	MatchStr                      // exact
	MatchSub                      // substring
	MatchReg                      // regular expression
	MatchBeg                      // prefix
	MatchEnd                      // suffix
	MatchDir                      // '/'-delimited component sequence
	MatchDom                      // '.'-delimited component sequence
	MatchDec                      // versions such as 3.3 (req.ssl_ver)
)

var matchNames = [...]string{"found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom", "dec"}

func (m MatchMethod) String() string { return matchNames[m] }

// matchByName reads "-m NAME"; dec is internal.
func matchByName(s string) (MatchMethod, bool) {
	for i, n := range matchNames[:MatchDec] {
		if n == s {
			return MatchMethod(i), true
		}
	}
	return 0, false
}

// aclSuffixes are the keyword suffixes that choose a match method, as in
// HAProxy's derived ACL keywords (path_beg, hdr_dom, ssl_fc_sni_end, ...).
// "_val" reads the sample as an integer (hdr_val).
var aclSuffixes = map[string]MatchMethod{
	"_beg": MatchBeg, "_end": MatchEnd, "_sub": MatchSub, "_dir": MatchDir,
	"_dom": MatchDom, "_reg": MatchReg, "_len": MatchLen, "_found": MatchFound,
	"_ip": MatchIP, "_val": MatchInt, "_str": MatchStr,
}

// defaultMatch is the method a sample of type t gets without -m.
func defaultMatch(t SampleType) MatchMethod {
	switch t {
	case TypeBool:
		return MatchBool
	case TypeInt:
		return MatchInt
	case TypeAddr:
		return MatchIP
	case TypeBin:
		return MatchBin
	}
	return MatchStr
}

// parseACLTerm parses "SAMPLE [FLAGS] [--] PATTERN..." (the words after
// the ACL name, or inside an anonymous "{ }"). Flags are -i, -m METHOD,
// -f FILE (patterns, one a line), -M (the -f file is a map: its keys are
// the patterns), -n (no DNS: fjord never resolves patterns) and --.
func parseACLTerm(ctx *exprContext, pos Pos, words []string) (*ACLTerm, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("missing ACL sample fetch")
	}
	t := &ACLTerm{Pos: pos, Keyword: words[0]}
	method, err := t.readSample(ctx, words[0])
	if err != nil {
		return nil, err
	}
	vals := words[1:]
	var files []string
	keyed := false
flags:
	for len(vals) > 0 && strings.HasPrefix(vals[0], "-") {
		switch vals[0] {
		case "-i":
			t.IgnoreCase = true
		case "-n":
		case "-M":
			keyed = true
		case "--":
			vals = vals[1:]
			break flags
		case "-m", "-f":
			if len(vals) < 2 {
				return nil, fmt.Errorf("ACL flag '%s' needs an argument", vals[0])
			}
			if vals[0] == "-f" {
				files = append(files, vals[1])
			} else {
				m, ok := matchByName(vals[1])
				if !ok {
					return nil, fmt.Errorf("unknown match method '-m %s' (valid: %s)", vals[1], strings.Join(matchNames[:MatchDec], ", "))
				}
				method = m
			}
			vals = vals[1:]
		case "-u":
			return nil, fmt.Errorf("ACL flag '-u' (a unique id for the runtime API) is not supported by fjord")
		default:
			if isNumberLike(vals[0]) || method == MatchIP {
				break flags // a value that happens to start with '-'
			}
			return nil, fmt.Errorf("unknown ACL flag '%s' (valid: -i, -m, -f, -M, -n, --)", vals[0])
		}
		vals = vals[1:]
	}
	t.Method = method
	t.Files = files
	for _, f := range files {
		entries, err := readPatternFile(f, keyed)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if err := t.addPattern(e.Key); err != nil {
				return nil, fmt.Errorf("%s:%d: %v", f, e.Line, err)
			}
		}
	}
	switch method {
	case MatchFound, MatchBool:
		if len(vals) > 0 || len(files) > 0 {
			return nil, fmt.Errorf("'%s' matches with '%s', which takes no pattern, not '%s'", words[0], method, strings.Join(vals, " "))
		}
		return t, nil
	}
	if len(vals) == 0 && len(files) == 0 {
		return nil, fmt.Errorf("ACL '%s' needs at least one pattern", words[0])
	}
	for i := 0; i < len(vals); i++ {
		v := vals[i]
		if op, ok := intOperators[v]; ok && (method == MatchInt || method == MatchLen || method == MatchDec) {
			if i+1 == len(vals) {
				return nil, fmt.Errorf("'%s' needs a number after it", v)
			}
			i++
			r, err := operatorRange(op, vals[i], method == MatchDec)
			if err != nil {
				return nil, fmt.Errorf("ACL '%s': %v", words[0], err)
			}
			t.Ranges = append(t.Ranges, r)
			continue
		}
		if err := t.addPattern(v); err != nil {
			return nil, fmt.Errorf("ACL '%s': %v", words[0], err)
		}
	}
	return t, nil
}

// readSample reads the keyword: a sample expression, or a fetch name
// with a suffix that chooses the match method. It returns the method the
// keyword implies.
func (t *ACLTerm) readSample(ctx *exprContext, w string) (MatchMethod, error) {
	name := w
	if i := strings.IndexAny(w, "(,"); i >= 0 {
		name = w[:i]
	}
	if fetchSpecs[name] == nil && fetchAliases[name] == "" {
		for sfx, m := range aclSuffixes {
			base := strings.TrimSuffix(name, sfx)
			if base == name || fetchSpecs[base] == nil && fetchAliases[base] == "" {
				continue
			}
			e, err := parseExprCtx(ctx, base+w[len(name):])
			if err != nil {
				return 0, err
			}
			t.Expr = e
			return m, nil
		}
	}
	e, err := parseExprCtx(ctx, w)
	if err != nil {
		return 0, err
	}
	t.Expr = e
	if e.FetchSpec().Version {
		return MatchDec, nil
	}
	return defaultMatch(e.Out()), nil
}

// addPattern reads one pattern for the term's method.
func (t *ACLTerm) addPattern(v string) error {
	switch t.Method {
	case MatchInt, MatchLen, MatchDec:
		r, err := parseIntRange(v, t.Method == MatchDec)
		if err != nil {
			return err
		}
		t.Ranges = append(t.Ranges, r)
	case MatchReg:
		expr := v
		if t.IgnoreCase {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return fmt.Errorf("invalid regular expression '%s': %v", v, err)
		}
		t.Regexps = append(t.Regexps, re)
	case MatchIP:
		p, err := parsePrefix(v)
		if err != nil {
			return err
		}
		t.Nets = append(t.Nets, p)
	case MatchBin:
		b, err := hex.DecodeString(v)
		if err != nil {
			return fmt.Errorf("'%s' is not hexadecimal bytes", v)
		}
		t.Values = append(t.Values, string(b))
	default:
		if t.Expr.Fetch.Name == "method" {
			if i := strings.IndexFunc(v, func(r rune) bool { return !isTokenChar(r) }); i >= 0 {
				return fmt.Errorf("invalid HTTP method '%s': character %q is not allowed in a token", v, v[i])
			}
		}
		t.Values = append(t.Values, v)
	}
	return nil
}

// intOperators are HAProxy's integer operators: "gt 0" is "1:".
var intOperators = map[string]string{"eq": "eq", "ge": "ge", "gt": "gt", "le": "le", "lt": "lt"}

func operatorRange(op, v string, version bool) (IntRange, error) {
	r, err := parseIntRange(v, version)
	if err != nil {
		return r, err
	}
	if r.Min != r.Max || !r.HasMin || !r.HasMax {
		return r, fmt.Errorf("'%s %s': the operator takes one number", op, v)
	}
	n := r.Min
	switch op {
	case "ge":
		return IntRange{Min: n, HasMin: true}, nil
	case "gt":
		return IntRange{Min: n + 1, HasMin: true}, nil
	case "le":
		return IntRange{Max: n, HasMax: true}, nil
	case "lt":
		return IntRange{Max: n - 1, HasMax: true}, nil
	}
	return r, nil
}

// predefinedACL returns HAProxy's built-in ACL of that name, or nil.
func predefinedACL(name string) *ACL {
	words, ok := predefinedACLs[name]
	if !ok {
		return nil
	}
	term, err := parseACLTerm(&exprContext{}, Pos{}, strings.Fields(words))
	if err != nil {
		panic("predefined ACL " + name + ": " + err.Error())
	}
	return &ACL{Name: name, Terms: []*ACLTerm{term}}
}

// predefinedACLs are HAProxy 2.6's (acl.c, default_acl_list), as ACL
// lines.
var predefinedACLs = map[string]string{
	"TRUE":           "always_true",
	"FALSE":          "always_false",
	"HTTP":           "req.ver -m found",
	"HTTP_1.0":       "req.ver 1.0",
	"HTTP_1.1":       "req.ver 1.1",
	"HTTP_2.0":       "req.ver 2.0",
	"HTTP_CONTENT":   "req.hdr_val(content-length) gt 0",
	"HTTP_URL_ABS":   "url_reg ^[^/:]*://",
	"HTTP_URL_SLASH": "url_beg /",
	"HTTP_URL_STAR":  "url *",
	"LOCALHOST":      "src 127.0.0.1/8 ::1",
	"METH_CONNECT":   "method CONNECT",
	"METH_DELETE":    "method DELETE",
	"METH_GET":       "method GET HEAD",
	"METH_HEAD":      "method HEAD",
	"METH_OPTIONS":   "method OPTIONS",
	"METH_POST":      "method POST",
	"METH_PUT":       "method PUT",
	"METH_TRACE":     "method TRACE",
	"REQ_CONTENT":    "req.len gt 0",
	"WAIT_END":       "wait_end",
}
