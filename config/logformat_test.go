package config

import (
	"fmt"
	"strings"
	"testing"
)

// nodesString writes a format's nodes compactly: aliases as %name{flags},
// text in quotes, separators as _, samples as [expr]{flags}#n.
func nodesString(f *LineFormat) string {
	var b strings.Builder
	for i, n := range f.Nodes {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch n.Var {
		case FormatText:
			fmt.Fprintf(&b, "%q", n.Text)
		case FormatSeparator:
			b.WriteByte('_')
		case FormatSample:
			fmt.Fprintf(&b, "[%s]#%d", n.Text, n.Sample)
		default:
			b.WriteString("%" + FormatVarName(n.Var))
		}
		if n.Var != FormatText && n.Var != FormatSeparator && n.Flags != FlagMandatory {
			b.WriteByte('{')
			for _, fl := range formatFlagNames {
				if n.Flags&fl.flag != 0 {
					b.WriteString(fl.name)
				}
			}
			b.WriteByte('}')
		}
	}
	return b.String()
}

func TestParseLineFormat(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		needs    FormatNeeds
	}{
		{`%ci:%cp`, `%ci ":" %cp`, 0},
		{`%ci:%cp [%tr] lr=x`, `%ci ":" %cp _ "[" %tr "]" _ "lr=x"`, 0},
		// Spaces are separators, merged; at the start too (HAProxy
		// drops a leading one when it renders).
		{` a   b `, `_ "a" _ "b" _`, 0},
		{`%%`, `"%"`, 0},
		{`100%%`, `"100%"`, 0},
		{`a%%b%%`, `"a%b%"`, 0},
		// The longest run of letters and digits names the alias.
		{`%Tw/%Tc/%Tt`, `%Tw "/" %Tc "/" %Tt`, 0},
		{`%HPO%HP`, `%HPO %HP`, 0},
		{`%Tc_x`, `%Tc "_x"`, 0},
		// Flags: a node's own, and %o's for every node after it.
		{`%{+Q}r`, `%r{MQ}`, 0},
		{`%{-M}b`, `%b{}`, 0},
		{`%{+Q,+E}o %t %{-Q}ci %s`, `_ %t{MQE} _ %ci{ME} _ %s{MQE}`, 0},
		{`%{+X}o %ci:%cp_%fi:%fp_%Ts_%rt:%pid`, `_ %ci{MX} ":" %cp{MX} "_" %fi{MX} ":" %fp{MX} "_" %Ts{MX} "_" %rt{MX} ":" %pid{MX}`, NeedFrontendAddr | NeedCounter},
		// Sample expressions keep their text, numbered in order.
		{`%[src] %{+Q}[req.hdr(host),lower]`, `[src]#0 _ [req.hdr(host),lower]#1{MQ}`, NeedSamples},
		{`%[str(a]b)]x`, `[str(a]b)]#0 "x"`, NeedSamples},
		{`%[str("]")]`, `[str("]")]#0`, NeedSamples},
		{`%bi:%bp %si:%sp %ID`, `%bi ":" %bp _ %si ":" %sp _ %ID`, NeedBackendSrc | NeedServerAddr},
		// JSON as reg-tests/log/wrong_ip_port_logging.vtc writes it.
		{`{"dip":"%fi","ts":"%ts"}`, `"{\"dip\":\"" %fi "\",\"ts\":\"" %ts "\"}"`, NeedFrontendAddr},
	} {
		f, warnings, err := ParseLineFormat("log-format", tc.in, ModeHTTP)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if len(warnings) > 0 {
			t.Errorf("%q: warnings %q", tc.in, warnings)
		}
		if got := nodesString(f); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
		if f.Needs != tc.needs {
			t.Errorf("%q: needs %b, want %b", tc.in, f.Needs, tc.needs)
		}
	}
}

// A unique-id-format has no M flag: an empty value is written empty.
func TestParseUniqueIDFormat(t *testing.T) {
	f, _, err := ParseLineFormat("unique-id-format", `%ID-%{+M}ci`, ModeHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if got := nodesString(f); got != `%ID{} "-" %ci` {
		t.Errorf("got %s", got)
	}
}

func TestParseLineFormatErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode Mode
		want string
	}{
		{`%Xyz`, ModeHTTP, "no such format variable 'Xyz'. If you wanted to emit the '%' character verbatim, you need to use '%%' (the variables are: %B %CC %CS %H %HM %HP %HPO %HQ %HU %HV %ID %ST %T %TR %Ta %Tc %Td %Th %Ti %Tl %Tq %Tr %Ts %Tt %Tu %Tw %U %ac %b %bc %bi %bp %bq %ci %cp %f %fc %fi %fp %ft %hr %hrl %hs %hsl %lc %ms %o %pid %r %rc %rt %s %sc %si %sp %sq %sslc %sslv %t %tr %trg %trl %ts %tsc)"},
		{`%ci %HPx`, ModeHTTP, "no such format variable 'HPx'"},
		{`%{+Q}r`, ModeTCP, "format variable 'r' is reserved for HTTP mode"},
		{`%TR`, ModeTCP, "format variable 'TR' is reserved for HTTP mode"},
		{`abc%`, ModeHTTP, "truncated line after '%'"},
		{`%{+Q`, ModeHTTP, "truncated line after '+Q'"},
		{`%{+Q} x`, ModeHTTP, "parse argument modifier without variable name near '%{+Q}'"},
		{`%[src`, ModeHTTP, "missing ']' after 'src'"},
		{`%[`, ModeHTTP, "truncated line after '%['"},
		{`%[]`, ModeHTTP, "empty sample expression"},
		{`%1`, ModeHTTP, "unexpected variable name near '1' at position 1"},
		{`% x`, ModeHTTP, "unexpected variable name near ' '"},
		{"a\x00b", ModeHTTP, "NUL"},
	} {
		_, _, err := ParseLineFormat("log-format", tc.in, tc.mode)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q (%s): got %v, want %q", tc.in, tc.mode, err, tc.want)
		}
	}
}

// What HAProxy silently does differently from what was probably meant
// is accepted, with a warning.
func TestParseLineFormatWarnings(t *testing.T) {
	for _, tc := range []struct{ in, nodes, warning string }{
		{`%{+Z}r`, `%r`, "unknown flag 'Z' ignored"},
		{`%{Q}r`, `%r`, "flag 'Q' ignored: flags are written +FLAG or -FLAG"},
		{`50%-x`, `"50-x"`, "the '%' before '-' at position 3 is dropped"},
	} {
		f, warnings, err := ParseLineFormat("log-format", tc.in, ModeHTTP)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := nodesString(f); got != tc.nodes {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.nodes)
		}
		if len(warnings) != 1 || !strings.Contains(warnings[0], tc.warning) {
			t.Errorf("%q: warnings %q, want %q", tc.in, warnings, tc.warning)
		}
	}
}

// The predefined formats compile, for the modes they are used in.
func TestPredefinedLineFormats(t *testing.T) {
	for _, tc := range []struct {
		text string
		mode Mode
	}{{HTTPLogFormat, ModeHTTP}, {HTTPLogFormat2, ModeHTTP}, {CLFLogFormat, ModeHTTP}, {TCPLogFormat, ModeTCP}} {
		f := MustParseLineFormat(tc.text, tc.mode)
		if f.Needs != 0 || len(f.Nodes) < 10 {
			t.Errorf("%s: needs %b, %d nodes", tc.text, f.Needs, len(f.Nodes))
		}
	}
	if _, _, err := ParseLineFormat("log-format", HTTPLogFormat, ModeTCP); err == nil {
		t.Error("httplog's format compiled for mode tcp")
	}
}

// Every alias of the table has a name that finds it again, and the table
// names each variable once.
func TestFormatVarTable(t *testing.T) {
	seen := map[FormatVar]bool{}
	for _, fv := range formatVars {
		if seen[fv.v] {
			t.Errorf("%s: variable listed twice", fv.name)
		}
		seen[fv.v] = true
		if fv.v != formatGlobal && FormatVarName(fv.v) != fv.name {
			t.Errorf("%s: FormatVarName gives %q", fv.name, FormatVarName(fv.v))
		}
		f, _, err := ParseLineFormat("log-format", "%"+fv.name, ModeHTTP)
		if err != nil {
			t.Errorf("%%%s: %v", fv.name, err)
			continue
		}
		if fv.v != formatGlobal && (len(f.Nodes) != 1 || f.Nodes[0].Var != fv.v) {
			t.Errorf("%%%s: nodes %s", fv.name, nodesString(f))
		}
	}
	for v := VarBytes; v <= VarTermStateCk; v++ {
		if !seen[v] {
			t.Errorf("variable %d has no alias", v)
		}
	}
}

func FuzzParseLineFormat(f *testing.F) {
	for _, s := range []string{HTTPLogFormat, TCPLogFormat, CLFLogFormat, `%{+Q,+E}o %[src,lower] %%`, `%{`, `%[a(])]`, `% %`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lf, _, err := ParseLineFormat("log-format", s, ModeHTTP)
		if err != nil {
			return
		}
		samples := 0
		for i, n := range lf.Nodes {
			switch n.Var {
			case FormatText:
				if n.Text == "" {
					t.Fatalf("%q: empty text node", s)
				}
				if i > 0 && lf.Nodes[i-1].Var == FormatText {
					t.Fatalf("%q: two text nodes in a row", s)
				}
			case FormatSeparator:
				if i > 0 && lf.Nodes[i-1].Var == FormatSeparator {
					t.Fatalf("%q: two separators in a row", s)
				}
			case FormatSample:
				if n.Sample != samples || !strings.Contains(s, n.Text) {
					t.Fatalf("%q: sample node %+v", s, n)
				}
				samples++
			}
		}
	})
}
