package rules

import (
	"regexp"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestConverterRegsub(t *testing.T) {
	head := getHead("/foo12/Bar7?;&a=1", "X-Path: /////a///b/c/xzxyz/\r\n")
	s := config.TypeStr
	runSampleCases(t, head, nil, []sampleCase{
		// The examples of configuration.txt.
		{"hdr(x-path),regsub('/+','/','g')", "/a/b/c/xzxyz/", s},
		{"query,regsub([?;&]*,'')", "a=1", s},
		{`url,'regsub("(foo|bar)([0-9]+)?","\2\1",i)'`, "/12foo/Bar7?;&a=1", s},
		{`url,regsub(\"(foo|bar)([0-9]+)?\",\"\2\1\",ig)`, "/12foo/7Bar?;&a=1", s},
		{`url,regsub(\"(foo|bar)([0-9]+)?\",\"\2\1\",g)`, "/12foo/Bar7?;&a=1", s},
		// First match only, or every match.
		{"str(aXbXc),regsub(X,-)", "a-bXc", s},
		{"str(aXbXc),regsub(X,-,g)", "a-b-c", s},
		{"str(aXbXc),regsub(x,-,gi)", "a-b-c", s},
		{"str(aXbXc),regsub(x,-,g)", "aXbXc", s},
		{"str(abc),regsub(z,-)", "abc", s},
		{"str(),regsub(^,x)", "x", s},
		// '^' matches once: HAProxy passes REG_NOTBOL after a match.
		{"str(aaa),regsub(^a,X,g)", "Xaa", s},
		{`str(aaa),regsub(\\Aa,X,g)`, "Xaa", s},
		{"str(aaa),regsub(a$,X,g)", "aaX", s},
		// Empty matches, as sed: before each character and at the end.
		{"str(abc),regsub(x*,-,g)", "-a-b-c-", s},
		{"str(abc),regsub(x*,-)", "-abc", s},
		{"str(abc),regsub(b*,-,g)", "-a--c-", s},
		// What remains is a subject of its own: \b sees no character
		// before it (HAProxy's regex_exec_match2 on a pointer).
		{`str(ab),regsub(\\b,-,g)`, "-a-b", s},
		// exp_replace: groups, \xHH, other escapes.
		{`str(key=val),regsub(\"(\w+)=(\w+)\",\2:\1)`, "val:key", s},
		{`str(ab),regsub(\"(a)(x)?\",[\1\2\9])`, "[a]b", s},
		{`str(ab),regsub(a,\\x41\\x2f)`, "A/b", s},
		// The line's \\ is \ for the sample, whose \\ is \ and \n a
		// newline for regsub, whose \<newline> and \q are those characters.
		{`str(ab),regsub(a,\\\\\\n\\q)`, "\nqb", s},
		{`str(ab),regsub(a,\\0\\0)`, "aab", s},
	})
	runErrorCases(t, map[string][]string{
		`path,regsub(\"[\",x)`:   {"argument 1 of 'regsub'", "invalid regular expression '['"},
		"path,regsub(a,b,x)":     {"argument 3 of 'regsub'", "invalid regex flag 'x', only 'i' and 'g' are supported"},
		"path,regsub(a,'b\\')":   {"argument 2 of 'regsub'", "ends with a lone backslash"},
		"path,regsub(a,'b\\x4')": {"argument 2 of 'regsub'", "incomplete '\\x' escape"},
		"path,regsub(a)":         {"'regsub' takes 2 to 3 argument(s), found 1"},
		"path,regsub(a,)":        nil,
		"path,regsub(a,b,)":      nil,
		"path,regsub(a,b,gi)":    nil,
	})
}

func TestWithoutTextStart(t *testing.T) {
	for _, tc := range []struct{ re, in string }{
		{"^a", "a"}, {`\Aa|b`, "a"}, {"(?i)^A", "a"}, {"x|^y", "y"},
	} {
		re := regexp.MustCompile(tc.re)
		nb := withoutTextStart(re)
		if nb == re || nb.MatchString(tc.in) {
			t.Errorf("%s: the NOTBOL form %s matches %q", tc.re, nb, tc.in)
		}
	}
	re := regexp.MustCompile("a$")
	if withoutTextStart(re) != re {
		t.Errorf("a$ has no text start, and was recompiled")
	}
}

// regsub never panics, and with a literal, non-empty pattern it is
// strings.Replace (once, or everywhere with 'g').
func FuzzRegsub(f *testing.F) {
	for _, s := range []string{"", "abc", "/////a///b/c/", "aaa", "foo12bar7", "a\nb"} {
		for _, p := range []string{"/+", "x*", "^a", "(a)(b)?", `\b`, "a", "(?m)^b", "$"} {
			f.Add(s, p, `<\1>`, true)
			f.Add(s, p, "-", false)
		}
	}
	f.Fuzz(func(t *testing.T, in, pattern, subst string, global bool) {
		re, err := regexp.Compile(pattern)
		if err != nil || config.CheckSubstitution(subst) != nil {
			return
		}
		got := appendRegsub(nil, []byte(in), re, withoutTextStart(re), subst, global)
		if regexp.QuoteMeta(pattern) != pattern || pattern == "" || strings.Contains(subst, `\`) {
			return
		}
		n := 1
		if global {
			n = -1
		}
		if want := strings.Replace(in, pattern, subst, n); string(got) != want {
			t.Fatalf("regsub(%q, %q, %q, g=%v) = %q, want %q", in, pattern, subst, global, got, want)
		}
	})
}
