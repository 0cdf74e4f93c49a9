package config

import (
	"reflect"
	"testing"
)

// Arguments are unquoted as HAProxy's make_arg_list does: a backslash
// escapes only a backslash, a quote or a space (and writes \r, \n, \t);
// before anything else it stays, so that "\1" reaches regsub and "\."
// a regular expression. Single quotes take everything as written.
func TestSplitCallsArguments(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]string // each call's name then its arguments
	}{
		{`path`, [][]string{{"path"}}},
		{`f()`, [][]string{{"f"}}},
		{`f(a,b),g,h(c)`, [][]string{{"f", "a", "b"}, {"g"}, {"h", "c"}}},
		{`f(a,,)`, [][]string{{"f", "a", "", ""}}},
		{`f("a,b",'c)d')`, [][]string{{"f", "a,b", "c)d"}}},
		{`f(\1,a\.b)`, [][]string{{"f", `\1`, `a\.b`}}},
		{`f("\2\1")`, [][]string{{"f", `\2\1`}}},
		{`f('\\x\"')`, [][]string{{"f", `\\x\"`}}},
		{`f(\\,\",\',\ )`, [][]string{{"f", `\`, `"`, `'`, ` `}}},
		{`f(\t\r\n)`, [][]string{{"f", "\t\r\n"}}},
		{`f("\"q\"")`, [][]string{{"f", `"q"`}}},
		// "\," is a lone backslash, and the comma ends the argument.
		{`f(a\,b)`, [][]string{{"f", `a\`, "b"}}},
		{`f(a\)`, [][]string{{"f", `a\`}}},
	} {
		calls, err := splitCalls(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		var got [][]string
		for _, c := range calls {
			got = append(got, append([]string{c.name}, c.args...))
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Map keys read as HAProxy's pat_parse_int and pat_parse_ip read them,
// values as map_parse_int.
func TestMapKeysAndValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want IntRange
		ok   bool
	}{
		{"80", IntRange{Min: 80, Max: 80, HasMin: true, HasMax: true}, true},
		{"1024:", IntRange{Min: 1024, HasMin: true}, true},
		{":1023", IntRange{Max: 1023, HasMax: true}, true},
		{"8000-8999", IntRange{Min: 8000, Max: 8999, HasMin: true, HasMax: true}, true},
		{"-5", IntRange{Max: 5, HasMax: true}, true}, // '-' is a separator: up to 5
		{"5-", IntRange{Min: 5, HasMin: true}, true},
		{"3:-1", IntRange{}, false}, // 3 > -1
		{"9-3", IntRange{}, false},
		{"-", IntRange{}, false},
		{"1x", IntRange{}, false},
		{"1+", IntRange{}, false}, // HAProxy's strl2llrc would read 5
	} {
		got, ok := parseMapIntKey(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("parseMapIntKey(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in, net string // net "": refused; "mask": a netmask that is not contiguous
	}{
		{"10.1.2.3", "10.1.2.3/32"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"10.1.2.3/255.255.0.0", "10.1.0.0/16"},
		{"10.1.2.3/255.0.255.0", "mask"},
		{"2001:db8::1/32", "2001:db8::/32"},
		{"::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104"},
		{"10.1.2.3/33", ""},
		{"10.1.2.3/", ""},
		{"010.1.2.3", ""},
		{"example.com", ""}, // no DNS
		{"fe80::1%eth0", ""},
	} {
		got, ok := parseMapIPKey(tc.in)
		switch {
		case tc.net == "":
			if ok {
				t.Errorf("parseMapIPKey(%q) = %+v, want a refusal", tc.in, got)
			}
		case tc.net == "mask":
			if !ok || got.Net.IsValid() {
				t.Errorf("parseMapIPKey(%q) = %+v, %v; want a non-contiguous mask", tc.in, got, ok)
			}
		case !ok || got.Net.String() != tc.net:
			t.Errorf("parseMapIPKey(%q) = %+v, %v; want %s", tc.in, got, ok, tc.net)
		}
	}
	for in, want := range map[string]int64{"": 0, "-": 0, "+7": 7, "-7": -7, "99999999999999999999": 1<<63 - 1, "-99999999999999999999": -1 << 63} {
		if got, ok := parseMapInt(in); !ok || got != want {
			t.Errorf("parseMapInt(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"1x", " 1", "0x10", "1.5"} {
		if _, ok := parseMapInt(in); ok {
			t.Errorf("parseMapInt(%q) accepted", in)
		}
	}
}

// ParseSampleAddr reads addresses as HAProxy's c_str2addr.
func TestParseSampleAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1": "10.0.0.1", "10.0.0.1:80": "10.0.0.1", "010.000.0.1": "10.0.0.1",
		"2001:db8::1": "2001:db8::1", "::ffff:1.2.3.4": "::ffff:1.2.3.4",
		"10.0.0": "", "10.0.0.256": "", "1.2.3.4.5": "", "fe80::1%eth0": "", "": "", "x": "",
		"10..0.1": "", ".10.0.0.1": "",
	} {
		a, ok := ParseSampleAddr(in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("ParseSampleAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// ACL integer patterns are cut at the first ':' or '-', as HAProxy's
// pat_parse_int and pat_parse_dotted_ver cut them.
func TestACLIntPatternRanges(t *testing.T) {
	full := func(lo, hi int64) IntRange { return IntRange{Min: lo, Max: hi, HasMin: true, HasMax: true} }
	for _, tc := range []struct {
		in      string
		version bool
		want    IntRange
		err     string
	}{
		{in: "443", want: full(443, 443)},
		{in: "1024:65535", want: full(1024, 65535)},
		{in: "8000-8999", want: full(8000, 8999)},
		{in: "-5", want: IntRange{Max: 5, HasMax: true}},
		{in: "1024-", want: IntRange{Min: 1024, HasMin: true}},
		{in: "3.0-3.3", version: true, want: full(3<<16, 3<<16|3)},
		{in: "9-3", err: "the range '9-3' is empty"},
		{in: "1:-2", err: "the range '1:-2' is empty"},
		{in: "-", err: "'-' is not a range: give at least one end"},
		{in: "x-2", err: "'x' in 'x-2' is not an integer"},
	} {
		got, err := parseIntRange(tc.in, tc.version)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: got %+v, %v; want error %q", tc.in, got, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%q: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// Config.SampleReads gathers what every expression reads, wherever it
// stands: the engine keeps the request line only when capture.req.* may
// read it.
func TestSampleReadsGathered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines string
		want  bool
	}{
		{"no capture fetch", "  http-request set-header X-P %[path]", false},
		{"in an ACL", "  http-request deny if { capture.req.uri /x }", true},
		{"in a log-format string", "  http-request set-header X-M %[capture.req.method]", true},
		{"in a log format", "  log-format \"%[capture.res.ver]\"", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := parseWith(t, testResolver(), httpFE(tc.lines))
			if errs != nil {
				t.Fatal(errs)
			}
			if got := cfg.SampleReads&ReadsCapture != 0; got != tc.want {
				t.Errorf("ReadsCapture %v, want %v", got, tc.want)
			}
		})
	}
}
