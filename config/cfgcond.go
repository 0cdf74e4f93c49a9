package config

import (
	"fmt"
	"strings"
)

// Conditions of '.if' and '.elif' lines and of 'fjord -cc', as HAProxy 2.6
// reads them (configuration.txt 2.4, src/cfgcond.c):
//
//	expr = and { "||" and }
//	and  = term { "&&" term }
//	term = { "!" } ( number | predicate "(" args ")" | "(" expr ")" )
//
// '&&' binds tighter than '||'; both stop at the first term that decides
// (left to right), so 'feature(OPENSSL) && openssl_version_atleast(1.1.1)'
// never asks for a version fjord does not have. A number is false when it
// is zero and true otherwise, written as C's strtol reads it (-1, 0x10,
// 010). The empty condition is false.

// maxCondDepth bounds how deeply parentheses nest, so that a hostile
// condition cannot exhaust the stack; HAProxy's bound (MAX_CFG_RECURSION)
// comes to about 340.
const maxCondDepth = 256

// cfgCond is a parsed condition; the empty condition has no term.
type cfgCond struct {
	or []cfgAnd // true when any is
}

// cfgAnd is true when all its terms are.
type cfgAnd []*cfgTerm

type termKind int

const (
	termNumber termKind = iota
	termPred
	termParen
)

type cfgTerm struct {
	col  int // 1-based column of the term in the condition, for messages
	neg  bool
	kind termKind
	num  bool       // termNumber: the number is not zero
	pred *predicate // termPred
	args []string   // termPred
	ver  version    // termPred, for the version predicates
	sub  *cfgCond   // termParen
}

// predicate is one of the functions a condition may call.
type predicate struct {
	name  string
	nargs int
	// version: the argument is a HAProxy version, checked when the
	// condition is read.
	version bool
	eval    func(t *cfgTerm, env func(string) (string, bool)) (bool, error)
}

var predicates = []*predicate{
	{name: "defined", nargs: 1, eval: func(t *cfgTerm, env func(string) (string, bool)) (bool, error) {
		_, ok := env(t.args[0])
		return ok, nil
	}},
	{name: "feature", nargs: 1, eval: func(t *cfgTerm, _ func(string) (string, bool)) (bool, error) {
		return HasFeature(t.args[0]), nil
	}},
	{name: "streq", nargs: 2, eval: func(t *cfgTerm, _ func(string) (string, bool)) (bool, error) {
		return t.args[0] == t.args[1], nil
	}},
	{name: "strneq", nargs: 2, eval: func(t *cfgTerm, _ func(string) (string, bool)) (bool, error) {
		return t.args[0] != t.args[1], nil
	}},
	{name: "version_atleast", nargs: 1, version: true, eval: func(t *cfgTerm, _ func(string) (string, bool)) (bool, error) {
		return t.ver.compare(currentVersion) <= 0, nil
	}},
	{name: "version_before", nargs: 1, version: true, eval: func(t *cfgTerm, _ func(string) (string, bool)) (bool, error) {
		return t.ver.compare(currentVersion) > 0, nil
	}},
	// fjord has no TLS library. HAProxy built without one fails these
	// two when they are evaluated, and so does fjord: no answer about a
	// library that is not there would be true. Guarded as HAProxy's
	// files and tests guard them, by 'feature(OPENSSL) && ...', they are
	// never evaluated.
	{name: "openssl_version_atleast", nargs: 1, eval: noTLSLibrary},
	{name: "openssl_version_before", nargs: 1, eval: noTLSLibrary},
	// As in HAProxy without a TLS library, no library's name starts
	// with anything.
	{name: "ssllib_name_startswith", nargs: 1, eval: func(*cfgTerm, func(string) (string, bool)) (bool, error) {
		return false, nil
	}},
}

func noTLSLibrary(t *cfgTerm, _ func(string) (string, bool)) (bool, error) {
	return false, fmt.Errorf("%s(%s) at column %d cannot be answered: fjord has no TLS library, so there is no OpenSSL version to compare (feature(OPENSSL) is false; write 'feature(OPENSSL) && %s(...)')", t.pred.name, t.args[0], t.col, t.pred.name)
}

func predicateNames() string {
	names := make([]string, len(predicates))
	for i, p := range predicates {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// parseCfgCond reads a condition. Errors name the condition and the column
// of what is wrong in it.
func parseCfgCond(s string) (*cfgCond, error) {
	if s == "" {
		return &cfgCond{}, nil
	}
	p := condParser{s: s}
	c, err := p.expr()
	if err == nil {
		p.blanks()
		if p.i < len(s) {
			err = fmt.Errorf("unexpected '%s' at column %d, after a complete condition", s[p.i:], p.i+1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("condition '%s': %w", s, err)
	}
	return c, nil
}

type condParser struct {
	s     string
	i     int
	depth int
}

func (p *condParser) blanks() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// operator consumes op ("&&" or "||") after optional blanks.
func (p *condParser) operator(op string) bool {
	p.blanks()
	if strings.HasPrefix(p.s[p.i:], op) {
		p.i += len(op)
		return true
	}
	return false
}

func (p *condParser) expr() (*cfgCond, error) {
	c := &cfgCond{}
	for {
		and, err := p.and()
		if err != nil {
			return nil, err
		}
		c.or = append(c.or, and)
		if !p.operator("||") {
			return c, nil
		}
	}
}

func (p *condParser) and() (cfgAnd, error) {
	var and cfgAnd
	for {
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		and = append(and, t)
		if !p.operator("&&") {
			return and, nil
		}
	}
}

func (p *condParser) term() (*cfgTerm, error) {
	p.blanks()
	t := &cfgTerm{col: p.i + 1}
	for p.i < len(p.s) && p.s[p.i] == '!' {
		t.neg = !t.neg
		p.i++
		p.blanks()
	}
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("a term is missing at column %d (a predicate such as defined(NAME), a number, '!' or '(')", p.i+1)
	}
	if end, nonzero, ok := number(p.s, p.i); ok {
		t.kind, t.num = termNumber, nonzero
		p.i = end
		return t, nil
	}
	c := p.s[p.i]
	switch {
	case c == '(':
		open := p.i
		if p.depth >= maxCondDepth {
			return nil, fmt.Errorf("parentheses nested more than %d deep at column %d", maxCondDepth, open+1)
		}
		p.depth++
		p.i++
		sub, err := p.expr()
		if err != nil {
			return nil, err
		}
		p.depth--
		p.blanks()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("')' expected at column %d, to close the '(' at column %d", p.i+1, open+1)
		}
		p.i++
		t.kind, t.sub = termParen, sub
		return t, nil
	case isVarStart(c) && c != '.':
		start := p.i
		for p.i < len(p.s) && isVarChar(p.s[p.i]) {
			p.i++
		}
		name := p.s[start:p.i]
		for _, pr := range predicates {
			if pr.name == name {
				t.pred = pr
			}
		}
		if t.pred == nil {
			return nil, fmt.Errorf("unknown predicate '%s' at column %d (there are %s)", name, start+1, predicateNames())
		}
		if p.i >= len(p.s) || p.s[p.i] != '(' {
			return nil, fmt.Errorf("predicate '%s' at column %d must be followed by its arguments in parentheses: %s(...)", name, start+1, name)
		}
		args, err := p.args(t.pred, start+1)
		if err != nil {
			return nil, err
		}
		t.kind, t.args = termPred, args
		if t.pred.version {
			if t.ver, err = parseVersion(args[0]); err != nil {
				return nil, fmt.Errorf("%s() at column %d: %w", name, start+1, err)
			}
		}
		return t, nil
	default:
		return nil, fmt.Errorf("unexpected '%s' at column %d: a predicate such as defined(NAME), a number, '!' or '(' was expected", p.s[p.i:], p.i+1)
	}
}

// number reads a C integer (strtol with base 0) at s[i]: an optional sign,
// then decimal, 0x hexadecimal or 0 octal digits. It reports where the
// number ends and whether it is not zero.
func number(s string, i int) (end int, nonzero, ok bool) {
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	if j >= len(s) || s[j] < '0' || s[j] > '9' {
		return 0, false, false
	}
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	if s[j] == '0' {
		digit = func(c byte) bool { return '0' <= c && c <= '7' }
		if j+2 < len(s) && (s[j+1] == 'x' || s[j+1] == 'X') && isHex(s[j+2]) {
			digit = isHex
			j += 2
		}
	}
	for ; j < len(s) && digit(s[j]); j++ {
		if s[j] != '0' {
			nonzero = true
		}
	}
	return j, nonzero, true
}

// args reads a predicate's arguments, s[p.i] being '(', as HAProxy's
// make_arg_list does: arguments are separated by ',' and taken as written,
// spaces included, except that quotes group ("a,b" and 'a,b') and that a
// backslash escapes \ , ' and " and writes \r, \n and \t.
func (p *condParser) args(pr *predicate, col int) ([]string, error) {
	open := p.i
	p.i++
	var args []string
	for {
		var (
			arg   strings.Builder
			quote byte
			qcol  int
		)
	arg:
		for ; p.i < len(p.s); p.i++ {
			c := p.s[p.i]
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '\'' || c == '"'):
				quote, qcol = c, p.i+1
			case c == '\\' && quote != '\'':
				if p.i+1 >= len(p.s) {
					return nil, fmt.Errorf("backslash at the end of the arguments of '%s' at column %d", pr.name, p.i+1)
				}
				switch n := p.s[p.i+1]; n {
				case '\\', ' ', '"', '\'':
					arg.WriteByte(n)
				case 'r':
					arg.WriteByte('\r')
				case 'n':
					arg.WriteByte('\n')
				case 't':
					arg.WriteByte('\t')
				default:
					arg.WriteByte(c)
					continue
				}
				p.i++
			case quote == 0 && (c == ',' || c == ')'):
				break arg
			default:
				arg.WriteByte(c)
			}
		}
		if quote != 0 {
			return nil, fmt.Errorf("unmatched quote %c at column %d in the arguments of '%s'", quote, qcol, pr.name)
		}
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("')' expected at column %d, to close the arguments of '%s' opened at column %d", p.i+1, pr.name, open+1)
		}
		args = append(args, arg.String())
		if p.s[p.i] == ')' {
			p.i++
			break
		}
		if len(args) == pr.nargs {
			return nil, fmt.Errorf("too many arguments to '%s' at column %d: it takes %s", pr.name, p.i+1, plural(pr.nargs, "argument"))
		}
		p.i++ // ','
	}
	if len(args) < pr.nargs {
		return nil, fmt.Errorf("'%s' at column %d takes %s, found %d", pr.name, col, plural(pr.nargs, "argument"), len(args))
	}
	return args, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// eval evaluates the condition; env looks up environment variables for
// defined(). Only a predicate that cannot be answered is an error.
func (c *cfgCond) eval(env func(string) (string, bool)) (bool, error) {
	for _, and := range c.or {
		ok, err := and.eval(env)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (a cfgAnd) eval(env func(string) (string, bool)) (bool, error) {
	for _, t := range a {
		ok, err := t.eval(env)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func (t *cfgTerm) eval(env func(string) (string, bool)) (bool, error) {
	var (
		v   bool
		err error
	)
	switch t.kind {
	case termNumber:
		v = t.num
	case termParen:
		v, err = t.sub.eval(env)
	case termPred:
		v, err = t.pred.eval(t, env)
	}
	if err != nil {
		return false, err
	}
	return v != t.neg, nil
}

// CheckCondition evaluates a condition the way 'haproxy -cc' does: expr is
// read like a configuration line (quotes, escapes, variables inside double
// quotes; '#' is no comment), its words are joined with spaces, and the
// result is evaluated as a '.if' condition would be. An environment
// variable that is not set and has no default is an error, as it is in a
// configuration file.
func CheckCondition(expr string, opts Options) (bool, error) {
	env := environment(opts)
	words, undefined, err := wordSplitter{vars: env}.split(expr)
	if err != nil {
		return false, fmt.Errorf("condition '%s': %w", expr, err)
	}
	if len(undefined) > 0 {
		return false, fmt.Errorf("condition '%s': environment variable '%s' is not set (write \"${%s-}\" if an empty value is meant)", expr, undefined[0], undefined[0])
	}
	return evalCfgCond(strings.Join(words, " "), env)
}

// evalCfgCond reads and evaluates a condition; an error names it.
func evalCfgCond(s string, env func(string) (string, bool)) (bool, error) {
	c, err := parseCfgCond(s)
	if err != nil {
		return false, err
	}
	v, err := c.eval(env)
	if err != nil {
		return false, fmt.Errorf("condition '%s': %w", s, err)
	}
	return v, nil
}
