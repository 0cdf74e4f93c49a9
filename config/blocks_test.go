package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConditionalBlocks(t *testing.T) {
	env := map[string]string{"MODE": "prod", "ONE": "1", "EMPTY": "", "SP": "a b", "COMMA": "a,b"}
	tests := []struct {
		name  string
		in    []string
		kept  []int    // lines the parser gets
		errs  []string // "LINE: substring", in order
		diags []string // "SEVERITY LINE: message"
		diag  bool     // keep .diag messages
	}{
		{name: "true keeps, else drops", in: []string{".if 1", "x", ".else", "x", ".endif", "x"}, kept: []int{2, 6}},
		{name: "false drops, else keeps", in: []string{".if 0", "x", ".else", "x", ".endif"}, kept: []int{4}},
		{name: "false without else", in: []string{"x", ".if 0", "x", ".endif", "x"}, kept: []int{1, 5}},
		{name: "the first true branch wins", in: []string{".if 0", "x", ".elif 1", "x", ".elif 1", "x", ".else", "x", ".endif"}, kept: []int{4}},
		{name: "else after false elifs", in: []string{".if 0", "x", ".elif 0", "x", ".else", "x", ".endif"}, kept: []int{6}},
		{name: "elif after a true if is not read", in: []string{".if 1", "x", ".elif nosuch(", "x", ".endif"}, kept: []int{2}},
		{name: "nested in a true block", in: []string{".if 1", ".if 0", "x", ".else", "x", ".endif", "x", ".endif"}, kept: []int{5, 7}},
		{name: "nested in a false block is dropped whole", in: []string{".if 0", ".if 1", "x", ".else", "x", ".endif", "x", ".endif"}},
		{name: "nested in a dropped else", in: []string{".if 1", "x", ".else", ".if 1", "x", ".endif", ".endif"}, kept: []int{2}},
		{name: "condition with a variable", in: []string{`.if streq("$MODE",prod) && !defined(NOPE)`, "x", ".endif"}, kept: []int{2}},
		{name: "HAProxy's '.if \"${A}\"' idiom", in: []string{`.if "${ONE}"`, "x", ".endif", `.if "${EMPTY}"`, "x", ".endif"}, kept: []int{2}},
		{name: "empty condition is false", in: []string{`.if ""`, "x", ".endif"}},
		{name: "words are joined with spaces", in: []string{`.if defined(SP) && streq("${SP}","a b")`, "x", ".endif"}, kept: []int{2}},
		{name: "quoted quotes keep a value's commas in one argument", in: []string{`.if "streq('${COMMA}','a,b')"`, "x", ".endif"}, kept: []int{2}},
		{name: "comment after a directive", in: []string{".if 0 # || 1", "x", ".endif # done"}},
		{name: "quoted directive", in: []string{`".if" 0`, "x", `'.endif'`}},
		{name: "indented directives", in: []string{"  .if 0", "x", "\t.endif"}},
		{name: "unset variable in a dropped line", in: []string{".if 0", `x "${NOPE}"`, ".endif"}},
		{name: "unset variable in a .if that is not read", in: []string{".if 0", `.if streq("${NOPE}",x)`, ".endif", ".endif"}},
		{name: "unknown directive in a dropped line", in: []string{".if 0", ".nosuch", ".endif"}},
		{name: "message in a dropped line", in: []string{".if 0", ".alert stop", ".endif"}},

		{name: "quoting mistake in a dropped line", in: []string{".if 0", `x "open`, ".endif"}, errs: []string{`2: unmatched quote "`}},
		{name: "unset variable in a .if", in: []string{`.if streq("${NOPE}",x)`, "x", ".else", "x", ".endif", "x"}, kept: []int{6}, errs: []string{"1: environment variable 'NOPE' is not set"}},
		{name: "wrong condition drops every branch", in: []string{".if 1 &&", "x", ".elif 1", "x", ".else", "x", ".endif", "x"}, kept: []int{8},
			errs: []string{"1: '.if' condition '1 &&': a term is missing at column 5"}},
		{name: "wrong .elif condition", in: []string{".if 0", "x", ".elif nosuch(x)", "x", ".else", "x", ".endif"},
			errs: []string{"3: '.elif' condition 'nosuch(x)': unknown predicate 'nosuch' at column 1"}},
		{name: "unanswerable condition", in: []string{".if openssl_version_before(1.1.1)", "x", ".else", "x", ".endif"},
			errs: []string{"1: '.if' condition 'openssl_version_before(1.1.1)': openssl_version_before(1.1.1) at column 1 cannot be answered: fjord has no TLS library"}},
		{name: ".if without a condition is false", in: []string{".if", "x", ".else", "x", ".endif"}, kept: []int{4}, diags: []string{"NOTICE 1: '.if' has no condition, so it is false, as in HAProxy"}},
		{name: ".elif without a condition is false", in: []string{".if 0", ".elif", "x", ".endif"}, diags: []string{"NOTICE 2: '.elif' has no condition, so it is false, as in HAProxy"}},
		{name: "condition that expands to no word is false", in: []string{`.if "${EMPTY[*]}"`, "x", ".endif"}, diags: []string{"NOTICE 1: '.if' has no condition, so it is false, as in HAProxy"}},
		{name: ".else without .if", in: []string{"x", ".else", "x"}, kept: []int{1, 3}, errs: []string{"2: '.else' without an '.if' before it"}},
		{name: ".endif without .if", in: []string{".endif"}, errs: []string{"1: '.endif' without an '.if' before it"}},
		{name: ".elif without .if", in: []string{".elif 1"}, errs: []string{"1: '.elif' without an '.if' before it"}},
		{name: "two .else", in: []string{".if 0", ".else", "x", ".else", "x", ".endif", "x"}, kept: []int{3, 7}, errs: []string{"4: a second '.else' for the '.if' at test.cfg:1"}},
		{name: ".elif after .else", in: []string{".if 0", ".else", "x", ".elif 1", "x", ".endif"}, kept: []int{3}, errs: []string{"4: '.elif' after the '.else' of the '.if' at test.cfg:1"}},
		{name: ".else with an argument is still an else", in: []string{".if 0", ".else 1", "x", ".endif"}, kept: []int{3}, errs: []string{"2: unexpected argument '1' after '.else', which takes none"}},
		{name: ".endif with an argument still ends", in: []string{".if 0", ".endif if", "x"}, kept: []int{3}, errs: []string{"2: unexpected argument 'if' after '.endif'"}},
		{name: "unterminated .if names where it opened", in: []string{"x", ".if 1", "x"}, kept: []int{1, 3}, errs: []string{"2: '.if' is never closed: no '.endif' for it before the end of the file"}},
		{name: "every unterminated .if", in: []string{".if 1", ".if 0", ".if 1", ".endif"}, errs: []string{"1: '.if' is never closed", "2: '.if' is never closed"}},

		{name: "messages", in: []string{".notice hello", `.warning "a b"`, ".diag dropped"}, diags: []string{"NOTICE 1: 'hello'", "WARNING 2: 'a b'"}},
		{name: ".diag kept in diagnostic mode", diag: true, in: []string{".diag 'look here'"}, diags: []string{"DIAG 1: 'look here'"}},
		{name: ".alert is an error", in: []string{`.alert "SSL support is mandatory"`, "x"}, kept: []int{2}, errs: []string{"1: 'SSL support is mandatory'"}},
		{name: "message of several words", in: []string{".notice a b"}, errs: []string{"1: unexpected argument 'b' after the message of '.notice': put a message with spaces in quotes"}},
		{name: "message missing is empty", in: []string{".warning"}, diags: []string{"WARNING 1: ''"}},
		{name: "message with a variable", in: []string{`.notice "mode ${MODE}"`}, diags: []string{"NOTICE 1: 'mode prod'"}},
		{name: "unknown directive", in: []string{".include x.cfg"}, errs: []string{"1: unknown directive '.include' (there are .if, .elif, .else, .endif, .diag, .notice, .warning and .alert)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lx := &lexer{vars: lookupIn(env), diag: tt.diag}
			got, errs, diags := lx.lex(testFile, []byte(lines(tt.in...)))
			var kept []int
			for _, l := range got {
				kept = append(kept, l.pos.Line)
			}
			if !reflect.DeepEqual(kept, tt.kept) {
				t.Errorf("kept lines %v, want %v\n%s", kept, tt.kept, numbered(lines(tt.in...)))
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors:\n%v\nwant %q", ErrorList(errs), tt.errs)
			}
			for i, e := range errs {
				want := tt.errs[i]
				if got := fmt.Sprintf("%d: %s", e.Pos.Line, e.Msg); !strings.HasPrefix(got, want) {
					t.Errorf("error %q, want prefix %q", got, want)
				}
			}
			var gotDiags []string
			for _, d := range diags {
				gotDiags = append(gotDiags, fmt.Sprintf("%s %d: %s", d.Severity, d.Pos.Line, d.Msg))
			}
			if !reflect.DeepEqual(gotDiags, tt.diags) {
				t.Errorf("diagnostics %q, want %q", gotDiags, tt.diags)
			}
		})
	}
}

func TestConditionalBlocksNestAtMost99Deep(t *testing.T) {
	var in []string
	for i := 0; i < maxCondBlocks+2; i++ {
		in = append(in, ".if 1")
	}
	in = append(in, "x")
	for i := 0; i < maxCondBlocks+2; i++ {
		in = append(in, ".endif")
	}
	got, errs, _ := (&lexer{}).lex(testFile, []byte(lines(in...)))
	if len(got) != 0 || len(errs) != 1 || errs[0].Pos.Line != maxCondBlocks+1 || !strings.Contains(errs[0].Msg, "'.if' nested more than 99 deep") {
		t.Fatalf("lines %v, errors %v; want one error at line %d and no line", got, ErrorList(errs), maxCondBlocks+1)
	}
}

func TestConditionalBlocksInAConfiguration(t *testing.T) {
	text := lines(
		"global",
		".if version_atleast(2.5-dev0)",
		"  no-such-keyword-in-a-taken-branch",
		".endif",
		".if feature(OPENSSL)",
		"  ssl-default-bind-ciphers ECDHE", // not read, though fjord knows no such keyword
		".endif",
		"frontend fe",
		`.if streq("${MODE-dev}",prod)`,
		"  bind 127.0.0.1:80",
		".else",
		"  bind 127.0.0.1:8080",
		".endif",
		"  default_backend be",
		".notice 'fe is set up'",
		"backend be",
		".if !defined(BACKUP)",
		"  server s1 127.0.0.1:81",
		".endif",
		`.warning "${.SECTION} has one server"`,
	)
	_, errs := parseEnv(t, nil, text)
	if len(errs) != 1 || errs[0].Pos.Line != 3 || !strings.Contains(errs[0].Msg, "no-such-keyword-in-a-taken-branch") {
		t.Fatalf("errors %v, want one, for line 3", errs)
	}
	cfg, errs := parseEnv(t, nil, strings.Replace(text, "  no-such-keyword-in-a-taken-branch\n", "\n", 1))
	if errs != nil {
		t.Fatal(errs)
	}
	fe := proxy(t, cfg, "frontend", "fe")
	if len(fe.Binds) != 1 || fe.Binds[0].Addr.Port() != 8080 {
		t.Errorf("binds %v, want only 127.0.0.1:8080", fe.Binds)
	}
	if be := proxy(t, cfg, "backend", "be"); len(be.Servers) != 1 {
		t.Errorf("%d servers, want 1", len(be.Servers))
	}
	var got []string
	for _, d := range cfg.Diagnostics {
		got = append(got, d.String())
	}
	want := []string{
		"[NOTICE] parsing [test.cfg:15] : 'fe is set up'",
		"[WARNING] parsing [test.cfg:20] : 'be has one server'",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics %q, want %q", got, want)
	}
}

func TestConditionalBlocksEndWithTheirFile(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "10-first.cfg")
	second := filepath.Join(dir, "20-second.cfg")
	if err := os.WriteFile(first, []byte(lines("global", ".if 0", "  maxconn 10")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(second, []byte(lines("global", "  maxconn 20", ".endif")+okTail), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load([]string{first, second}, Options{Resolver: NoResolver, LookupEnv: lookupIn(nil)})
	want := []string{
		"parsing [" + first + ":2] : '.if' is never closed",
		"parsing [" + second + ":3] : '.endif' without an '.if' before it",
	}
	list, _ := err.(ErrorList)
	if len(list) != len(want) {
		t.Fatalf("errors %v, want %q", err, want)
	}
	for i, e := range list {
		if !strings.HasPrefix(e.Error(), want[i]) {
			t.Errorf("error %q, want prefix %q", e, want[i])
		}
	}
	// The second file is read whatever the first left open.
	if cfg.Global.MaxConn != 20 {
		t.Errorf("maxconn %d, want 20 from the second file", cfg.Global.MaxConn)
	}
}
