package rules

import (
	"strings"

	"github.com/fjordlb/fjord/config"
)

// field and word: a part of a string cut at delimiters, as HAProxy's
// sample_conv_field and sample_conv_word (src/sample.c), whose loops
// these follow step by step.

func init() {
	convFns["field"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		b, ok := field(v.B, a[0].Int, a[1].Str, countArg(a))
		v.B = b
		return v, ok
	}
	convFns["word"] = func(_ *Txn, a []config.Arg, v Value) (Value, bool) {
		v.B = word(v.B, a[0].Int, a[1].Str, countArg(a))
		return v, true
	}
}

// countArg is the optional third argument: how many fields or words to
// take, 0 (or less) for all that remain; 1 by default.
func countArg(a []config.Arg) int64 {
	if len(a) > 2 {
		return a[2].Int
	}
	return 1
}

// field gives the idx-th field of s (from 1, or from -1 at the end),
// fields being separated by any byte of delims, and count-1 more with
// the delimiters between them. Empty fields count. ok is false when s
// has fewer fields than |idx|.
func field(s []byte, idx int64, delims string, count int64) (_ []byte, ok bool) {
	if idx == 0 {
		return nil, false
	}
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	var start, end int
	if idx < 0 {
		f := int64(-1)
		start, end = len(s), len(s)
		for ; start > 0; start-- {
			if !isDelim(s[start-1]) {
				continue
			}
			if f == idx {
				if count == 1 {
					return s[start:end], true
				} else if count > 1 {
					count--
				}
			} else {
				end = start - 1
				f--
			}
		}
		if f != idx {
			return nil, false
		}
		return s[start:end], true
	}
	f := int64(1)
	for ; end < len(s); end++ {
		if !isDelim(s[end]) {
			continue
		}
		if f == idx {
			if count == 1 {
				return s[start:end], true
			} else if count > 1 {
				count--
			}
		} else {
			start = end + 1
			f++
		}
	}
	if f != idx {
		return nil, false
	}
	return s[start:end], true
}

// word gives the idx-th word of s (from 1, or from -1 at the end), words
// being the runs of bytes that are not in delims, and count-1 more with
// what separates them. When s has fewer words than |idx| the result is
// empty, not missing, as in HAProxy. When count goes past the last word,
// the separators that end s are part of the result.
func word(s []byte, idx int64, delims string, count int64) []byte {
	if idx == 0 {
		return s[:0]
	}
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	w, inWord := int64(0), false
	var start, end int
	if idx < 0 {
		start, end = len(s), len(s)
		for ; start > 0; start-- {
			sep := isDelim(s[start-1])
			switch {
			case !inWord && !sep:
				if w != idx {
					w--
					end = start
				}
				inWord = true
			case inWord && sep:
				if w == idx {
					if count == 1 {
						return s[start:end]
					} else if count > 1 {
						count--
					}
				}
				inWord = false
			}
		}
	} else {
		for ; end < len(s); end++ {
			sep := isDelim(s[end])
			switch {
			case !inWord && !sep:
				if w != idx {
					w++
					start = end
				}
				inWord = true
			case inWord && sep:
				if w == idx {
					if count == 1 {
						return s[start:end]
					} else if count > 1 {
						count--
					}
				}
				inWord = false
			}
		}
	}
	if w != idx {
		return s[:0]
	}
	return s[start:end]
}
