package rules

import (
	"bytes"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// normCase is a target before and after a normalizer; invalid: the
// normalizer refuses it (strict).
type normCase struct {
	in, want string
	invalid  bool
}

// The cases of HAProxy's reg-test http-rules/normalize_uri.vtc (v2.6.0),
// each client's in order, then others of ours: edge cases of HAProxy's
// algorithms and absolute-form targets.
var normalizeCases = []struct {
	norm  config.NormalizeURI
	cases []normCase
}{
	{config.NormalizeURI{Normalizer: config.NormPathMergeSlashes}, []normCase{
		{in: "/foo/bar", want: "/foo/bar"},
		{in: "/foo//bar", want: "/foo/bar"},
		{in: "/foo///bar", want: "/foo/bar"},
		{in: "///foo///bar", want: "/foo/bar"},
		{in: "///foo/bar", want: "/foo/bar"},
		{in: "///foo///bar///", want: "/foo/bar/"},
		{in: "///", want: "/"},
		{in: "/foo?bar=///", want: "/foo?bar=///"},
		{in: "//foo?bar=///", want: "/foo?bar=///"},
		{in: "*", want: "*"},
		// ours
		{in: "http://h.example//a//b?x=//", want: "http://h.example/a/b?x=//"},
		{in: "https://user@h//a", want: "https://user@h/a"},
		{in: "http://h", want: "http://h"},
		{in: "h:443", want: "h:443"},
		{in: "/a//b#//c", want: "/a/b#/c"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPathStripDotdot}, []normCase{
		{in: "/foo/bar", want: "/foo/bar"},
		{in: "/foo/..", want: "/"},
		{in: "/foo/../", want: "/"},
		{in: "/foo/bar/../", want: "/foo/"},
		{in: "/foo/../bar", want: "/bar"},
		{in: "/foo/../bar/", want: "/bar/"},
		{in: "/foo/../../bar/", want: "/../bar/"},
		{in: "/foo//../../bar/", want: "/bar/"},
		{in: "/foo/?bar=/foo/../", want: "/foo/?bar=/foo/../"},
		{in: "/foo/../?bar=/foo/../", want: "/?bar=/foo/../"},
		{in: "*", want: "*"},
		// ours
		{in: "/..", want: "/../"},
		{in: "/../..", want: "/../../"},
		{in: "/../a", want: "/../a"},
		{in: "/a/b/c/../../d", want: "/a/d"},
		{in: "/a/..b/../c", want: "/a/c"},
		{in: "/a/.../..", want: "/a/"},
		{in: "/", want: "/"},
		{in: "http://h/a/../b?c", want: "http://h/b?c"},
		{in: "http://h/..", want: "http://h/../"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPathStripDotdot, Full: true}, []normCase{
		{in: "/foo/bar", want: "/foo/bar"},
		{in: "/foo/..", want: "/"},
		{in: "/foo/../", want: "/"},
		{in: "/foo/bar/../", want: "/foo/"},
		{in: "/foo/../bar", want: "/bar"},
		{in: "/foo/../bar/", want: "/bar/"},
		{in: "/foo/../../bar/", want: "/bar/"},
		{in: "/foo//../../bar/", want: "/bar/"},
		{in: "/foo/?bar=/foo/../", want: "/foo/?bar=/foo/../"},
		{in: "/foo/../?bar=/foo/../", want: "/?bar=/foo/../"},
		{in: "*", want: "*"},
		// ours
		{in: "/..", want: "/"},
		{in: "/../..", want: "/"},
		{in: "/../a", want: "/a"},
		{in: "/../../a/../../b", want: "/b"},
	}},
	{config.NormalizeURI{Normalizer: config.NormQuerySortByName}, []normCase{
		{in: "/?a=a", want: "/?a=a"},
		{in: "/?a=a&z=z", want: "/?a=a&z=z"},
		{in: "/?z=z&a=a", want: "/?a=a&z=z"},
		{in: "/?a=z&z=a", want: "/?a=z&z=a"},
		{in: "/?z=a&a=z", want: "/?a=z&z=a"},
		{in: "/?c&b&a&z&x&y", want: "/?a&b&c&x&y&z"},
		{in: "/?a=&aa=&aaa=&aaaa=", want: "/?a=&aa=&aaa=&aaaa="},
		{in: "/?aaaa=&a=&aa=&aaa=", want: "/?a=&aa=&aaa=&aaaa="},
		{in: "/?a=5&a=3&a=1&a=2&a=4", want: "/?a=5&a=3&a=1&a=2&a=4"},
		{in: "/?a=5&b=3&a=1&a=2&b=4", want: "/?a=5&a=1&a=2&b=3&b=4"},
		{in: "/", want: "/"},
		{in: "/?", want: "/?"},
		{in: "*", want: "*"},
		// ours: a trailing '&' is dropped, an empty parameter sorts
		// first, the query starts at the first '?', bytes compare
		// unsigned.
		{in: "/?b&a&", want: "/?a&b"},
		{in: "/?&", want: "/?"},
		{in: "/?b&&a", want: "/?&a&b"},
		{in: "/?&&", want: "/?&"}, // and "/?&" gives "/?": not idempotent
		{in: "/p?b=1?x&a", want: "/p?a&b=1?x"},
		{in: "/?\xc3\xa9=1&z=2&Z=3", want: "/?Z=3&z=2&\xc3\xa9=1"},
		{in: "http://h/p?b&a", want: "http://h/p?a&b"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPercentToUppercase}, []normCase{
		{in: "/a?a=a", want: "/a?a=a"},
		{in: "/%aa?a=%aa", want: "/%AA?a=%AA"},
		{in: "/%zz?a=%zz", want: "/%zz?a=%zz"},
		{in: "*", want: "*"},
		// ours
		{in: "/%a", want: "/%a"},
		{in: "/%%af", want: "/%%AF"},
		{in: "/%3f%3F%e9", want: "/%3F%3F%E9"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPercentToUppercase, Strict: true}, []normCase{
		{in: "/a?a=a", want: "/a?a=a"},
		{in: "/%aa?a=%aa", want: "/%AA?a=%AA"},
		{in: "/%zz?a=%zz", invalid: true},
		// ours: the query is checked too; a target without a path is
		// not.
		{in: "/a?b=%", invalid: true},
		{in: "/a%2", invalid: true},
		{in: "*", want: "*"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPathStripDot}, []normCase{
		{in: "/", want: "/"},
		{in: "/a/b", want: "/a/b"},
		{in: "/.", want: "/"},
		{in: "/./", want: "/"},
		{in: "/a/.", want: "/a/"},
		{in: "/a.", want: "/a."},
		{in: "/.a", want: "/.a"},
		{in: "/a/.", want: "/a/"},
		{in: "/a/./", want: "/a/"},
		{in: "/a/./a", want: "/a/a"},
		{in: "/a/../", want: "/a/../"},
		{in: "/a/../a", want: "/a/../a"},
		{in: "/?a=/./", want: "/?a=/./"},
		// ours
		{in: "/./././a/./", want: "/a/"},
		{in: "//./", want: "//"},
		{in: "http://h/./a?./", want: "http://h/a?./"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPercentDecodeUnreserved}, []normCase{
		{in: "/a?a=a", want: "/a?a=a"},
		{in: "/%61?%61=%61", want: "/a?a=a"},
		{in: "/%3F?foo=bar", want: "/%3F?foo=bar"},
		{in: "/%%36%36", want: "/%66"},
		{in: "*", want: "*"},
		// ours: unreserved are ALPHA DIGIT - . _ ~; others keep their
		// case; a short escape at the end is kept.
		{in: "/%7e%2D%2e%5F%30%5a", want: "/~-._0Z"},
		{in: "/%2f%2F%20%e9%00", want: "/%2f%2F%20%e9%00"},
		{in: "/a%4", want: "/a%4"},
		{in: "/a%", want: "/a%"},
	}},
	{config.NormalizeURI{Normalizer: config.NormPercentDecodeUnreserved, Strict: true}, []normCase{
		{in: "/a?a=a", want: "/a?a=a"},
		{in: "/%61?%61=%61", want: "/a?a=a"},
		{in: "/%3F?foo=bar", want: "/%3F?foo=bar"},
		{in: "/%%36%36", invalid: true},
		// ours
		{in: "/a%4", invalid: true},
		{in: "/a?%g0", invalid: true},
	}},
	{config.NormalizeURI{Normalizer: config.NormFragmentStrip}, []normCase{
		{in: "/#foo", want: "/"},
		{in: "/%23foo", want: "/%23foo"},
		{in: "*", want: "*"},
		// ours
		{in: "/a?b#c#d", want: "/a?b"},
		{in: "http://h/#", want: "http://h/"},
	}},
	{config.NormalizeURI{Normalizer: config.NormFragmentEncode}, []normCase{
		{in: "/#foo", want: "/%23foo"},
		{in: "/#foo/#foo", want: "/%23foo/%23foo"},
		{in: "/%23foo", want: "/%23foo"},
		{in: "*", want: "*"},
		// ours
		{in: "/a#", want: "/a%23"},
		{in: "/##?#", want: "/%23%23?%23"},
	}},
}

func normName(n config.NormalizeURI) string {
	s := n.Normalizer.String()
	if n.Full {
		s += " full"
	}
	if n.Strict {
		s += " strict"
	}
	return s
}

func TestNormalizeURI(t *testing.T) {
	for _, nc := range normalizeCases {
		t.Run(normName(nc.norm), func(t *testing.T) {
			n := compileNormalizer(nc.norm)
			var tx Txn
			for _, c := range nc.cases {
				tx.Reset()
				m := &Msg{Method: []byte("GET"), URI: []byte(c.in), Path: pathOf([]byte(c.in))}
				res := n.apply(&tx, m)
				if c.invalid {
					if res != normInvalid {
						t.Errorf("%q: %q (%d), want invalid", c.in, m.URI, res)
					}
					if string(m.URI) != c.in {
						t.Errorf("%q: changed to %q though invalid", c.in, m.URI)
					}
					continue
				}
				if string(m.URI) != c.want {
					t.Errorf("%q: %q, want %q", c.in, m.URI, c.want)
				}
				if want := map[bool]normResult{false: normSame, true: normChanged}[c.in != c.want]; res != want {
					t.Errorf("%q: result %d, want %d", c.in, res, want)
				}
				if !bytes.Equal(m.Path, pathOf(m.URI)) {
					t.Errorf("%q: path %q, want %q", c.in, m.Path, pathOf(m.URI))
				}
			}
		})
	}
}

// A rule runs the normalizer: a change marks the head edited, an
// unchanged target does not (nothing to write again), and strict's
// invalid input ends the rule set with Invalid, the target untouched.
func TestNormalizeURIRule(t *testing.T) {
	rule := func(n config.NormalizeURI) *HTTPRules {
		return NewCompiler().HTTPRules([]*config.HTTPRule{{Set: config.RequestRules, Action: config.ActNormalizeURI, Normalize: n}})
	}
	run := func(rs *HTTPRules, uri string) (Verdict, *Msg) {
		var tx Txn
		m := &Msg{Method: []byte("GET"), URI: []byte(uri), Path: pathOf([]byte(uri)), Minor: 1}
		tx.Req = m
		return rs.Run(&tx, m), m
	}
	merge := rule(config.NormalizeURI{Normalizer: config.NormPathMergeSlashes})
	if v, m := run(merge, "//a//b?c//"); v.Outcome != Continue || !m.Edited || string(m.URI) != "/a/b?c//" || string(m.Path) != "/a/b" {
		t.Errorf("merge: %v edited %v %q %q", v.Outcome, m.Edited, m.URI, m.Path)
	}
	if v, m := run(merge, "/a/b"); v.Outcome != Continue || m.Edited {
		t.Errorf("already normal: %v edited %v", v.Outcome, m.Edited)
	}
	strict := rule(config.NormalizeURI{Normalizer: config.NormPercentToUppercase, Strict: true})
	v, m := run(strict, "/%zz")
	if v.Outcome != Invalid || v.Status != 400 || v.Rule == nil || m.Edited || string(m.URI) != "/%zz" {
		t.Errorf("strict: %+v edited %v %q", v, m.Edited, m.URI)
	}
}

// Once the parameters' storage has grown, normalizing allocates nothing.
func TestNormalizeURIAllocs(t *testing.T) {
	var tx Txn
	for _, nc := range normalizeCases {
		n := compileNormalizer(nc.norm)
		for _, c := range nc.cases {
			m := &Msg{URI: []byte(c.in)}
			n.apply(&tx, m) // grow
			allocs := testing.AllocsPerRun(100, func() {
				tx.rendered = tx.rendered[:0]
				m.URI = []byte(c.in)[:len(c.in):len(c.in)]
				n.apply(&tx, m)
			})
			if allocs > 1 { // the []byte(c.in) copy
				t.Errorf("%s %q: %.0f allocations", normName(nc.norm), c.in, allocs)
			}
		}
	}
}

// FuzzNormalizeURI runs every normalizer on any target: none panics, a
// result is valid (an unchanged target reported as unchanged, the path
// where pathOf finds it, only strict ones refuse), and a second run
// changes nothing where HAProxy's algorithm is idempotent: all but
// percent-decode-unreserved without strict ("/%%36%36" gives "/%66",
// then "/f"), and query-sort-by-name when empty parameters are left
// ("/?&&" gives "/?&", then "/?").
// hasEmptyParam reports whether the query of a target's path has an
// empty parameter.
func hasEmptyParam(uri []byte) bool {
	start, _ := uriPath(uri)
	i := bytes.IndexByte(uri[start:], '?')
	if i < 0 {
		return false
	}
	q := uri[start+i:]
	return bytes.HasPrefix(q, []byte("?&")) || bytes.Contains(q, []byte("&&")) || len(q) > 1 && q[len(q)-1] == '&'
}

func FuzzNormalizeURI(f *testing.F) {
	for _, nc := range normalizeCases {
		for _, c := range nc.cases {
			f.Add(c.in)
		}
	}
	f.Add("http://h.example:8080/a/./b/../../c//d?z=1&a=%2f#x")
	var variants []config.NormalizeURI
	for _, nc := range normalizeCases {
		variants = append(variants, nc.norm)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		var tx Txn
		for _, nv := range variants {
			n := compileNormalizer(nv)
			tx.Reset()
			m := &Msg{URI: []byte(uri), Path: pathOf([]byte(uri))}
			res := n.apply(&tx, m)
			switch res {
			case normInvalid:
				if !nv.Strict {
					t.Fatalf("%s %q: invalid without strict", normName(nv), uri)
				}
				continue
			case normSame:
				if string(m.URI) != uri {
					t.Fatalf("%s %q: reported unchanged, got %q", normName(nv), uri, m.URI)
				}
			case normChanged:
				if string(m.URI) == uri {
					t.Fatalf("%s %q: reported changed, but is not", normName(nv), uri)
				}
			}
			if !bytes.Equal(m.Path, pathOf(m.URI)) {
				t.Fatalf("%s %q: path %q, want %q", normName(nv), uri, m.Path, pathOf(m.URI))
			}
			if start, ok := uriPath([]byte(uri)); ok && string(m.URI[:start]) != uri[:start] {
				t.Fatalf("%s %q: the scheme and authority changed: %q", normName(nv), uri, m.URI)
			}
			if nv.Normalizer == config.NormPercentDecodeUnreserved && !nv.Strict {
				continue
			}
			if nv.Normalizer == config.NormQuerySortByName && hasEmptyParam(m.URI) {
				continue
			}
			once := string(m.URI)
			if res := n.apply(&tx, m); res != normSame {
				t.Fatalf("%s: not idempotent: %q -> %q -> %q", normName(nv), uri, once, m.URI)
			}
		}
	})
}
