package config

import (
	"fmt"
	"strings"
	"testing"
)

// diagnostics lists a configuration's notices and warnings as text.
func diagnostics(cfg *Config) string {
	var out []string
	for _, d := range cfg.Diagnostics {
		out = append(out, d.String())
	}
	return strings.Join(out, "\n")
}

func TestLogFormatKeyword(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		format     string // the frontend's LogFormat text, "" for none
		httplog    bool
		diag       string // a phrase of a diagnostic, or "" for none
	}{
		{"frontend", httpFE(`  log-format "%ci %{+Q}r"`), "%ci %{+Q}r", false, ""},
		{"escaped spaces", httpFE(`  log-format %ci\ %r`), "%ci %r", false, ""},
		{"from defaults", lines("defaults", "  mode http", `  log-format "%ci %HU"`) + httpFE(), "%ci %HU", false, ""},
		// The last of log-format, option httplog and option tcplog
		// decides, as in HAProxy.
		{"option after", lines("defaults", "  mode http", `  log-format "%ci"`) + httpFE("  option httplog"), "", true, ""},
		{"format after", lines("defaults", "  mode http", "  option httplog") + httpFE(`  log-format "%ci"`), "%ci", false, ""},
		{"override warning", lines("defaults", "  mode http", "  option httplog", `  log-format "%ci"`) + httpFE(),
			"%ci", false, "[test.cfg:4] : 'log-format' overrides previous 'option httplog' in 'defaults' section"},
		{"flag warning", httpFE(`  log-format "%{+Z}ci"`), "%{+Z}ci", false, "[test.cfg:5] : 'log-format': unknown flag 'Z' ignored"},
		{"tcp", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", `  log-format "%ci %ts %B"`, "backend be"), "%ci %ts %B", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.text)
			fe := cfg.Frontends()[0]
			got := ""
			if fe.LogFormat != nil {
				got = fe.LogFormat.Text
				if fe.LogFormat.Pos.File != testFile || fe.LogFormat.Pos.Line == 0 {
					t.Errorf("format position %v", fe.LogFormat.Pos)
				}
			}
			if got != tc.format || fe.HTTPLog != tc.httplog {
				t.Errorf("format %q httplog %v, want %q %v", got, fe.HTTPLog, tc.format, tc.httplog)
			}
			d := diagnostics(cfg)
			if tc.diag == "" && d != "" || !strings.Contains(d, tc.diag) {
				t.Errorf("diagnostics %q, want %q", d, tc.diag)
			}
		})
	}
}

func TestLogFormatKeywordErrors(t *testing.T) {
	for _, tc := range []errCase{
		{"no argument", httpFE("  log-format #ERR"), []string{"'log-format' expects a format string"}},
		{"two arguments", httpFE("  log-format %ci %cp #ERR"), []string{"expects only one argument, don't forget to escape spaces! (found '%cp' after the format)"}},
		{"unknown alias", httpFE(`  log-format "%ci %foo" #ERR`), []string{"failed to parse log-format: no such format variable 'foo'", "(the variables are: %B %CC", "%tsc)"}},
		{"unknown fetch in a sample", httpFE(`  log-format "%ci %[nope]" #ERR`), []string{"'log-format': ", "unknown sample fetch 'nope'"}},
		{"too many samples", httpFE(`  log-format "%[src]%[src]%[src]%[src]%[src]%[src]%[src]%[src]%[src]" #ERR`), []string{"more than 8 sample expressions"}},
		{"in a backend", tcpBE(`  log-format "%ci" #ERR`), []string{"'log-format' is not allowed in a 'backend' section (allowed in: defaults, frontend, listen)"}},
		// An HTTP alias in a tcp frontend is reported at the format's
		// line, naming the frontend, also when a defaults section set it.
		{"http alias in tcp", lines("frontend fe", "  bind 127.0.0.1:8000", `  log-format "%ci %HU" #ERR`, "  default_backend be", "backend be"),
			[]string{"frontend 'fe': failed to parse log-format: format variable 'HU' is reserved for HTTP mode"}},
		{"http alias from defaults", lines("defaults", `  log-format "%r" #ERR`, "frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", "backend be"),
			[]string{"frontend 'fe': failed to parse log-format: format variable 'r' is reserved for HTTP mode"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrors(t, nil, tc) })
	}
}

func TestCaptureKeyword(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  capture request header Host len 15",
		"  capture response header Content-Length len 9",
		"  declare capture request len 32",
		"  capture request header X-Forwarded-For len 15",
	))
	fe := cfg.Frontends()[0]
	if got := fmt.Sprint(fe.CaptureRequest, fe.CaptureResponse); got != "[{test.cfg:5 Host 15} {test.cfg:7  32} {test.cfg:8 X-Forwarded-For 15}] [{test.cfg:6 Content-Length 9}]" {
		t.Errorf("captures %s", got)
	}
	if d := diagnostics(cfg); d != "" {
		t.Errorf("diagnostics %q", d)
	}
	// In mode tcp a header capture captures nothing: a warning.
	cfg = mustParse(t, lines("frontend fe", "  bind 127.0.0.1:8000", "  capture request header Host len 5", "  default_backend be", "backend be"))
	if d := diagnostics(cfg); !strings.Contains(d, "[test.cfg:3] : frontend 'fe' is in mode tcp: a header capture captures nothing there") {
		t.Errorf("diagnostics %q", d)
	}
}

func TestCaptureKeywordErrors(t *testing.T) {
	many := []string{}
	for i := 0; i < MaxCaptures; i++ {
		many = append(many, fmt.Sprintf("  capture request header H%d len 1", i))
	}
	for _, tc := range []errCase{
		{"cookie", httpFE("  capture cookie SRV len 10 #ERR"), []string{"'capture cookie' is not supported"}},
		{"no header", httpFE("  capture request Host len 10 #ERR"), []string{"'capture' expects 'request header NAME len LENGTH'"}},
		{"no len", httpFE("  capture request header Host 10 #ERR"), []string{"'capture request header' expects NAME len LENGTH"}},
		{"bad length", httpFE("  capture response header Host len x #ERR"), []string{"capture response header len"}},
		{"zero length", httpFE("  capture response header Host len 0 #ERR"), []string{"capture response header len"}},
		{"bad name", httpFE("  capture request header Ho:st len 3 #ERR"), []string{"invalid header name 'Ho:st'"}},
		{"too long", httpFE("  capture request header A len 1000", "  capture response header B len 25 #ERR"),
			[]string{"the captures of frontend 'fe' would keep 1025 bytes per request; fjord keeps at most 1024"}},
		{"too many", httpFE(append(many, "  capture request header X len 1 #ERR")...), []string{"fjord keeps at most 16 per direction"}},
		{"declare", httpFE("  declare capture request 10 #ERR"), []string{"'declare' expects 'capture request len LENGTH'"}},
		{"in defaults", lines("defaults", "  capture request header Host len 5 #ERR") + httpFE(), []string{"'capture' is not allowed in a 'defaults' section (allowed in: frontend, listen)"}},
		{"in a backend", tcpBE("  capture request header Host len 5 #ERR"), []string{"'capture' is not allowed in a 'backend' section"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrors(t, nil, tc) })
	}
}

func TestUniqueIDKeywords(t *testing.T) {
	cfg := mustParse(t, lines("defaults", "  mode http", `  unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid`, "  unique-id-header X-Unique-ID")+httpFE())
	fe := cfg.Frontends()[0]
	if fe.UniqueIDFormat == nil || fe.UniqueIDFormat.Text != "%{+X}o %ci:%cp_%fi:%fp_%Ts_%rt:%pid" || fe.UniqueIDHeader != "X-Unique-ID" {
		t.Fatalf("unique id %+v %q", fe.UniqueIDFormat, fe.UniqueIDHeader)
	}
	if want := NeedFrontendAddr | NeedCounter; fe.UniqueIDFormat.Needs != want {
		t.Errorf("needs %b, want %b", fe.UniqueIDFormat.Needs, want)
	}
	// An empty value is written empty in a unique id: no M flag.
	for _, n := range fe.UniqueIDFormat.Nodes {
		if n.Flags&FlagMandatory != 0 {
			t.Errorf("node %+v has the M flag", n)
		}
	}
	if d := diagnostics(cfg); d != "" {
		t.Errorf("diagnostics %q", d)
	}
	for _, tc := range []struct{ text, diag string }{
		{httpFE("  unique-id-header X-ID"), "frontend 'fe': 'unique-id-header X-ID' has no effect without 'unique-id-format'"},
		{lines("frontend fe", "  bind 127.0.0.1:8000", "  unique-id-format %ci", "  unique-id-header X-ID", "  default_backend be", "backend be"),
			"frontend 'fe': 'unique-id-header X-ID' has no effect in mode tcp"},
	} {
		if d := diagnostics(mustParse(t, tc.text)); !strings.Contains(d, tc.diag) {
			t.Errorf("diagnostics %q, want %q", d, tc.diag)
		}
	}
}

func TestUniqueIDKeywordErrors(t *testing.T) {
	for _, tc := range []errCase{
		{"no format", httpFE("  unique-id-format #ERR"), []string{"'unique-id-format' expects a format string"}},
		{"unescaped space", httpFE("  unique-id-format %ci %cp #ERR"), []string{"'unique-id-format' expects only one argument, don't forget to escape spaces!"}},
		{"unknown alias", httpFE("  unique-id-format %cx #ERR"), []string{"failed to parse unique-id-format: no such format variable 'cx'"}},
		{"sample reading the response", httpFE("  unique-id-format %[status] #ERR"), []string{"%[status] reads the response"}},
		{"http alias in tcp", lines("frontend fe", "  bind 127.0.0.1:8000", "  unique-id-format %HU #ERR", "  default_backend be", "backend be"),
			[]string{"frontend 'fe': failed to parse unique-id-format: format variable 'HU' is reserved for HTTP mode"}},
		{"no header", httpFE("  unique-id-header #ERR"), []string{"'unique-id-header' expects a header name"}},
		{"bad header", httpFE("  unique-id-header X:ID #ERR"), []string{"invalid header name 'X:ID'"}},
		{"in a backend", tcpBE("  unique-id-format %ci #ERR"), []string{"'unique-id-format' is not allowed in a 'backend' section"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrors(t, nil, tc) })
	}
}

func TestLogFormatSDKeyword(t *testing.T) {
	cfg := mustParse(t, httpFE(`  log-format-sd [exampleSDID@1234\ bytes=\"%B\"\ status=\"%ST\"]`))
	if f := cfg.Frontends()[0].LogFormatSD; f == nil || f.Keyword != "log-format-sd" || f.Text != `[exampleSDID@1234 bytes="%B" status="%ST"]` {
		t.Fatalf("log-format-sd %+v", f)
	}
	checkErrors(t, nil, errCase{"http alias in tcp", lines("frontend fe", "  bind 127.0.0.1:8000", `  log-format-sd [x\ u=\"%HU\"] #ERR`, "  default_backend be", "backend be"),
		[]string{"frontend 'fe': failed to parse log-format-sd: format variable 'HU' is reserved for HTTP mode"}})
}

// "option httplog clf" is HAProxy's CLF format; in a tcp frontend it
// falls back to tcplog, as httplog does.
func TestOptionHTTPLogCLF(t *testing.T) {
	fe := mustParse(t, httpFE("  option httplog clf")).Frontends()[0]
	if !fe.HTTPLog || fe.LogFormat == nil || fe.LogFormat.Text != CLFLogFormat || fe.LogFormat.Keyword != "option httplog clf" || fe.LogFormat.Pos.Line != 5 {
		t.Errorf("httplog %v format %+v", fe.HTTPLog, fe.LogFormat)
	}
	fe = mustParse(t, httpFE("  option httplog clf", "  no option httplog")).Frontends()[0]
	if fe.HTTPLog || fe.LogFormat != nil {
		t.Errorf("after 'no option httplog': httplog %v format %+v", fe.HTTPLog, fe.LogFormat)
	}
	fe = mustParse(t, httpFE("  option httplog clf", "  option httplog")).Frontends()[0]
	if !fe.HTTPLog || fe.LogFormat != nil {
		t.Errorf("after 'option httplog': httplog %v format %+v", fe.HTTPLog, fe.LogFormat)
	}
	cfg := mustParse(t, lines("defaults", "  option httplog clf", "frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", "backend be"))
	if fe := cfg.Frontends()[0]; fe.LogFormat != nil || !fe.HTTPLog {
		t.Errorf("tcp frontend: httplog %v format %+v", fe.HTTPLog, fe.LogFormat)
	}
	if d := diagnostics(cfg); !strings.Contains(d, "'option httplog' needs 'mode http'; falling back to 'option tcplog'") {
		t.Errorf("diagnostics %q", d)
	}
}

func TestLogSample(t *testing.T) {
	cfg := mustParse(t, global("  log 127.0.0.1:514 sample 1,3-4:7 local0"))
	if d := diagnostics(cfg); !strings.Contains(d, "[NOTICE] parsing [test.cfg:2] : 'log ... sample' samples traffic lines only") {
		t.Errorf("diagnostics %q", d)
	}
	smp := cfg.Global.Logs[0].Sample
	if smp == nil || fmt.Sprint(smp.Ranges, smp.Size) != "[[1 1] [3 4]] 7" {
		t.Fatalf("sample %+v", smp)
	}
	var kept []int
	for n := uint64(0); n < 14; n++ {
		if smp.Keeps(n) {
			kept = append(kept, int(n)+1)
		}
	}
	if fmt.Sprint(kept) != "[1 3 4 8 10 11]" {
		t.Errorf("lines kept %v", kept)
	}
}

// A tcp proxy's formats are read again for its mode; their %[expr]
// nodes keep the expressions read the first time.
func TestLogFormatSamplesInTCPMode(t *testing.T) {
	cfg, errs := parseWith(t, testResolver(), tcpFE(`  log-format "%ci %[src] %[fe_name,upper]"`, `  unique-id-format "%[src_port]"`))
	if errs != nil {
		t.Fatal(errs)
	}
	px := cfg.Frontends()[0]
	for _, f := range []*LineFormat{px.LogFormat, px.UniqueIDFormat} {
		n := 0
		for _, nd := range f.Nodes {
			if nd.Var != FormatSample {
				continue
			}
			n++
			if nd.Expr == nil || nd.Expr.Text != nd.Text {
				t.Errorf("%s: %%[%s] has expression %v", f.Keyword, nd.Text, nd.Expr)
			}
		}
		if n == 0 {
			t.Errorf("%s: no sample node", f.Keyword)
		}
	}
}
