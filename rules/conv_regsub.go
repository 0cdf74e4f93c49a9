package rules

import (
	"regexp"
	"regexp/syntax"

	"github.com/fjordlb/fjord/config"
)

// regsub(regex,subst[,flags]): sed's s/regex/subst/ as HAProxy's
// sample_conv_regsub (src/sample.c) runs it. The expression is run on
// what remains after each match as on a subject of its own, as PCRE is
// there, so that nothing before it is seen; HAProxy passes REG_NOTBOL
// after the first match, which rules get from a second compilation of
// the expression where '^' (and \A) never match. With (?m), a '^' after
// a newline still matches, and one at the start of what remains does
// too: Go's regexp cannot tell that position from a line start.
//
// Go's regexp has no way to give the positions of a match into a
// caller's buffer, so regsub allocates a small slice per match found.

func init() {
	convMakers["regsub"] = func(_ *Compiler, a []config.Arg) convFn {
		re := a[0].Regexp
		notBOL := withoutTextStart(re)
		global := len(a) > 2 && a[2].Int&config.RegsubGlobal != 0
		subst := a[1].Str
		return func(t *Txn, _ []config.Arg, v Value) (Value, bool) {
			off := len(t.scratch)
			t.scratch = appendRegsub(t.scratch, v.B, re, notBOL, subst, global)
			v.B = t.built(off)
			return v, true
		}
	}
}

// appendRegsub appends in with re's first match (every match when
// global) replaced by subst.
func appendRegsub(dst, in []byte, re, notBOL *regexp.Regexp, subst string, global bool) []byte {
	start := 0
	for first := true; ; first = false {
		var m []int
		if first {
			m = re.FindSubmatchIndex(in)
		} else if global {
			m = notBOL.FindSubmatchIndex(in[start:])
		}
		if m == nil {
			return append(dst, in[start:]...)
		}
		dst = append(dst, in[start:start+m[0]]...)
		dst, _ = appendExpReplace(dst, in[start:], subst, m) // config checked subst
		if start >= len(in) {
			return dst
		}
		end := m[1]
		if end == 0 {
			// An empty match at the start: the next character is
			// copied, and the search goes on after it.
			dst = append(dst, in[start])
			end++
		}
		start += end
	}
}

// appendExpReplace is HAProxy's exp_replace: subst with "\N" replaced by
// group N of the match m in src (nothing when the group did not take
// part), "\xHH" by the byte HH and a backslash before any other character
// by that character. It fails as exp_replace on a backslash at the end or
// an incomplete "\x" (config.CheckSubstitution refuses those in regsub).
func appendExpReplace(dst, src []byte, subst string, m []int) ([]byte, bool) {
	for i := 0; i < len(subst); i++ {
		c := subst[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i++; i == len(subst) {
			return dst, false
		}
		switch c = subst[i]; {
		case c >= '0' && c <= '9':
			n := int(c-'0') * 2
			if n+1 < len(m) && m[n] >= 0 && m[n+1] >= 0 {
				dst = append(dst, src[m[n]:m[n+1]]...)
			}
		case c == 'x':
			if i+2 >= len(subst) {
				return dst, false
			}
			// As HAProxy, without checking that these are hex digits.
			h := func(c byte) byte {
				c = upperASCII(c) - '0'
				if c > 9 {
					c -= 'A' - '9' - 1
				}
				return c
			}
			dst = append(dst, h(subst[i+1])<<4+h(subst[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst, true
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// withoutTextStart returns re where '^' outside (?m) and \A never match:
// re run with HAProxy's REG_NOTBOL. It returns re itself when re has no
// such assertion.
func withoutTextStart(re *regexp.Regexp) *regexp.Regexp {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		panic("rules: " + err.Error()) // it compiled once
	}
	found := false
	var walk func(r *syntax.Regexp)
	walk = func(r *syntax.Regexp) {
		if r.Op == syntax.OpBeginText {
			*r = syntax.Regexp{Op: syntax.OpNoMatch}
			found = true
		}
		for _, s := range r.Sub {
			walk(s)
		}
	}
	walk(tree)
	if !found {
		return re
	}
	return regexp.MustCompile(tree.String())
}
