package rules

import (
	"bytes"
	"slices"

	"github.com/fjordlb/fjord/config"
)

// "http-request normalize-uri": HAProxy 2.6's URI normalizers
// (src/uri_normalizer.c), ported function by function, and the part of
// the target each one rewrites (http_act.c, http_action_normalize_uri):
//
//   - path-merge-slashes, path-strip-dot, path-strip-dotdot: the path,
//     up to the '?'; the query is kept;
//   - query-sort-by-name: the query, after the first '?' of the path;
//   - percent-to-uppercase, percent-decode-unreserved, fragment-strip,
//     fragment-encode: the path and the query together.
//
// The path is found as HAProxy's http_parse_path finds it: the whole
// target in origin form, what follows the authority in absolute form. A
// target without one ("*", an authority, "http://host") is left alone.
// Results are built in t.rendered, as the other rewrites'.

// normalizer is a compiled normalize-uri rule.
type normalizer struct {
	kind   config.URINormalizer
	full   bool // path-strip-dotdot full
	strict bool // percent-*: an invalid '%' makes the request invalid
}

func compileNormalizer(n config.NormalizeURI) *normalizer {
	return &normalizer{kind: n.Normalizer, full: n.Full, strict: n.Strict}
}

// normResult is what a normalizer did to a request.
type normResult uint8

const (
	normSame    normResult = iota // the target was already normal (or has no path)
	normChanged                   // m.URI and m.Path are the new target
	normInvalid                   // strict: a '%' without two hex digits (HAProxy's ACT_RET_INV: 400)
)

// apply normalizes m's target.
func (n *normalizer) apply(t *Txn, m *Msg) normResult {
	start, ok := uriPath(m.URI)
	if !ok {
		return normSame
	}
	path := m.URI[start:] // with the query
	off := len(t.rendered)
	t.rendered = append(t.rendered, m.URI[:start]...)
	switch n.kind {
	case config.NormPathMergeSlashes, config.NormPathStripDot, config.NormPathStripDotdot:
		p, q := path, []byte(nil)
		if i := bytes.IndexByte(path, '?'); i >= 0 {
			p, q = path[:i], path[i:]
		}
		switch n.kind {
		case config.NormPathMergeSlashes:
			t.rendered = appendPathMergeSlashes(t.rendered, p)
		case config.NormPathStripDot:
			t.rendered = appendPathStripDot(t.rendered, p)
		default:
			t.rendered = appendPathStripDotdot(t.rendered, p, n.full)
		}
		t.rendered = append(t.rendered, q...)
	case config.NormQuerySortByName:
		i := bytes.IndexByte(path, '?')
		if i < 0 {
			t.rendered = t.rendered[:off]
			return normSame
		}
		t.rendered = append(t.rendered, path[:i]...)
		t.rendered = appendQuerySort(t.rendered, path[i:], &t.params)
	case config.NormPercentToUppercase, config.NormPercentDecodeUnreserved:
		var valid bool
		if n.kind == config.NormPercentToUppercase {
			t.rendered, valid = appendPercentUpper(t.rendered, path, n.strict)
		} else {
			t.rendered, valid = appendPercentDecodeUnreserved(t.rendered, path, n.strict)
		}
		if !valid {
			t.rendered = t.rendered[:off]
			return normInvalid
		}
	case config.NormFragmentStrip:
		t.rendered = append(t.rendered, fragmentStrip(path)...)
	case config.NormFragmentEncode:
		t.rendered = appendFragmentEncode(t.rendered, path)
	}
	out := t.rendered[off:len(t.rendered):len(t.rendered)]
	if bytes.Equal(out, m.URI) {
		t.rendered = t.rendered[:off]
		return normSame
	}
	m.URI = out
	m.Path = pathOf(out)
	return normChanged
}

// uriPath is where the path of a request target starts, as HAProxy's
// http_parse_path: 0 in origin form; after "scheme://authority" in
// absolute form, the authority running to the first '/'. ok is false
// when there is no path: an empty target, "*", an authority-form target
// (no "scheme://"), or nothing after the authority.
func uriPath(uri []byte) (start int, ok bool) {
	if len(uri) == 0 || uri[0] == '*' {
		return 0, false
	}
	if uri[0] == '/' {
		return 0, true
	}
	if !isAlpha(uri[0]) {
		return 0, false
	}
	i := 1
	for i < len(uri) && (isAlpha(uri[i]) || isDigit(uri[i]) || uri[i] == '+' || uri[i] == '-' || uri[i] == '.') {
		i++
	}
	if !bytes.HasPrefix(uri[i:], []byte("://")) {
		return 0, false
	}
	j := bytes.IndexByte(uri[i+3:], '/')
	if j < 0 {
		return 0, false
	}
	return i + 3 + j, true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// unreserved reports whether c is in RFC 3986's unreserved set.
func unreserved(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_' || c == '~'
}

// appendFragmentEncode is uri_normalizer_fragment_encode: every '#'
// becomes "%23".
func appendFragmentEncode(dst, s []byte) []byte {
	for {
		i := bytes.IndexByte(s, '#')
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(append(dst, s[:i]...), "%23"...)
		s = s[i+1:]
	}
}

// fragmentStrip is uri_normalizer_fragment_strip: s up to the first '#'.
func fragmentStrip(s []byte) []byte {
	if i := bytes.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// appendPercentDecodeUnreserved is
// uri_normalizer_percent_decode_unreserved: a %XX that encodes an
// unreserved character becomes that character; another is kept as it
// is. A '%' not followed by two hex digits is kept, or, strict, makes s
// invalid (ok false).
func appendPercentDecodeUnreserved(dst, s []byte, strict bool) ([]byte, bool) {
	for {
		i := bytes.IndexByte(s, '%')
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) >= 3 && isHex(s[1]) && isHex(s[2]) {
			if c := byte(unhex(s[1])<<4 | unhex(s[2])); unreserved(c) { // both checked hex
				dst = append(dst, c)
			} else {
				dst = append(dst, s[:3]...)
			}
			s = s[3:]
			continue
		}
		if strict {
			return dst, false
		}
		dst = append(dst, '%')
		s = s[1:]
	}
}

// appendPercentUpper is uri_normalizer_percent_upper: the hex digits of
// a %xx become upper case. A '%' not followed by two hex digits is kept,
// or, strict, makes s invalid (ok false).
func appendPercentUpper(dst, s []byte, strict bool) ([]byte, bool) {
	for {
		i := bytes.IndexByte(s, '%')
		if i < 0 {
			return append(dst, s...), true
		}
		dst = append(dst, s[:i]...)
		s = s[i:]
		if len(s) >= 3 && isHex(s[1]) && isHex(s[2]) {
			dst = append(dst, '%', upper(s[1]), upper(s[2]))
			s = s[3:]
			continue
		}
		if strict {
			return dst, false
		}
		dst = append(dst, '%')
		s = s[1:]
	}
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// appendPathStripDot is uri_normalizer_path_dot: the "." segments of a
// path are removed with the '/' that follows them.
func appendPathStripDot(dst, path []byte) []byte {
	for s := path; len(s) > 0; {
		seg, slash := s, false
		if i := bytes.IndexByte(s, '/'); i >= 0 {
			seg, s, slash = s[:i], s[i+1:], true
		} else {
			s = s[len(s):]
		}
		if len(seg) == 1 && seg[0] == '.' {
			continue
		}
		dst = append(dst, seg...)
		if slash {
			dst = append(dst, '/')
		}
	}
	return dst
}

// appendPathStripDotdot is uri_normalizer_path_dotdot: each ".."
// segment removes itself and the segment before it, scanning the path
// from its end. Those with no segment left to remove are kept at the
// start ("/../b"), or, full, dropped. HAProxy writes the result
// backwards from the end of a buffer; this appends the same bytes in
// that order and reverses them.
func appendPathStripDotdot(dst, path []byte, full bool) []byte {
	base := len(dst)
	off := len(path) - 1
	up := 0
	// "/.." at the end, without a trailing slash.
	if off >= 2 && string(path[off-2:]) == "/.." {
		up++
		off -= 2
	}
	for off >= 0 {
		if off >= 3 && string(path[off-3:off+1]) == "/../" {
			up++
			off -= 3
			continue
		}
		if up > 0 {
			off-- // the slash
			// Pop a "/../" only if a segment is left to remove.
			if off >= 0 {
				up--
				for off >= 0 && path[off] != '/' {
					off--
				}
			}
		} else {
			// The slash (or the last byte), then the segment.
			dst = append(dst, path[off])
			off--
			for off >= 0 && path[off] != '/' {
				dst = append(dst, path[off])
				off--
			}
		}
	}
	if up > 0 {
		dst = append(dst, '/')
		if !full {
			for ; up > 0; up-- {
				dst = append(dst, '.', '.', '/')
			}
		}
	}
	slices.Reverse(dst[base:])
	return dst
}

// appendPathMergeSlashes is uri_normalizer_path_merge_slashes: a run of
// slashes becomes one.
func appendPathMergeSlashes(dst, path []byte) []byte {
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '/' {
			for i+1 < len(path) && path[i+1] == '/' {
				i++
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// span is a parameter of a query: query[from:to].
type span struct{ from, to int32 }

// appendQuerySort is uri_normalizer_query_sort with '&': the query's
// parameters (query starts with its '?') sorted by name, the part
// before any '=', bytewise, a shorter name first; parameters of one name
// keep their order. As in HAProxy, a trailing '&' is dropped ("?b&a&"
// becomes "?a&b") and an empty parameter between two '&' is kept (it
// sorts first). params is kept between calls, so that sorting allocates
// nothing once it has grown.
func appendQuerySort(dst, query []byte, params *[]span) []byte {
	dst = append(dst, query[0])
	ps := (*params)[:0]
	for pos := 1; pos < len(query); {
		end := len(query)
		if i := bytes.IndexByte(query[pos:], '&'); i >= 0 {
			end = pos + i
		}
		ps = append(ps, span{int32(pos), int32(end)})
		pos = end + 1
	}
	*params = ps
	name := func(p span) []byte {
		v := query[p.from:p.to]
		if i := bytes.IndexByte(v, '='); i >= 0 {
			return v[:i]
		}
		return v
	}
	slices.SortStableFunc(ps, func(a, b span) int { return bytes.Compare(name(a), name(b)) })
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, query[p.from:p.to]...)
	}
	return dst
}
