package logging

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// cet is a fixed zone, so that the local dates do not depend on the
// machine's.
var cet = time.FixedZone("CET", 3600)

// richRecord has a value for every alias.
func richRecord() *engine.AccessRecord {
	r := record(engine.RecordHTTP, "GET /index.html?x=1 HTTP/1.1")
	r.Accept = time.Date(2009, time.February, 6, 12, 14, 14, 655e6, cet)
	r.Th, r.Ti, r.Td = 2, 5, 10
	r.BytesUp = 300
	r.Local = netip.MustParseAddrPort("10.0.3.31:8012")
	r.ServerAddr = netip.MustParseAddrPort("192.168.1.10:80")
	r.BackendSrc = netip.MustParseAddrPort("192.168.1.1:40000")
	r.Counter = 42
	r.TLS, r.TLSVersion, r.TLSCipher = true, "TLSv1.3", "TLS_AES_128_GCM_SHA256"
	r.BeQueue, r.SrvQueue, r.ActConn, r.FeConn, r.BeConn, r.SrvConn, r.Retries = 1, 2, 3, 4, 5, 6, 7
	return r
}

func render(t *testing.T, text string, mode config.Mode, r *engine.AccessRecord, e *lineEnv) string {
	t.Helper()
	f, _, err := config.ParseLineFormat("log-format", text, mode)
	if err != nil {
		t.Fatalf("%q: %v", text, err)
	}
	if e == nil {
		e = &lineEnv{host: "lb1", pid: 4242, count: 17}
	}
	return string(NewFormat(f, nil).Append(nil, r, e))
}

// Each alias alone, and with the flags that change it, as HAProxy's
// sess_build_logline writes them.
func TestFormatAliases(t *testing.T) {
	r := richRecord()
	accept := strconv.FormatInt(r.Accept.Unix(), 10)
	for _, tc := range []struct{ format, want string }{
		// Addresses and ports; +X is hexadecimal, +Q quotes addresses
		// (strings) but not ports (numbers).
		{"%ci:%cp", "10.0.1.2:33317"},
		{"%{+X}ci:%{+X}cp", "0A000102:8225"},
		{"%{+Q}ci:%{+Q}cp", `"10.0.1.2":33317`},
		{"%fi:%fp %{+X}fi:%{+X}fp", "10.0.3.31:8012 0A00031F:1F4C"},
		{"%bi:%bp", "192.168.1.1:40000"},
		{"%si:%sp", "192.168.1.10:80"},
		// Dates: accept date, request date (after Th and Ti: 7 ms),
		// GMT, local with the offset, Unix seconds, milliseconds.
		{"%t", "06/Feb/2009:12:14:14.655"},
		{"%tr", "06/Feb/2009:12:14:14.662"},
		{"%T", "06/Feb/2009:11:14:14 +0000"},
		{"%trg", "06/Feb/2009:11:14:14 +0000"},
		{"%Tl", "06/Feb/2009:12:14:14 +0100"},
		{"%trl", "06/Feb/2009:12:14:14 +0100"},
		{"%Ts", accept},
		{"%{+X}Ts", strings.ToUpper(strconv.FormatInt(r.Accept.Unix(), 16))},
		{"%ms %{+X}ms", "655 28F"},
		// Names.
		{"%f %ft %b %s", "http-in http-in~ static srv1"},
		{"%{+Q}f %{+Q}ft %{+Q}b %{+Q}s", `"http-in" "http-in~" "static" "srv1"`},
		{"%sslv %sslc", "TLSv1.3 TLS_AES_128_GCM_SHA256"},
		{"%H %pid %{+X}pid %lc %{+X}lc", "lb1 4242 1092 17 0011"},
		{"%rt %{+X}rt", "42 002A"},
		// Timers: TR = Tq-Th-Ti, Ta = Tt-Th-Ti, Tu = Tt-Ti.
		{"%Th/%Ti/%TR/%Tq/%Tw/%Tc/%Tr/%Td/%Ta/%Tt/%Tu", "2/5/3/10/0/30/69/10/102/109/104"},
		// Counts and states.
		{"%ST %B %U", "200 2750 300"},
		{"%ac/%fc/%bc/%sc/%rc %sq/%bq", "3/4/5/6/7 2/1"},
		{"%ts %tsc", "-- ----"},
		{"%CC %CS %{+Q}CC %{-M}CS|", `- - "" |`},
		{"%ID", "-"},
		// The request line and its parts.
		{"%r", "GET /index.html?x=1 HTTP/1.1"},
		{"%{+Q}r", `"GET /index.html?x=1 HTTP/1.1"`},
		{"%HM %HU %HP %HPO %HQ %HV", "GET /index.html?x=1 /index.html /index.html ?x=1 HTTP/1.1"},
		{"%{+Q}HM %{+Q}HQ", `"GET" "?x=1"`},
		// No captures: %hr and the others write nothing, and no space.
		{"a %hr %hs %hrl %hsl b", "a b"},
		// Separators: merged, none at the start, one at the end.
		{"  %ci   %cp  ", "10.0.1.2 33317 "},
		{"%%%ci%%", "%10.0.1.2%"},
	} {
		if got := render(t, tc.format, config.ModeHTTP, r, nil); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.format, got, tc.want)
		}
	}
}

func TestFormatRequestParts(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"GET /r/1 HTTP/1.1", "m=GET u=/r/1 p=/r/1 po=/r/1 q= v=HTTP/1.1"},
		// reg-tests/log/log_uri.vtc's absolute-form targets.
		{"GET http://localhost/r/4?q=4 HTTP/1.1", "m=GET u=http://localhost/r/4?q=4 p=http://localhost/r/4 po=/r/4 q=?q=4 v=HTTP/1.1"},
		{"GET http://localhost HTTP/1.0", "m=GET u=http://localhost p=http://localhost po= q= v=HTTP/1.0"},
		{"CONNECT example.com:443 HTTP/1.1", "m=CONNECT u=example.com:443 p=example.com:443 po= q= v=HTTP/1.1"},
		{"OPTIONS * HTTP/1.1", "m=OPTIONS u=* p=* po= q= v=HTTP/1.1"},
		// No complete request: HAProxy's <BADREQ>, except the query.
		{"", "m=<BADREQ> u=<BADREQ> p=<BADREQ> po=<BADREQ> q=<BADREQ> v=<BADREQ>"},
		// '"', '#' and bytes outside printable ASCII are '#XX'.
		{"GET /a\"b#c\x7f HTTP/1.1", "m=GET u=/a#22b#23c#7F p=/a#22b#23c#7F po=/a#22b#23c#7F q= v=HTTP/1.1"},
	} {
		r := richRecord()
		r.RequestLen = copy(r.Request[:], tc.line)
		if got := render(t, "m=%HM u=%HU p=%HP po=%HPO q=%HQ v=%HV", config.ModeHTTP, r, nil); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.line, got, tc.want)
		}
	}
}

// +E escapes '"', '\' and ']' for RFC 5424 structured data; in the
// request line the '#' encoding comes first, as in HAProxy.
func TestFormatEscape(t *testing.T) {
	r := richRecord()
	r.Backend, r.Server = `a"b]c\d`, ""
	r.RequestLen = copy(r.Request[:], `GET /x"y]z\ HTTP/1.1`)
	for _, tc := range []struct{ format, want string }{
		{"%{+E}b", `a\"b\]c\\d`},
		{"%{+Q,+E}b", `"a\"b\]c\\d"`},
		{"%b", `a"b]c\d`},
		{"%{+E}s|%{+E,+Q}s", `-|""`},
		{"%{+E}r", `GET /x#22y\]z\\ HTTP/1.1`},
		{"%{+E}HU", `/x#22y\]z\\`},
	} {
		if got := render(t, tc.format, config.ModeHTTP, r, nil); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.format, got, tc.want)
		}
	}
}

// What is not known is "-" under the M flag, empty without it or when
// quoted.
func TestFormatMissing(t *testing.T) {
	r := richRecord()
	r.Local, r.ServerAddr, r.BackendSrc, r.TLSVersion, r.TLSCipher = netip.AddrPort{}, netip.AddrPort{}, netip.AddrPort{}, "", ""
	for _, tc := range []struct{ format, want string }{
		{"%fi:%fp %bi:%bp %si:%sp %sslv %sslc", "-:- -:- -:- - -"},
		{"%{-M}o[%bi][%sslc]", "[][]"},
		{"%{+Q}bi %{+Q}sslc", `"" ""`},
	} {
		if got := render(t, tc.format, config.ModeHTTP, r, nil); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.format, got, tc.want)
		}
	}
	// A server on a Unix socket, and a Unix socket's client and bind:
	// "unix", and the listener's id as the client's and bind's port.
	r.ServerUnix = true
	r.Client, r.Listener = netip.AddrPort{}, 3
	if got := render(t, "%ci:%cp %fi:%fp %si:%sp", config.ModeHTTP, r, nil); got != "unix:3 unix:3 unix:0" {
		t.Errorf("unix: got %q", got)
	}
}

// "option logasap" marks the times and bytes that may be partial.
func TestFormatLogASAP(t *testing.T) {
	r := richRecord()
	r.ASAP = true
	if got, want := render(t, "%Tt %Ta %Tu %B %U %Tq", config.ModeHTTP, r, nil), "+109 +102 +104 +2750 300 10"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFormatRetries(t *testing.T) {
	r := richRecord()
	r.Retries, r.Redispatched = 2, true
	if got := render(t, "%rc", config.ModeHTTP, r, nil); got != "+2" {
		t.Errorf("got %q", got)
	}
}

// In tcp mode there is no idle time: Ti is -1, and Ta and %tr count
// from the accept; there is no HTTP transaction: %ST is 0, as HAProxy
// writes it.
func TestFormatTCPTimers(t *testing.T) {
	r := record(engine.RecordTCP, "")
	r.Accept = time.Date(2009, time.February, 6, 12, 14, 14, 655e6, cet)
	r.Tq, r.Tr, r.Th, r.Ti, r.Td = -1, -1, 3, -1, 79
	r.Status = -1
	if got, want := render(t, "%Th/%Ti/%Tw/%Tc/%Td/%Tt/%Tu [%t] %ST", config.ModeHTTP, r, nil), "3/-1/0/30/79/109/109 [06/Feb/2009:12:14:14.655] 0"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The client address is anonymised in every form.
func TestFormatAnonymized(t *testing.T) {
	r := richRecord()
	e := &lineEnv{anon: NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)}
	if got, want := render(t, "%ci %{+X}ci %{+Q}ci %fi", config.ModeHTTP, r, e), `10.0.1.0 0A000100 "10.0.1.0" 10.0.3.31`; got != want {
		t.Errorf("truncated: got %q, want %q", got, want)
	}
	e.anon = NewAnonymizer(config.LogAnonymize{Enabled: true, Hash: true}, nil)
	got := render(t, "%ci|%{+X}ci", config.ModeHTTP, r, e)
	a, b, _ := strings.Cut(got, "|")
	if len(a) != 1+hashLen || a[0] != 'h' || a != b {
		t.Errorf("hashed: got %q", got)
	}
}

type fakeSamples []string

func (f fakeSamples) AppendSample(dst []byte, expr int, _ *engine.AccessRecord) []byte {
	return append(dst, f[expr]...)
}

// The sample renderer is the rule language's hook: its values are
// written with the node's flags, and a unique id's are header-encoded.
func TestFormatSamples(t *testing.T) {
	lf, _, err := config.ParseLineFormat("log-format", `%[a] %{+Q}[b] %{+E}[c] %[d]`, config.ModeHTTP)
	if err != nil {
		t.Fatal(err)
	}
	samples := fakeSamples{"x", `q"q`, `e]e`, ""}
	e := &lineEnv{}
	if got, want := string(NewFormat(lf, samples).Append(nil, richRecord(), e)), `x "q"q" e\]e -`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := string(NewFormat(lf, nil).Append(nil, richRecord(), e)), `- "" - -`; got != want {
		t.Errorf("without a renderer: got %q, want %q", got, want)
	}
	uid, _, err := config.ParseLineFormat("unique-id-format", `%[a]-%[b]`, config.ModeHTTP)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(NewFormat(uid, fakeSamples{"a\r\nb", "c\td"}).Append(nil, richRecord(), e)), "a#0D#0Ab-c\td"; got != want {
		t.Errorf("unique id: got %q, want %q", got, want)
	}
}

// A format renders into the caller's buffer: no allocation per line.
func TestFormatAllocs(t *testing.T) {
	var all []string
	for v := config.VarBytes; v <= config.VarTermStateCk; v++ {
		all = append(all, "%"+config.FormatVarName(v), "%{+Q,+X,+E}"+config.FormatVarName(v))
	}
	lf, _, err := config.ParseLineFormat("log-format", strings.Join(all, " "), config.ModeHTTP)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFormat(lf, nil)
	r := richRecord()
	withCaptures(r, []string{"a", "<absent>"}, []string{"b|c"})
	for _, anon := range []*Anonymizer{nil, NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)} {
		e := &lineEnv{anon: anon, host: "lb1", pid: 1}
		buf := make([]byte, 0, 4096)
		if n := testing.AllocsPerRun(100, func() { buf = f.Append(buf[:0], r, e) }); n != 0 {
			t.Errorf("anonymizer %v: %v allocations per line", anon != nil, n)
		}
	}
}

// withCaptures gives r two request slots and three response slots.
func withCaptures(r *engine.AccessRecord, req, rsp []string) {
	c := &r.Caps
	c.NReq, c.NRsp = uint8(len(req)), uint8(len(rsp))
	off := 0
	for i, v := range append(append([]string(nil), req...), rsp...) {
		c.Off[i] = uint16(off)
		if v == "<absent>" {
			c.Len[i] = -1
			continue
		}
		c.Len[i] = int16(copy(c.Text[off:], v))
		off += len(v)
	}
}

// Captured headers, as HAProxy writes them: in braces, '|' between them,
// '"', '#', '{', '|', '}' and non-printable bytes written '#XX'; the list
// forms one field each, "-" for an absent header unless quoted.
func TestFormatCaptures(t *testing.T) {
	r := richRecord()
	withCaptures(r, []string{"www.example.com", "<absent>"}, []string{"", "a{b|c}d\"#", "<absent>"})
	for _, tc := range []struct{ format, want string }{
		{"%hr %hs", `{www.example.com|} {|a#7Bb#7Cc#7Dd#22#23|}`},
		{"%{+Q}hr %{+Q}hs", `"{www.example.com|}" "{|a#7Bb#7Cc#7Dd#22#23|}"`},
		{"%hrl %hsl", `www.example.com -  a#7Bb#7Cc#7Dd#22#23 -`},
		{"%{+Q}hrl %{+Q}hsl", `"www.example.com" "" "" "a#7Bb#7Cc#7Dd#22#23" ""`},
		{"%{+E}hs", `{|a#7Bb#7Cc#7Dd#22#23|}`},
	} {
		if got := render(t, tc.format, config.ModeHTTP, r, nil); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.format, got, tc.want)
		}
	}
	// httplog shows them before the request, as HAProxy's example does.
	r = record(engine.RecordHTTP, "GET /index.html HTTP/1.1")
	withCaptures(r, []string{"1wt.eu"}, []string{""})
	want := `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"`
	if got := string(AppendRecord(nil, r, nil)); got != want {
		t.Errorf("httplog:\n got %s\nwant %s", got, want)
	}
	// Request captures only: the response block is left out entirely.
	r.Caps.NRsp = 0
	want = `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} "GET /index.html HTTP/1.1"`
	if got := string(AppendRecord(nil, r, nil)); got != want {
		t.Errorf("httplog, request captures only:\n got %s\nwant %s", got, want)
	}
}

// JSON has the captures and the unique id as fields of their own.
func TestJSONCaptures(t *testing.T) {
	r := richRecord()
	withCaptures(r, []string{"h", "<absent>"}, []string{"x\"y"})
	var m map[string]any
	if err := json.Unmarshal(newJSONEncoder().record(nil, r, nil), &m); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(m["captured_request_headers"], m["captured_response_headers"]); got != `[h ] [x"y]` {
		t.Errorf("got %s", got)
	}
	m = nil
	if err := json.Unmarshal(newJSONEncoder().record(nil, richRecord(), nil), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["captured_request_headers"]; ok {
		t.Errorf("captures without capture lines: %v", m)
	}
	if _, ok := m["unique_id"]; ok {
		t.Errorf("a unique id without one: %v", m)
	}
	r = richRecord()
	r.IDLen = copy(r.ID[:], "7F000001:8296")
	m = nil
	if err := json.Unmarshal(newJSONEncoder().record(nil, r, nil), &m); err != nil {
		t.Fatal(err)
	}
	if m["unique_id"] != "7F000001:8296" {
		t.Errorf("unique_id %v", m["unique_id"])
	}
}

// "option httplog clf": HAProxy's CLF format, quoted strings, GMT date.
func TestFormatCLF(t *testing.T) {
	r := record(engine.RecordHTTP, "GET /index.html HTTP/1.1")
	r.Accept = time.Date(2009, time.February, 6, 12, 14, 14, 655e6, cet)
	want := `10.0.1.2 - - [06/Feb/2009:11:14:14 +0000] "GET /index.html HTTP/1.1" 200 2750 "" "" 33317 655 "http-in" "static" "srv1" 10 0 30 69 109 ---- 1 1 1 1 0 0 0 "" "" `
	if got := render(t, config.CLFLogFormat, config.ModeHTTP, r, nil); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// Folding separators into the node before them changes no line: random
// formats rendered folded and node by node, with and without captures.
func TestFormatSeparatorFolding(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	tokens := []string{" ", "  ", "-", "/", "%hr", "%hs", "%hrl", "%hsl", "%ci", "%HQ", "%{-M}bi", "%[s]", "%%", "%{+Q}o", "%{-Q}o"}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n := rng.Intn(10); n >= 0; n-- {
			b.WriteString(tokens[rng.Intn(len(tokens))])
		}
		lf, _, err := config.ParseLineFormat("log-format", b.String(), config.ModeHTTP)
		if err != nil {
			t.Fatalf("%q: %v", b.String(), err)
		}
		unfolded := &Format{}
		for _, n := range lf.Nodes {
			unfolded.ops = append(unfolded.ops, op{FormatNode: n})
		}
		for _, caps := range []bool{false, true} {
			r := richRecord()
			r.BackendSrc = netip.AddrPort{}
			if caps {
				withCaptures(r, []string{"a"}, []string{"<absent>"})
			}
			got := string(NewFormat(lf, nil).Append(nil, r, &lineEnv{}))
			if want := string(unfolded.Append(nil, r, &lineEnv{})); got != want {
				t.Fatalf("%q (captures %v): got %q, want %q", b.String(), caps, got, want)
			}
		}
	}
}
