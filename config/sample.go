package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Sample expressions: HAProxy's "fetch(args),converter(args),..." (the
// words of ACLs, the "%[...]" of log-format strings, the arguments of
// actions). config owns their vocabulary, the names, argument kinds and
// output types of every fetch and converter (samplespecs.go), and reads
// and checks expressions against it, so that `fjord -c` finds every
// mistake with its line. The rules package implements the names; a test
// there checks that both lists are the same.

// SampleType is the type of a sample: what a fetch gives, what a
// converter takes and gives.
type SampleType uint8

const (
	TypeAny  SampleType = iota // a variable's value: known at run time
	TypeBool                   // true or false
	TypeInt                    // a signed 64-bit integer
	TypeStr                    // text
	TypeBin                    // bytes
	TypeAddr                   // an IPv4 or IPv6 address
)

func (t SampleType) String() string {
	return [...]string{"any", "boolean", "integer", "string", "binary", "address"}[t]
}

// Reads is what a sample needs to be evaluated: it decides where a rule
// using it may stand (a "tcp-request connection" rule reads no byte).
type Reads uint16

const (
	ReadsReq    Reads = 1 << iota // the HTTP request head
	ReadsBody                     // the HTTP request body ("option http-buffer-request")
	ReadsRes                      // the HTTP response head
	ReadsTLS                      // the client's TLS session (after the handshake)
	ReadsHello                    // the ClientHello peeked in tcp mode
	ReadsServer                   // the server chosen (srv_name)
	// ReadsMsg marks the fetches that read the message being processed:
	// the request in request rules, the response in response rules
	// (HAProxy's "hdr()").
	ReadsMsg
	// ReadsConn marks what a connection has from its accept: its
	// addresses, its frontend.
	ReadsConn
	// ReadsCapture marks what the frontend captured of an HTTP request
	// and its response (capture.req.*, capture.res.*): the engine
	// keeps the request line for them.
	ReadsCapture
	// ReadsPayload marks the client's bytes in tcp mode (req.payload,
	// req.len), which tcp-request content rules inspect before they
	// are forwarded; ReadsResPayload the server's (res.payload), which
	// tcp-response content rules inspect.
	ReadsPayload
	ReadsResPayload
	// ReadsInspection marks what reads the state of that inspection
	// (wait_end): the rules must be evaluated on its bytes, and wait.
	ReadsInspection
)

// ArgKind is how an argument of a fetch or converter is read.
type ArgKind uint8

const (
	ArgStr      ArgKind = iota // any text, possibly empty
	ArgName                    // a header, cookie or parameter name: not empty
	ArgInt                     // a decimal integer
	ArgIntOrVar                // an integer or a variable's name (the arithmetic converters)
	ArgRegex                   // a regular expression, compiled when read
	ArgVar                     // a variable's name, "scope.name"
	ArgMap                     // a map file, read when the configuration is
	ArgUserlist                // a userlist section's name
	ArgBackend                 // a backend's name
	ArgMask4                   // an IPv4 netmask: bits or dotted
	ArgMask6                   // an IPv6 prefix length
	ArgBool                    // a boolean: 0/1, true/false
	ArgTimeUnit                // date()'s unit: s, ms or us
	ArgEnv                     // an environment variable's name, read with the configuration
	ArgHex                     // bytes written in hexadecimal, two digits a byte (bin())
	ArgIPv4                    // an IPv4 address, in Addr (ipv4())
	ArgIPv6                    // an IPv6 address, in Addr (ipv6())
)

// FetchSpec describes a sample fetch.
type FetchSpec struct {
	Name string
	Args []ArgKind
	Min  int // arguments that must be given
	Out  SampleType
	Need Reads
	// Version is set for req.ssl_ver, whose integer patterns are
	// written as versions ("3.3").
	Version bool

	// check validates the arguments together, as a converter's does.
	check func(ctx *exprContext, args []Arg) error
}

// ConvSpec describes a converter.
type ConvSpec struct {
	Name string
	Args []ArgKind
	Min  int
	In   SampleType // TypeAny: whatever comes
	Out  SampleType // TypeAny: the type it was given

	// Map is set for the map converters.
	Map *MapConv

	// check validates the arguments together, as HAProxy's per-converter
	// check functions do, and may complete them (a regex flag recompiles
	// the expression, a keyword becomes its code in Int). Its errors name
	// the argument.
	check func(ctx *exprContext, args []Arg) error
}

// ConverterSpec returns the converter named name, or nil.
func ConverterSpec(name string) *ConvSpec { return convSpecs[name] }

// castable reports whether a sample of type from may be given to
// something that takes to: HAProxy's sample_casts table (src/sample.c),
// which refuses such expressions as "req.body,add(1)" when the
// configuration is read. An address is HAProxy's IPv4 there, the type
// its address fetches declare (an IPv6 address fails at run time where
// an IPv4 one is required).
func castable(from, to SampleType) bool {
	if from == TypeAny || to == TypeAny || from == to {
		return true
	}
	switch from {
	case TypeBool:
		return to != TypeAddr
	case TypeInt, TypeStr:
		return true
	case TypeBin:
		return to == TypeStr
	case TypeAddr:
		return to != TypeBool
	}
	return false
}

// Expr is a sample expression: a fetch and the converters applied to its
// result, in order.
type Expr struct {
	Text  string // as written, for messages
	Fetch Call
	Convs []Call
}

// Call is a fetch or converter with its arguments.
type Call struct {
	Name string
	Args []Arg
}

// Arg is one argument, read as its kind says. Str keeps the text as
// written for every kind.
type Arg struct {
	Kind   ArgKind
	Str    string
	Int    int64
	Regexp *regexp.Regexp
	Var    VarName
	Map    *MapFile
	Prefix netip.Prefix // ArgMask4, ArgMask6: the mask as a prefix of the zero address
	// Userlist is the section an ArgUserlist names, set once every
	// section is read.
	Userlist *Userlist
	// Mask is an ArgMask4 or ArgMask6 netmask as an address: HAProxy
	// takes a length, or any dotted IPv4 or colon-written IPv6 mask,
	// contiguous or not.
	Mask netip.Addr
	Addr netip.Addr // a map_*_ip converter's default; ipv4()'s and ipv6()'s address
	// Env is an ArgEnv variable's value, read when the configuration is
	// (from the environment "$NAME" reads, Options.LookupEnv); EnvSet
	// tells an empty value from an unset variable.
	Env    string
	EnvSet bool
	// Bytes are an ArgHex argument's bytes, or what a converter's check
	// decoded from its argument (hmac's base64 key).
	Bytes []byte
}

// Fetch returns the fetch's spec.
func (e *Expr) FetchSpec() *FetchSpec { return fetchSpecs[e.Fetch.Name] }

// Out is the type of the expression's result.
func (e *Expr) Out() SampleType {
	t := fetchSpecs[e.Fetch.Name].Out
	for _, c := range e.Convs {
		if o := convSpecs[c.Name].Out; o != TypeAny {
			t = o
		}
	}
	return t
}

// Need is what evaluating the expression reads, its converters
// included (a variable set by the request may be read by anything).
func (e *Expr) Need() Reads { return fetchSpecs[e.Fetch.Name].Need }

// Fetches and Converters list the vocabulary, sorted by name.
func Fetches() []*FetchSpec {
	out := make([]*FetchSpec, 0, len(fetchSpecs))
	for _, s := range fetchSpecs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func Converters() []*ConvSpec {
	out := make([]*ConvSpec, 0, len(convSpecs))
	for _, s := range convSpecs {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// VarScope is where a variable lives, and so how long.
type VarScope uint8

const (
	ScopeProc VarScope = iota // the process
	ScopeSess                 // the client connection
	ScopeTxn                  // one request and its response
	ScopeReq                  // the request's processing
	ScopeRes                  // the response's processing
)

var scopeNames = [...]string{"proc", "sess", "txn", "req", "res"}

func (s VarScope) String() string { return scopeNames[s] }

// VarName is a variable's "scope.name".
type VarName struct {
	Scope VarScope
	Name  string
}

func (v VarName) String() string { return v.Scope.String() + "." + v.Name }

// parseVarName reads "scope.name", as HAProxy's vars_check_arg.
func parseVarName(s string) (VarName, error) {
	scope, name, ok := strings.Cut(s, ".")
	if !ok || name == "" {
		return VarName{}, fmt.Errorf("invalid variable name '%s': expected 'scope.name' with a scope of proc, sess, txn, req or res", s)
	}
	v := VarName{Name: name}
	found := false
	for i, n := range scopeNames {
		if n == scope {
			v.Scope, found = VarScope(i), true
		}
	}
	if !found {
		return VarName{}, fmt.Errorf("invalid variable scope '%s' in '%s' (expected proc, sess, txn, req or res)", scope, s)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return VarName{}, fmt.Errorf("invalid character %q in variable name '%s' (letters, digits, '_' and '.')", c, s)
		}
	}
	return v, nil
}

// exprContext is what reading an expression needs besides its text: map
// files are read once per path, userlist and backend names are checked
// when the configuration is whole.
type exprContext struct {
	maps    map[string]*MapFile
	pending *[]pendingName
	pos     Pos
	env     func(name string) (string, bool) // env(); nil: no variable is set
	reads   *Reads                           // gathers what the expressions read (Config.SampleReads); nil: not kept
}

// pendingName is a userlist or backend name an argument refers to,
// checked once every section is read.
type pendingName struct {
	pos  Pos
	kind ArgKind
	name string
	arg  *Arg // gets the userlist
}

func (p *parser) exprCtx(pos Pos) *exprContext {
	return &exprContext{maps: p.maps, pending: &p.pendingNames, pos: pos, env: p.lx.lookup, reads: &p.cfg.SampleReads}
}

// parseExpr reads a sample expression.
func (p *parser) parseExpr(pos Pos, text string) (*Expr, error) {
	return parseExprCtx(p.exprCtx(pos), text)
}

func parseExprCtx(ctx *exprContext, text string) (*Expr, error) {
	e := &Expr{Text: text}
	calls, err := splitCalls(text)
	if err != nil {
		return nil, fmt.Errorf("sample expression '%s': %v", text, err)
	}
	name := calls[0].name
	spec := fetchSpecs[name]
	if spec == nil {
		if a, ok := fetchAliases[name]; ok {
			name, spec = a, fetchSpecs[a]
		}
	}
	if spec == nil {
		return nil, fmt.Errorf("unknown sample fetch '%s' in '%s' (valid: %s)", calls[0].name, text, fetchNameList())
	}
	args, err := parseArgs(ctx, name, spec.Args, spec.Min, calls[0])
	if err == nil && spec.check != nil {
		err = spec.check(ctx, args)
	}
	if err != nil {
		return nil, fmt.Errorf("'%s': %v", text, err)
	}
	e.Fetch = Call{Name: name, Args: args}
	if ctx.reads != nil {
		*ctx.reads |= spec.Need
	}
	prev := spec.Out
	for _, c := range calls[1:] {
		cs := convSpecs[c.name]
		if cs == nil {
			return nil, fmt.Errorf("unknown converter '%s' in '%s' (valid: %s)", c.name, text, convNameList())
		}
		if !castable(prev, cs.In) {
			return nil, fmt.Errorf("converter '%s' cannot be applied in '%s': it takes %s %s sample, and is given %s %s one", c.name, text, article(cs.In), cs.In, article(prev), prev)
		}
		args, err := parseArgs(ctx, c.name, cs.Args, cs.Min, c)
		if err == nil && cs.check != nil {
			err = cs.check(ctx, args)
		}
		if err != nil {
			return nil, fmt.Errorf("'%s': %v", text, err)
		}
		e.Convs = append(e.Convs, Call{Name: c.name, Args: args})
		// A converter that passes any type on (set-var) makes the
		// next one checked at run time, as in HAProxy.
		prev = cs.Out
	}
	return e, nil
}

func article(t SampleType) string {
	if t == TypeInt || t == TypeAddr || t == TypeAny {
		return "an"
	}
	return "a"
}

// rawCall is a name and its argument texts, before they are read.
type rawCall struct {
	name   string
	args   []string
	parens bool
}

// splitCalls cuts "f(a,b),c,d(e)" into its calls. Arguments are read as
// HAProxy's make_arg_list (src/arg.c) reads them: quotes group, so that
// an argument may hold a comma or a parenthesis; outside single quotes a
// backslash escapes a backslash, a quote or a space and writes \r, \n and
// \t, and before anything else it is an ordinary character, so that
// regsub's "\1" and a regular expression's "\." arrive as written.
func splitCalls(s string) ([]rawCall, error) {
	var calls []rawCall
	i := 0
	for {
		start := i
		for i < len(s) && isSampleNameChar(s[i]) {
			i++
		}
		if i == start {
			if i < len(s) {
				return nil, fmt.Errorf("unexpected character %q at offset %d", s[i], i)
			}
			return nil, fmt.Errorf("missing name at the end")
		}
		c := rawCall{name: s[start:i]}
		if i < len(s) && s[i] == '(' {
			c.parens = true
			i++
			var cur strings.Builder
			var quote byte
			closed := false
			for i < len(s) && !closed {
				ch := s[i]
				switch {
				case ch == '\\' && quote != '\'' && i+1 < len(s):
					i++
					switch n := s[i]; n {
					case '\\', ' ', '"', '\'':
						cur.WriteByte(n)
					case 'r':
						cur.WriteByte('\r')
					case 'n':
						cur.WriteByte('\n')
					case 't':
						cur.WriteByte('\t')
					default:
						cur.WriteByte('\\') // a lone backslash: n is read next
						continue
					}
				case quote != 0:
					if ch == quote {
						quote = 0
					} else {
						cur.WriteByte(ch)
					}
				case ch == '"' || ch == '\'':
					quote = ch
				case ch == ',':
					c.args = append(c.args, cur.String())
					cur.Reset()
				case ch == ')':
					closed = true
					c.args = append(c.args, cur.String())
				default:
					cur.WriteByte(ch)
				}
				i++
			}
			if !closed {
				return nil, fmt.Errorf("missing ')' after the arguments of '%s'", c.name)
			}
			if len(c.args) == 1 && c.args[0] == "" {
				c.args = nil // "f()" has no argument
			}
		}
		calls = append(calls, c)
		if i == len(s) {
			return calls, nil
		}
		if s[i] != ',' {
			return nil, fmt.Errorf("unexpected character %q after '%s' (expected ',' before a converter)", s[i], c.name)
		}
		i++
	}
}

func isSampleNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// parseArgs reads a call's arguments against their kinds.
func parseArgs(ctx *exprContext, name string, kinds []ArgKind, min int, c rawCall) ([]Arg, error) {
	if len(c.args) == 0 && min > 0 && kinds[0] == ArgStr {
		// As make_arg_list: no argument is an empty one when the first
		// is a mandatory string ("str()", "json").
		c.args = []string{""}
	}
	// An empty optional argument that is not a string ends the list, as
	// in HAProxy ("field(2,_,)"); HAProxy then ignores the arguments
	// after it, which fjord refuses rather than drop them silently.
	for i := min; i < len(c.args) && i < len(kinds); i++ {
		if c.args[i] != "" || kinds[i] != ArgInt && kinds[i] != ArgMask4 && kinds[i] != ArgMask6 {
			continue
		}
		for j := i + 1; j < len(c.args); j++ {
			if c.args[j] != "" {
				return nil, fmt.Errorf("argument %d of '%s' is empty: HAProxy ignores it and the arguments after it, so '%s' would be ignored", i+1, name, c.args[j])
			}
		}
		c.args = c.args[:i]
		break
	}
	if len(c.args) < min || len(c.args) > len(kinds) {
		want := fmt.Sprintf("%d", min)
		switch {
		case len(kinds) == 0:
			want = "no"
		case len(kinds) != min:
			want = fmt.Sprintf("%d to %d", min, len(kinds))
		}
		return nil, fmt.Errorf("'%s' takes %s argument(s), found %d", name, want, len(c.args))
	}
	args := make([]Arg, len(c.args))
	for i, s := range c.args {
		a, err := parseArg(ctx, kinds[i], s)
		if err != nil {
			return nil, fmt.Errorf("argument %d of '%s': %v", i+1, name, err)
		}
		args[i] = a
		if (a.Kind == ArgUserlist || a.Kind == ArgBackend) && ctx.pending != nil {
			*ctx.pending = append(*ctx.pending, pendingName{pos: ctx.pos, kind: a.Kind, name: s, arg: &args[i]})
		}
	}
	return args, nil
}

func parseArg(ctx *exprContext, k ArgKind, s string) (Arg, error) {
	a := Arg{Kind: k, Str: s}
	var err error
	switch k {
	case ArgName:
		if s == "" {
			return a, fmt.Errorf("a name is required")
		}
	case ArgInt:
		if a.Int, err = strconv.ParseInt(s, 10, 64); err != nil {
			return a, fmt.Errorf("'%s' is not an integer", s)
		}
	case ArgIntOrVar:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			a.Int, a.Kind = n, ArgInt
			return a, nil
		}
		if a.Var, err = parseVarName(s); err != nil {
			return a, fmt.Errorf("'%s' is neither an integer nor a variable: %v", s, err)
		}
		a.Kind = ArgVar
	case ArgRegex:
		if a.Regexp, err = regexp.Compile(s); err != nil {
			return a, fmt.Errorf("invalid regular expression '%s': %v", s, err)
		}
	case ArgVar:
		if a.Var, err = parseVarName(s); err != nil {
			return a, err
		}
	case ArgMap:
		if a.Map, err = loadMapFile(ctx.maps, s); err != nil {
			return a, err
		}
	case ArgUserlist, ArgBackend:
		if s == "" {
			return a, fmt.Errorf("a name is required")
		}
	case ArgMask4:
		// str2mask: dotted if it has a dot, else a length.
		if strings.Contains(s, ".") {
			m, err := netip.ParseAddr(s)
			if err != nil || !m.Is4() {
				return a, fmt.Errorf("'%s' is not an IPv4 mask (a length 0-32 or a dotted netmask)", s)
			}
			a.Mask = m
			return a, nil
		}
		bits, err := strconv.Atoi(s)
		if err != nil || bits < 0 || bits > 32 {
			return a, fmt.Errorf("'%s' is not an IPv4 mask (a length 0-32 or a dotted netmask)", s)
		}
		a.Mask = maskOf(bits, 4)
	case ArgMask6:
		// str2mask6: an address if it has a colon, else a length.
		if strings.Contains(s, ":") {
			m, err := netip.ParseAddr(s)
			if err != nil || !m.Is6() || m.Zone() != "" {
				return a, fmt.Errorf("'%s' is not an IPv6 mask (a length 0-128 or a mask such as ffff:ffff::)", s)
			}
			a.Mask = m
			return a, nil
		}
		bits, err := strconv.Atoi(s)
		if err != nil || bits < 0 || bits > 128 {
			return a, fmt.Errorf("'%s' is not an IPv6 mask (a length 0-128 or a mask such as ffff:ffff::)", s)
		}
		a.Mask = maskOf(bits, 16)
	case ArgBool:
		switch strings.ToLower(s) {
		case "1", "true":
			a.Int = 1
		case "0", "false":
		default:
			return a, fmt.Errorf("'%s' is not a boolean (0, 1, true or false)", s)
		}
	case ArgTimeUnit:
		switch s {
		case "s", "ms", "us":
		default:
			return a, fmt.Errorf("'%s' is not a time unit (s, ms or us)", s)
		}
	case ArgHex:
		// parse_binary: an even number of hexadecimal digits.
		if len(s)%2 != 0 {
			return a, fmt.Errorf("'%s': an even number of hex digit is expected", s)
		}
		a.Bytes = make([]byte, len(s)/2)
		for i := 0; i < len(s); i += 2 {
			hi, ok1 := hexDigit(s[i])
			lo, ok2 := hexDigit(s[i+1])
			if !ok1 || !ok2 {
				c := s[i]
				if ok1 {
					c = s[i+1]
				}
				return a, fmt.Errorf("'%s': an hex digit is expected (found '%c')", s, c)
			}
			a.Bytes[i/2] = hi<<4 | lo
		}
	case ArgIPv4, ArgIPv6:
		// HAProxy's inet_pton: the address only, no zone, no mask.
		ip, perr := netip.ParseAddr(s)
		if k == ArgIPv4 && (perr != nil || !ip.Is4()) {
			return a, fmt.Errorf("'%s' is not an IPv4 address", s)
		}
		if k == ArgIPv6 && (perr != nil || !ip.Is6() || ip.Zone() != "") {
			return a, fmt.Errorf("'%s' is not an IPv6 address", s)
		}
		a.Addr = ip
	case ArgEnv:
		if s == "" {
			return a, fmt.Errorf("a name is required")
		}
		if ctx.env != nil {
			a.Env, a.EnvSet = ctx.env(s)
		}
	}
	return a, nil
}

// hexDigit is a hexadecimal digit's value.
func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// fetchNameList and convNameList are the valid names, for messages.
func fetchNameList() string {
	var f []string
	for _, s := range Fetches() {
		f = append(f, s.Name)
	}
	return strings.Join(f, ", ")
}

func convNameList() string {
	var c []string
	for _, s := range Converters() {
		c = append(c, s.Name)
	}
	return strings.Join(c, ", ")
}

// ParseSampleAddr reads an address as HAProxy reads a string sample into
// one (c_str2addr, map_parse_ip): first as IPv4 with buf2ip, which takes
// four dotted decimal octets (leading zeros allowed) and ignores what
// follows them ("10.0.0.1:80" is 10.0.0.1), then as IPv6 with
// inet_pton.
func ParseSampleAddr(s string) (netip.Addr, bool) {
	if a, ok := parseBuf2IP(s); ok {
		return a, true
	}
	if len(s) > 46 || strings.IndexByte(s, ':') < 0 {
		return netip.Addr{}, false // INET6_ADDRSTRLEN, and no IPv6 without ':'
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
			return netip.Addr{}, false // inet_pton has no zone
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

// parseBuf2IP is HAProxy's buf2ip.
func parseBuf2IP(s string) (netip.Addr, bool) {
	var b [4]byte
	octets, sawDigit, cur := 0, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n := cur*10 + int(c-'0')
			if n > 255 {
				return netip.Addr{}, false
			}
			cur = n
			if !sawDigit {
				if octets++; octets > 4 {
					return netip.Addr{}, false
				}
				sawDigit = true
			}
			b[octets-1] = byte(cur)
		case c == '.' && sawDigit:
			if octets == 4 {
				return netip.Addr{}, false
			}
			sawDigit, cur = false, 0
		case c == '.':
			return netip.Addr{}, false
		default:
			i = len(s) // the address ends here
		}
	}
	if octets < 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(b), true
}

// maskOf is the netmask of bits leading ones, of size bytes (4 or 16).
func maskOf(bits, size int) netip.Addr {
	var b [16]byte
	for i := 0; i < bits; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	if size == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}
