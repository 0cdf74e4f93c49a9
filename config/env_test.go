package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testEnv is the environment the variable tests see.
var testEnv = map[string]string{
	"A":     "x",
	"E":     "",
	"L":     "a b  c",
	"EDGES": " a b ",
	"BLANK": " \t ",
	"WS":    "a\tb\nc",
	"fe1":   "3",
	"SPACE": "x y",
	// For FuzzParse's seeds.
	"BINDOPTS": "accept-proxy backlog 10",
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestVariables(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		want          []string
		wantUndefined []string
		wantErr       string
	}{
		{name: "braces in double quotes", in: `"${A}"`, want: []string{"x"}},
		{name: "bare name in double quotes", in: `"$A/b"`, want: []string{"x/b"}},
		{name: "bare name ends at a dot", in: `"$A.b"`, want: []string{"x.b"}},
		{name: "bare name takes no default", in: `"$A-b"`, want: []string{"x-b"}},
		{name: "glued to text: HAProxy reg-tests' fd@", in: `bind "fd@${fe1}"`, want: []string{"bind", "fd@3"}},
		{name: "glued to words outside the quotes", in: `a"${A}"b`, want: []string{"axb"}},
		{name: "not expanded outside quotes", in: `${A} $A a$`, want: []string{"${A}", "$A", "a$"}},
		{name: "not expanded in single quotes", in: `'${A}' '$A'`, want: []string{"${A}", "$A"}},
		{name: "escaped dollar in double quotes", in: `"\${A} \$"`, want: []string{"${A} $"}},
		{name: "other escapes in double quotes keep the backslash", in: `"\d\${A}"`, want: []string{`\d${A}`}},
		{name: "a value with spaces stays one word", in: `"${SPACE}"`, want: []string{"x y"}},
		{name: "default when unset", in: `"${HAPROXY_TEST_TIMEOUT-5s}"`, want: []string{"5s"}},
		{name: "default not used when set", in: `"${A-5s}"`, want: []string{"x"}},
		{name: "default not used when empty", in: `"${E-5s}"`, want: []string{""}},
		{name: "empty default", in: `"${U-}"`, want: []string{""}},
		{name: "default keeps its spaces", in: `"${U-a b}"`, want: []string{"a b"}},
		{name: "default taken as written", in: `"${U-'#"\x}"`, want: []string{`'#"\x`}},
		{name: "several variables in one word", in: `"$A${A}-${U-y}"`, want: []string{"xx-y"}},
		{name: "split into words", in: `"${L[*]}"`, want: []string{"a", "b", "c"}},
		{name: "split glued to text", in: `x"-${L[*]}-"y`, want: []string{"x-a", "b", "c-y"}},
		{name: "split between words", in: `p "${L[*]}" q`, want: []string{"p", "a", "b", "c", "q"}},
		{name: "split at tabs and newlines", in: `"${WS[*]}"`, want: []string{"a", "b", "c"}},
		{name: "split makes no empty word at the ends", in: `p "${EDGES[*]}" q`, want: []string{"p", "a", "b", "q"}},
		{name: "split ends glued to text", in: `"<${EDGES[*]}>"`, want: []string{"<", "a", "b", ">"}},
		{name: "split of an empty value makes no word", in: `p "${E[*]}" q`, want: []string{"p", "q"}},
		{name: "split of blanks makes no word", in: `p "${BLANK[*]}" q`, want: []string{"p", "q"}},
		{name: "split of a default", in: `"${U[*]-p q}"`, want: []string{"p", "q"}},
		{name: "no split without [*]", in: `"${L}"`, want: []string{"a b  c"}},
		{name: "[*] only inside braces", in: `"$L[*]"`, want: []string{"a b  c[*]"}},
		{name: "undefined variables are reported once each", in: `"${U}" "$V" "${U}x"`, want: []string{"", "", "x"}, wantUndefined: []string{"U", "V"}},
		{name: "undefined split variable makes no word", in: `a "${U[*]}"`, want: []string{"a"}, wantUndefined: []string{"U"}},
		{name: "variables in comments are not read", in: `"${A}" # "${U}"`, want: []string{"x"}},

		{name: "dollar before a quote", in: `"^/a$"`, wantErr: `'$' at column 5 is followed by '"', not by a variable name (a letter, '_' or '.'); write \$ for a '$' inside double quotes`},
		{name: "dollar before a digit", in: `"$1"`, wantErr: `'$' at column 2 is followed by '1'`},
		{name: "dollar brace before a quote", in: `"${"`, wantErr: `'${' at column 2 is followed by '"'`},
		{name: "dollar at the end of the line", in: `"$`, wantErr: `'$' at column 2 is followed by the end of the line`},
		{name: "brace never closed", in: `"${A"`, wantErr: `'${' at column 2 has no closing '}' after the name 'A'`},
		{name: "default never closed", in: `"${A-x"`, wantErr: `'${' at column 2 has no closing '}'`},
		{name: "index other than [*]", in: `"${L[1]}"`, wantErr: `only '[*]' may follow`},
		{name: "unknown pseudo-variable", in: `"$.FOO"`, wantErr: `unknown variable '.FOO' at column 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := wordSplitter{comments: true, vars: lookupIn(testEnv)}
			got, undefined, err := ws.split(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("split(%q) = %q, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("split(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("split(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !reflect.DeepEqual(undefined, tt.wantUndefined) {
				t.Errorf("split(%q) undefined = %q, want %q", tt.in, undefined, tt.wantUndefined)
			}
		})
	}
}

func TestVariableHoldingNULIsAnError(t *testing.T) {
	ws := wordSplitter{vars: lookupIn(map[string]string{"N": "a\x00b"})}
	if _, _, err := ws.split(`"${N}"`); err == nil || !strings.Contains(err.Error(), "variable 'N' at column 4 holds a NUL byte") {
		t.Fatalf("error = %v", err)
	}
}

func parseEnv(t *testing.T, env map[string]string, text string) (*Config, ErrorList) {
	t.Helper()
	cfg, err := Parse(testFile, []byte(text), Options{Resolver: NoResolver, LookupEnv: lookupIn(env), LocalPeer: "peer1"})
	if err == nil {
		return cfg, nil
	}
	list, ok := err.(ErrorList)
	if !ok {
		t.Fatalf("Parse returned %T: %v", err, err)
	}
	return cfg, list
}

func TestVariablesInAConfiguration(t *testing.T) {
	text := lines(
		"defaults",
		"  mode http",
		`  timeout connect "${HAPROXY_TEST_TIMEOUT-5s}"`,
		`  timeout client "${CLIENT_TIMEOUT}"`,
		"frontend fe",
		`  bind "${ADDR}:${PORT-8080}"`,
		`  default_backend "be_${.LINE}"`,
		"backend be_7",
		`  server "srv_${.SECTION}_${.LINE}" 127.0.0.1:81`,
		`  server "${HAPROXY_LOCALPEER}" 127.0.0.1:82`,
		`  stats realm "${.FILE}"`,
	)
	cfg, errs := parseEnv(t, map[string]string{"CLIENT_TIMEOUT": "1m", "ADDR": "127.0.0.2"}, text)
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	fe := proxy(t, cfg, "frontend", "fe")
	if fe.Timeouts.Connect != 5*time.Second || fe.Timeouts.Client != time.Minute {
		t.Errorf("timeouts connect %v client %v, want 5s 1m", fe.Timeouts.Connect, fe.Timeouts.Client)
	}
	if got := fe.Binds[0].Addr.String(); got != "127.0.0.2:8080" {
		t.Errorf("bind %s, want 127.0.0.2:8080", got)
	}
	if fe.DefaultBackend != "be_7" {
		t.Errorf("default_backend %q, want be_7 (the line it is on)", fe.DefaultBackend)
	}
	be := proxy(t, cfg, "backend", "be_7")
	var names []string
	for _, s := range be.Servers {
		names = append(names, s.Name)
	}
	// .SECTION names the section; HAPROXY_LOCALPEER is Options.LocalPeer.
	if want := []string{"srv_be_7_9", "peer1"}; !reflect.DeepEqual(names, want) {
		t.Errorf("servers %q, want %q", names, want)
	}
	if be.Stats.Realm != testFile {
		t.Errorf("stats realm %q, want the file's name %q", be.Stats.Realm, testFile)
	}
}

func TestSectionVariable(t *testing.T) {
	text := lines(
		`x "${.SECTION}"`,
		"global",
		`  x "${.SECTION}"`,
		`frontend fe "${.SECTION}"`,
		`  x "${.SECTION}"`,
		`defaults # "${.SECTION}" in a comment is not read`,
		`  x "${.SECTION}"`,
		`backend "${.SECTION}_be"`,
		`  x "${.SECTION}"`,
	)
	got, errs, _ := (&lexer{}).lex(testFile, []byte(text))
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	// Empty before the first section; the name of a section, or its
	// keyword when it has none; on a section's own line, the section
	// before, since HAProxy names a section once its line is read.
	want := [][]string{
		{"x", ""}, {"global"}, {"x", "global"}, {"frontend", "fe", "global"}, {"x", "fe"},
		{"defaults"}, {"x", "defaults"}, {"backend", "defaults_be"}, {"x", "defaults_be"},
	}
	for i, l := range got {
		if i >= len(want) || !reflect.DeepEqual(l.words, want[i]) {
			t.Errorf("line %d: %q, want %q", l.pos.Line, l.words, want[min(i, len(want)-1)])
		}
	}
}

func TestLocalPeerDefaultsToTheHostName(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skipf("no host name: %v", err)
	}
	get := environment(Options{LookupEnv: lookupIn(map[string]string{"HAPROXY_LOCALPEER": "from-env"})})
	if v, ok := get("HAPROXY_LOCALPEER"); !ok || v != host {
		t.Errorf("HAPROXY_LOCALPEER = %q, %v; want the host name %q, which HAProxy sets over the environment's", v, ok, host)
	}
	get = environment(Options{LookupEnv: lookupIn(nil), LocalPeer: "p2"})
	if v, _ := get("HAPROXY_LOCALPEER"); v != "p2" {
		t.Errorf("HAPROXY_LOCALPEER = %q with LocalPeer p2", v)
	}
	if _, ok := get("HAPROXY_CFGFILES"); ok {
		t.Errorf("HAPROXY_CFGFILES is defined while the files are read; HAProxy sets it only after")
	}
}

func TestUndefinedVariableIsAnError(t *testing.T) {
	text := lines(
		"frontend fe",
		"  bind 127.0.0.1:80",
		`  timeout client "${CLIENT_TIMEOUT}"`,
		"  default_backend be",
		"backend be",
		`  server s "${ADDR}:${PORT}"`,
		`  server t "${ADDR}:80"`,
	)
	_, errs := parseEnv(t, nil, text)
	want := []string{
		"parsing [test.cfg:3] : environment variable 'CLIENT_TIMEOUT' is not set (HAProxy would use an empty string; write \"${CLIENT_TIMEOUT-}\" if that is meant, or give a default: \"${CLIENT_TIMEOUT-DEFAULT}\")",
		"parsing [test.cfg:6] : environment variable 'ADDR' is not set",
		"parsing [test.cfg:6] : environment variable 'PORT' is not set",
		"parsing [test.cfg:7] : environment variable 'ADDR' is not set",
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, e := range errs {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, e.Error(), want[i])
		}
	}
}

func TestSplitWhereHAProxyReadsLessIsNoticed(t *testing.T) {
	env := lookupIn(map[string]string{"L": "a b", "EDGES": " a b ", "TRAIL": "a b ", "E": ""})
	tests := []struct {
		name string
		line string
		want string // the notice, "" for none
	}{
		{name: "no white space at the ends", line: `x "${L[*]}" y`},
		{name: "white space at the end of the line", line: `x "${TRAIL[*]}"`},
		{name: "white space at the start", line: `x "${EDGES[*]}"`, want: "HAProxy would read only 'x' here"},
		{name: "empty at the end of the line", line: `x "${E[*]}"`},
		{name: "glued text makes the words", line: `x "<${EDGES[*]}>" y`},
		{name: "white space before more words", line: `x "${EDGES[*]}" y`, want: "HAProxy would read only 'x' here: it stops at the empty word that the value of '${EDGES[*]}' makes when it is empty or has white space at an end; fjord makes no empty word and reads 'x a b y'"},
		{name: "trailing white space before more words", line: `x "p${EDGES[*]}" y`, want: "HAProxy would read only 'x p a b' here"},
		{name: "empty before more words", line: `x "${E[*]}" y`, want: "HAProxy would read only 'x' here"},
		{name: "empty first word", line: `"${E[*]}" y`, want: "HAProxy would skip this line: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, errs, diags := (&lexer{vars: env}).lex(testFile, []byte(tt.line+"\n"))
			if errs != nil || len(lines) != 1 {
				t.Fatalf("lines %v, errors %v", lines, errs)
			}
			if tt.want == "" {
				if len(diags) != 0 {
					t.Errorf("diagnostics %v, want none", diags)
				}
				return
			}
			if len(diags) != 1 || diags[0].Severity != Notice || diags[0].Pos != at(1) || !strings.HasPrefix(diags[0].Msg, tt.want) {
				t.Errorf("diagnostics %v, want one notice at line 1 starting %q", diags, tt.want)
			}
		})
	}
}
