package config

import (
	"fmt"
	"sort"
	"strings"
)

// Custom log formats: HAProxy 2.6's "log-format", "log-format-sd" and
// "unique-id-format" strings (its doc/configuration.txt, 8.2.6), compiled
// once into a list of nodes that the logging package renders for each
// record. The parser follows HAProxy's parse_logformat_string (src/log.c)
// state by state, so that a string means in fjord what it means there.

// LineFormat is a compiled log-format string.
type LineFormat struct {
	Pos     Pos    // the line that set it
	Keyword string // "log-format", "log-format-sd" or "unique-id-format"
	Text    string // as written, after the configuration's unquoting
	Nodes   []FormatNode
	// Needs says what the engine must collect for the aliases used,
	// beyond what every record has.
	Needs FormatNeeds
}

// FormatNode is one element of a compiled format.
type FormatNode struct {
	Var   FormatVar
	Flags FormatFlags
	// Text is the literal text of a FormatText node, and the sample
	// expression (without its brackets) of a FormatSample node.
	Text string
	// Sample numbers the FormatSample nodes of a format from 0, for the
	// sample renderer.
	Sample int
	// Expr is a FormatSample node's expression, read against the rule
	// language's vocabulary.
	Expr *Expr
}

// Sample slots: the values of a frontend's %[expr] nodes travel in its
// access record, log-format's first, then log-format-sd's, then
// unique-id-format's, at most MaxFormatSamples per keyword.
const (
	MaxFormatSamples = 8
	MaxSampleSlots   = 3 * MaxFormatSamples
)

// SampleSlot is the record slot of sample i of a format of that keyword.
func SampleSlot(keyword string, i int) int {
	switch keyword {
	case "log-format-sd":
		return MaxFormatSamples + i
	case "unique-id-format":
		return 2*MaxFormatSamples + i
	}
	return i
}

// FormatFlags are the %{+FLAG} modifiers of a node.
type FormatFlags uint8

const (
	FlagMandatory FormatFlags = 1 << iota // M: an empty string is written "-"
	FlagQuote                             // Q: strings in double quotes
	FlagHex                               // X: addresses, ports and some numbers in hexadecimal
	FlagEscape                            // E: '"', '\' and ']' escaped with '\' (RFC 5424 structured data)
)

var formatFlagNames = []struct {
	name string
	flag FormatFlags
}{{"M", FlagMandatory}, {"Q", FlagQuote}, {"X", FlagHex}, {"E", FlagEscape}}

// FormatNeeds are the costly facts a format's aliases read: the engine
// collects them only for the frontends whose formats use them.
type FormatNeeds uint8

const (
	NeedFrontendAddr FormatNeeds = 1 << iota // %fi %fp: the address the client connected to (getsockname)
	NeedBackendSrc                           // %bi %bp: the server connection's source (getsockname)
	NeedServerAddr                           // %si %sp
	NeedCounter                              // %rt: the process-wide request counter
	NeedSamples                              // %[expr]
)

// FormatVar is what a node renders: literal text, a separator, a sample
// expression, or one of HAProxy's aliases.
type FormatVar uint8

const (
	FormatText      FormatVar = iota // Text, verbatim
	FormatSeparator                  // a space, written unless the line is empty or already ends in one
	FormatSample                     // %[expr]: a sample expression (the rule language)

	VarBytes         // %B   bytes sent to the client
	VarClientCookie  // %CC  captured request cookie
	VarServerCookie  // %CS  captured response cookie
	VarHostname      // %H
	VarMethod        // %HM
	VarPath          // %HP  the request target without its query string
	VarPathOnly      // %HPO the path alone, without scheme, authority or query string
	VarQuery         // %HQ  "?" and the query string
	VarURI           // %HU  the request target
	VarVersion       // %HV
	VarUniqueID      // %ID
	VarStatus        // %ST
	VarDateGMT       // %T   accept date, GMT
	VarTa            // %Ta  active time: Tt - Th - Ti
	VarTc            // %Tc
	VarTd            // %Td  data transmission time
	VarTh            // %Th  handshake time
	VarTi            // %Ti  idle time before the request
	VarDateLocal     // %Tl  accept date, local time with its offset
	VarTq            // %Tq  Th + Ti + TR
	VarTR            // %TR  time to receive the request head from its first byte
	VarTr            // %Tr  server response time
	VarTimestamp     // %Ts  accept date, Unix seconds
	VarTt            // %Tt  total time
	VarTu            // %Tu  Tt - Ti
	VarTw            // %Tw
	VarBytesUp       // %U   bytes received from the client
	VarActConn       // %ac
	VarBackend       // %b
	VarBeConn        // %bc
	VarBackendIP     // %bi  the server connection's source address
	VarBackendPort   // %bp
	VarBeQueue       // %bq
	VarClientIP      // %ci
	VarClientPort    // %cp
	VarFrontend      // %f
	VarFeConn        // %fc
	VarFrontendIP    // %fi
	VarFrontendPort  // %fp
	VarFrontendXprt  // %ft  the frontend, '~' after it for a TLS bind
	VarReqHeaders    // %hr  {a|b}
	VarReqHeaderList // %hrl a b
	VarRspHeaders    // %hs
	VarRspHeaderList // %hsl
	VarLogCounter    // %lc
	VarAcceptMS      // %ms
	VarPID           // %pid
	VarRequest       // %r
	VarRetries       // %rc
	VarCounter       // %rt
	VarServer        // %s
	VarSrvConn       // %sc
	VarServerIP      // %si
	VarServerPort    // %sp
	VarSrvQueue      // %sq
	VarSSLCipher     // %sslc
	VarSSLVersion    // %sslv
	VarDate          // %t   accept date, local time, milliseconds
	VarReqDate       // %tr  date of the request's first byte
	VarReqDateGMT    // %trg
	VarReqDateLocal  // %trl
	VarTermState     // %ts
	VarTermStateCk   // %tsc
)

// formatGlobal is "%o", which is no node: its flags become those of every
// node after it.
const formatGlobal FormatVar = 255

// formatVarInfo is a row of HAProxy 2.6's table of aliases (src/log.c,
// logformat_keywords).
type formatVarInfo struct {
	name  string
	v     FormatVar
	http  bool // reserved for mode http
	needs FormatNeeds
}

var formatVars = []formatVarInfo{
	{"o", formatGlobal, false, 0},
	{"B", VarBytes, false, 0},
	{"CC", VarClientCookie, true, 0},
	{"CS", VarServerCookie, true, 0},
	{"H", VarHostname, false, 0},
	{"HM", VarMethod, true, 0},
	{"HP", VarPath, true, 0},
	{"HPO", VarPathOnly, true, 0},
	{"HQ", VarQuery, true, 0},
	{"HU", VarURI, true, 0},
	{"HV", VarVersion, true, 0},
	{"ID", VarUniqueID, false, 0},
	{"ST", VarStatus, false, 0},
	{"T", VarDateGMT, false, 0},
	{"Ta", VarTa, true, 0},
	{"Tc", VarTc, false, 0},
	{"Td", VarTd, false, 0},
	{"Th", VarTh, false, 0},
	{"Ti", VarTi, true, 0},
	{"Tl", VarDateLocal, false, 0},
	{"Tq", VarTq, true, 0},
	{"TR", VarTR, true, 0},
	{"Tr", VarTr, true, 0},
	{"Ts", VarTimestamp, false, 0},
	{"Tt", VarTt, false, 0},
	{"Tu", VarTu, false, 0},
	{"Tw", VarTw, false, 0},
	{"U", VarBytesUp, false, 0},
	{"ac", VarActConn, false, 0},
	{"b", VarBackend, false, 0},
	{"bc", VarBeConn, false, 0},
	{"bi", VarBackendIP, false, NeedBackendSrc},
	{"bp", VarBackendPort, false, NeedBackendSrc},
	{"bq", VarBeQueue, false, 0},
	{"ci", VarClientIP, false, 0},
	{"cp", VarClientPort, false, 0},
	{"f", VarFrontend, false, 0},
	{"fc", VarFeConn, false, 0},
	{"fi", VarFrontendIP, false, NeedFrontendAddr},
	{"fp", VarFrontendPort, false, NeedFrontendAddr},
	{"ft", VarFrontendXprt, false, 0},
	{"hr", VarReqHeaders, false, 0},
	{"hrl", VarReqHeaderList, false, 0},
	{"hs", VarRspHeaders, false, 0},
	{"hsl", VarRspHeaderList, false, 0},
	{"lc", VarLogCounter, false, 0},
	{"ms", VarAcceptMS, false, 0},
	{"pid", VarPID, false, 0},
	{"r", VarRequest, true, 0},
	{"rc", VarRetries, false, 0},
	{"rt", VarCounter, false, NeedCounter},
	{"s", VarServer, false, 0},
	{"sc", VarSrvConn, false, 0},
	{"si", VarServerIP, false, NeedServerAddr},
	{"sp", VarServerPort, false, NeedServerAddr},
	{"sq", VarSrvQueue, false, 0},
	{"sslc", VarSSLCipher, false, 0},
	{"sslv", VarSSLVersion, false, 0},
	{"t", VarDate, false, 0},
	{"tr", VarReqDate, true, 0},
	{"trg", VarReqDateGMT, true, 0},
	{"trl", VarReqDateLocal, true, 0},
	{"ts", VarTermState, false, 0},
	{"tsc", VarTermStateCk, false, 0},
}

// FormatVarName is the alias of v ("ci" for VarClientIP), without its
// '%'; "" for the node kinds that are no alias.
func FormatVarName(v FormatVar) string {
	for _, fv := range formatVars {
		if fv.v == v {
			return fv.name
		}
	}
	return ""
}

// formatVarList is every alias, for the error that names an unknown one.
func formatVarList() string {
	names := make([]string, 0, len(formatVars))
	for _, fv := range formatVars {
		names = append(names, "%"+fv.name)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// The formats HAProxy declares for the options, and fjord renders them
// with. fjord's httplog is HAProxy 1.5's (the accept date, and Tq and Tt
// counting the idle time before a keep-alive request), the line fjord has
// always written; HAProxy 2.x's is HTTPLogFormat2, which a "log-format"
// line can ask for.
const (
	HTTPLogFormat  = "%ci:%cp [%t] %ft %b/%s %Tq/%Tw/%Tc/%Tr/%Tt %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	HTTPLogFormat2 = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	TCPLogFormat   = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
	CLFLogFormat   = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl"
)

// MustParseLineFormat compiles one of the formats above for a mode.
func MustParseLineFormat(text string, mode Mode) *LineFormat {
	f, _, err := ParseLineFormat("log-format", text, mode)
	if err != nil {
		panic("config: " + err.Error())
	}
	return f
}

// ParseLineFormat compiles a format string for a proxy of the given mode:
// an alias reserved for mode http is an error in mode tcp. keyword is the
// directive it comes from: "unique-id-format" writes nothing for an empty
// value, the others write "-" (HAProxy's M flag) unless told otherwise.
// Warnings are returned for flags HAProxy ignores. Sample expressions
// (%[...]) are parsed as nodes holding their text; whether they may be
// used is for the caller to say.
func ParseLineFormat(keyword, text string, mode Mode) (*LineFormat, []string, error) {
	f := &LineFormat{Keyword: keyword, Text: text}
	opts := FlagMandatory
	if keyword == "unique-id-format" {
		opts = 0
	}
	var warnings []string
	if strings.IndexByte(text, 0) >= 0 {
		return nil, nil, fmt.Errorf("a NUL byte cannot be part of a format")
	}
	const (
		lfInit = iota
		lfText
		lfSeparator
		lfStartVar
		lfStArg
		lfEdArg
		lfStExpr
		lfEdExpr
		lfVar
		lfEnd
	)
	var (
		sp               int // start of the current text
		arg, varStart    = -1, -1
		argLen, varLen   int
		cformat, pformat = lfInit, lfInit
	)
	flagsOf := func(base FormatFlags, a string) FormatFlags {
		for _, f := range strings.Split(a, ",") {
			if f == "" {
				continue
			}
			if f[0] != '+' && f[0] != '-' {
				warnings = append(warnings, fmt.Sprintf("flag '%s' ignored: flags are written +FLAG or -FLAG", f))
				continue
			}
			known := false
			for _, fl := range formatFlagNames {
				if f[1:] == fl.name {
					known = true
					if f[0] == '+' {
						base |= fl.flag
					} else {
						base &^= fl.flag
					}
				}
			}
			if !known {
				warnings = append(warnings, fmt.Sprintf("unknown flag '%s' ignored (flags: M, Q, X, E)", f[1:]))
			}
		}
		return base
	}
	argText := func() string {
		if arg < 0 || argLen == 0 {
			return ""
		}
		return text[arg : arg+argLen]
	}
	addText := func(t string) {
		if n := len(f.Nodes); n > 0 && f.Nodes[n-1].Var == FormatText {
			f.Nodes[n-1].Text += t
			return
		}
		f.Nodes = append(f.Nodes, FormatNode{Var: FormatText, Text: t})
	}
	addVar := func(name string) error {
		for _, fv := range formatVars {
			if fv.name != name {
				continue
			}
			if fv.http && mode != ModeHTTP {
				return fmt.Errorf("format variable '%s' is reserved for HTTP mode", name)
			}
			flags := flagsOf(opts, argText())
			if fv.v == formatGlobal {
				opts = flags
				return nil
			}
			f.Nodes = append(f.Nodes, FormatNode{Var: fv.v, Flags: flags})
			f.Needs |= fv.needs
			return nil
		}
		return fmt.Errorf("no such format variable '%s'. If you wanted to emit the '%%' character verbatim, you need to use '%%%%' (the variables are: %s)", name, formatVarList())
	}
	for i := 0; cformat != lfEnd; i++ {
		pformat = cformat
		c := byte(0)
		if i < len(text) {
			c = text[i]
		}
		if c == 0 {
			cformat = lfEnd
		}
		switch pformat {
		case lfStartVar: // just after a '%'
			arg, varStart, argLen, varLen = -1, -1, 0, 0
			switch {
			case c == '{':
				cformat, arg = lfStArg, i+1
			case c == '[':
				cformat, varStart = lfStExpr, i+1
			case isAlpha(c):
				cformat, varStart = lfVar, i
			case c == '%':
				cformat = lfText // "%%": a literal '%'
			case c >= '0' && c <= '9' || c == ' ' || c == '\t':
				return nil, warnings, fmt.Errorf("unexpected variable name near '%c' at position %d line : '%s'. Maybe you want to write a single '%%', use the syntax '%%%%'", c, i, text)
			default:
				// '%' and anything else: HAProxy drops the '%'.
				if c != 0 {
					warnings = append(warnings, fmt.Sprintf("the '%%' before '%c' at position %d is dropped, as HAProxy does; write '%%%%' for a '%%'", c, i))
				}
				cformat = lfInit
			}
		case lfStArg: // inside "%{"
			if c == '}' {
				cformat, argLen = lfEdArg, i-arg
			}
		case lfEdArg: // just after "%{...}"
			switch {
			case c == '[':
				cformat, varStart = lfStExpr, i+1
			case isAlnum(c):
				cformat, varStart = lfVar, i
			default:
				return nil, warnings, fmt.Errorf("parse argument modifier without variable name near '%%{%s}'", text[arg:arg+argLen])
			}
		case lfStExpr: // the first character of "%[expr]"
			end := exprEnd(text, varStart)
			expr := text[varStart:end]
			if end == len(text) {
				if expr == "" {
					return nil, warnings, fmt.Errorf("truncated line after '%%['")
				}
				return nil, warnings, fmt.Errorf("missing ']' after '%s'", expr)
			}
			if strings.TrimSpace(expr) == "" {
				return nil, warnings, fmt.Errorf("empty sample expression in '%%[]'")
			}
			n := 0
			for _, nd := range f.Nodes {
				if nd.Var == FormatSample {
					n++
				}
			}
			f.Nodes = append(f.Nodes, FormatNode{Var: FormatSample, Flags: flagsOf(opts, argText()), Text: expr, Sample: n})
			f.Needs |= NeedSamples
			i = end // the ']'
			cformat, pformat = lfEdExpr, lfEdExpr
			sp = i
		case lfVar:
			varLen = i - varStart
			if !isAlnum(c) {
				cformat = lfInit
			}
		default: // lfInit, lfText, lfSeparator, lfEnd, lfEdExpr
			cformat = lfInit
		}
		if cformat == lfInit {
			switch c {
			case '%':
				cformat = lfStartVar
			case 0:
				cformat = lfEnd
			case ' ':
				cformat = lfSeparator // spaces are separators, merged
			default:
				cformat = lfText
			}
		}
		if cformat != pformat || pformat == lfSeparator {
			switch pformat {
			case lfVar:
				if err := addVar(text[varStart : varStart+varLen]); err != nil {
					return nil, warnings, err
				}
			case lfText:
				addText(text[sp:i])
			case lfSeparator:
				if n := len(f.Nodes); n == 0 || f.Nodes[n-1].Var != FormatSeparator {
					f.Nodes = append(f.Nodes, FormatNode{Var: FormatSeparator})
				}
			}
			sp = i
		}
	}
	switch pformat {
	case lfStartVar:
		return nil, warnings, fmt.Errorf("truncated line after '%%'")
	case lfStArg:
		return nil, warnings, fmt.Errorf("truncated line after '%s'", text[arg:])
	}
	return f, warnings, nil
}

// exprEnd is the index of the ']' that closes a sample expression
// starting at i, or len(s): brackets inside parentheses (a converter's
// argument) or quotes do not close it.
func exprEnd(s string, i int) int {
	depth := 0
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			if depth > 0 {
				depth--
			}
		case c == ']' && depth == 0:
			return i
		}
	}
	return len(s)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isAlnum(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' }

// HasSamples reports whether f has %[...] sample expressions.
func (f *LineFormat) HasSamples() bool { return f != nil && f.Needs&NeedSamples != 0 }

// Uses reports whether f has a node of kind v.
func (f *LineFormat) Uses(v FormatVar) bool {
	if f == nil {
		return false
	}
	for _, n := range f.Nodes {
		if n.Var == v {
			return true
		}
	}
	return false
}
