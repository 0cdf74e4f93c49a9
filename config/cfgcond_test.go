package config

import (
	"strings"
	"testing"
)

func TestCondition(t *testing.T) {
	env := lookupIn(map[string]string{"SET": "1", "EMPTY": "", "HAPROXY_LOCALPEER": "p"})
	tests := []struct {
		name    string
		cond    string
		want    bool
		wantErr string
	}{
		{name: "empty is false", cond: "", want: false},
		{name: "zero is false", cond: "0", want: false},
		{name: "one is true", cond: "1", want: true},
		{name: "negative numbers are true", cond: "-1000 && 200", want: true},
		{name: "minus zero is false", cond: "-0", want: false},
		{name: "hexadecimal", cond: "0x10 && !0x0", want: true},
		{name: "octal", cond: "010 && !00", want: true},
		{name: "not", cond: "!0", want: true},
		{name: "not not", cond: "!!1", want: true},
		{name: "not with blanks", cond: "! \t! ! 1", want: false},
		{name: "parentheses", cond: "(1)", want: true},
		{name: "not parentheses", cond: "!(1 || 1)", want: false},
		{name: "and binds tighter than or", cond: "1 || 0 && 0", want: true},
		{name: "and binds tighter than or, on the left", cond: "0 && 0 || 1", want: true},
		{name: "parentheses change precedence", cond: "(1 || 0) && 0", want: false},
		{name: "blanks are optional", cond: "1&&!0&&!((streq(a,b)||!streq(a,a)&&1)||strneq(a,a))", want: true},
		{name: "blanks anywhere between terms", cond: "1   &&!   0&&    !((streq(a,b)||!streq(a,a)&&1)||strneq(a,a))", want: true},
		{name: "reg-test expression, false by strneq", cond: "1 && !0 && !((streq(a,b) || !streq(a,a) && 1) || strneq(a,b))", want: false},
		{name: "reg-test expression, false by streq", cond: "1 && !0 && !((streq(a,a) || !streq(a,a) && 1) || strneq(a,a))", want: false},
		{name: "defined", cond: "defined(SET)", want: true},
		{name: "defined when empty", cond: "defined(EMPTY)", want: true},
		{name: "not defined", cond: "defined(UNSET)", want: false},
		{name: "defined of nothing", cond: "defined()", want: false},
		{name: "feature fjord has", cond: "feature(LINUX_SPLICE)", want: true},
		{name: "feature fjord lacks", cond: "feature(OPENSSL)", want: false},
		{name: "unknown feature", cond: "feature(NO_SUCH_THING)", want: false},
		{name: "features are case-sensitive", cond: "feature(linux_splice)", want: false},
		{name: "streq", cond: "streq(foo,foo)", want: true},
		{name: "streq differs", cond: "streq(foo,bar)", want: false},
		{name: "streq keeps spaces", cond: "streq(a, a)", want: false},
		{name: "streq of empty strings", cond: "streq(,)", want: true},
		{name: "quotes in arguments", cond: `streq("a,b",'a,b')`, want: true},
		{name: "quoted parenthesis", cond: `streq(")",')')`, want: true},
		{name: "backslash does not escape a comma or a parenthesis", cond: `streq(a\,a\)`, want: true},
		{name: "escaped quote in arguments", cond: `streq(\',"'")`, want: true},
		{name: "backslash kept before other characters", cond: `streq(\d,"\d")`, want: true},
		{name: "single quotes keep backslashes", cond: `streq('\t',\\t)`, want: true},
		{name: "strneq", cond: "strneq(a,b)", want: true},
		{name: "version_atleast older", cond: "version_atleast(2.4)", want: true},
		{name: "version_atleast a dev of this", cond: "version_atleast(2.5-dev0)", want: true},
		{name: "version_atleast this", cond: "version_atleast(" + HAProxyVersion + ")", want: true},
		{name: "version_atleast newer", cond: "version_atleast(1024)", want: false},
		{name: "version_before newer", cond: "version_before(2.7-dev0)", want: true},
		{name: "version_before this", cond: "version_before(" + HAProxyVersion + ")", want: false},
		{name: "ssllib_name_startswith without a TLS library", cond: "ssllib_name_startswith(OpenSSL)", want: false},
		{name: "and stops before an unanswerable predicate", cond: "feature(OPENSSL) && ssllib_name_startswith(OpenSSL) && openssl_version_atleast(1.1.1)", want: false},
		{name: "or stops before an unanswerable predicate", cond: "1 || openssl_version_before(3.0.0)", want: true},
		{name: "feature or not feature", cond: "feature(OPENSSL) || !feature(OPENSSL)", want: true},

		{name: "trailing garbage", cond: "200rrr", wantErr: "condition '200rrr': unexpected 'rrr' at column 4, after a complete condition"},
		{name: "extra closing parenthesis", cond: "!(0))", wantErr: "unexpected ')' at column 5, after a complete condition"},
		{name: "unclosed parenthesis", cond: "(1 && (0)", wantErr: "')' expected at column 10, to close the '(' at column 1"},
		{name: "blank", cond: "  ", wantErr: "a term is missing at column 3"},
		{name: "and without right side", cond: "1 &&", wantErr: "a term is missing at column 5"},
		{name: "or without left side", cond: "|| 1", wantErr: "unexpected '|| 1' at column 1: a predicate such as defined(NAME), a number, '!' or '(' was expected"},
		{name: "lone not", cond: "!", wantErr: "a term is missing at column 2"},
		{name: "single ampersand", cond: "1 & 1", wantErr: "unexpected '& 1' at column 3"},
		{name: "unknown predicate", cond: "1 && nosuch(x)", wantErr: "unknown predicate 'nosuch' at column 6 (there are defined, feature, streq"},
		{name: "predicate without parentheses", cond: "defined", wantErr: "predicate 'defined' at column 1 must be followed by its arguments in parentheses: defined(...)"},
		{name: "blank before the arguments", cond: "defined (X)", wantErr: "predicate 'defined' at column 1 must be followed"},
		{name: "too few arguments", cond: "streq(a)", wantErr: "'streq' at column 1 takes 2 arguments, found 1"},
		{name: "too many arguments", cond: "defined(a,b)", wantErr: "too many arguments to 'defined' at column 10: it takes 1 argument"},
		{name: "unclosed arguments", cond: "streq(a,b", wantErr: "')' expected at column 10, to close the arguments of 'streq' opened at column 6"},
		{name: "unmatched quote in arguments", cond: `streq(a,"a)`, wantErr: `unmatched quote " at column 9 in the arguments of 'streq'`},
		{name: "backslash ending the arguments", cond: `streq(a,\`, wantErr: "backslash at the end of the arguments of 'streq' at column 9"},
		{name: "bad version", cond: "version_atleast(2.x)", wantErr: "version_atleast() at column 1: '2.x' is not a version"},
		{name: "empty version", cond: "!version_before()", wantErr: "version_before() at column 2: '' is not a version"},
		{name: "bad version even where evaluation stops before it", cond: "0 && version_atleast(two)", wantErr: "'two' is not a version"},
		{name: "OpenSSL version without a TLS library", cond: "openssl_version_atleast(1.1.1)", wantErr: "openssl_version_atleast(1.1.1) at column 1 cannot be answered: fjord has no TLS library"},
		{name: "OpenSSL version under not", cond: "1 && !openssl_version_before(3.0)", wantErr: "openssl_version_before(3.0) at column 6 cannot be answered"},
		{name: "parentheses too deep", cond: strings.Repeat("(", maxCondDepth+1) + "1" + strings.Repeat(")", maxCondDepth+1), wantErr: "parentheses nested more than 256 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseCfgCond(tt.cond)
			var got bool
			if err == nil {
				got, err = c.eval(env)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("%q: %v, %v; want an error containing %q", tt.cond, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%q: %v", tt.cond, err)
			}
			if got != tt.want {
				t.Errorf("%q = %v, want %v", tt.cond, got, tt.want)
			}
		})
	}
}

func TestParenthesesAsDeepAsAllowed(t *testing.T) {
	cond := strings.Repeat("!(", maxCondDepth) + "1" + strings.Repeat(")", maxCondDepth)
	c, err := parseCfgCond(cond)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.eval(nil); err != nil || got != true {
		t.Fatalf("= %v, %v; want true (an even number of '!')", got, err)
	}
}

// TestCheckCondition runs the expressions of HAProxy's
// reg-tests/startup/check_condition.vtc as its shell passes them to -cc.
func TestCheckCondition(t *testing.T) {
	opts := Options{LookupEnv: lookupIn(map[string]string{"TESTVAR": "1", "SP": "a b"})}
	tests := []struct {
		name    string
		expr    string
		want    bool
		wantErr string
	}{
		{name: "at least an older version", expr: "version_atleast(2.4)", want: true},
		{name: "not a newer version", expr: "version_atleast(1024)", want: false},
		{name: "quotes are read as on a line", expr: "streq(foo,'foo')", want: true},
		{name: "quotes group blanks", expr: `streq("foo bar",'foo bar')`, want: true},
		{name: "different strings", expr: "streq(foo,bar)", want: false},
		{name: "a variable in double quotes", expr: `defined(TESTVAR) && streq("$TESTVAR","1")`, want: true},
		{name: "no variable outside double quotes", expr: `streq($TESTVAR,"$TESTVAR")`, want: false},
		{name: "words are joined with one space", expr: `streq("${SP[*]}",a   b)`, want: true},
		{name: "hash is no comment", expr: `streq(#,"#")`, want: true},
		{name: "escaped hash keeps its backslash", expr: `streq(\#,"\\#")`, want: true},
		{name: "empty", expr: "", want: false},
		{name: "local peer is defined", expr: "defined(HAPROXY_LOCALPEER)", want: true},
		{name: "unmatched quote", expr: `streq(a,"a)`, wantErr: `condition 'streq(a,"a)': unmatched quote " at column 9`},
		{name: "variable not set", expr: `streq("$NOPE",)`, wantErr: `condition 'streq("$NOPE",)': environment variable 'NOPE' is not set`},
		{name: "trailing garbage", expr: "200rrr", wantErr: "condition '200rrr': unexpected 'rrr' at column 4"},
		{name: "unanswerable", expr: "openssl_version_atleast(1.1.1)", wantErr: "condition 'openssl_version_atleast(1.1.1)': openssl_version_atleast(1.1.1) at column 1 cannot be answered"},
		{name: "column of the expression as read", expr: `"streq"(a,b) x`, wantErr: "condition 'streq(a,b) x': unexpected 'x' at column 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckCondition(tt.expr, opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CheckCondition(%q) = %v, %v; want an error containing %q", tt.expr, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CheckCondition(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
			}
		})
	}
}
