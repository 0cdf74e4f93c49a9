package rules

import (
	"bytes"

	"github.com/fjordlb/fjord/config"
)

// url_param, as HAProxy's smp_fetch_url_param (src/http_fetch.c) with
// http_find_url_param_pos and http_find_next_url_param (src/http.c). In
// an ACL it gives every occurrence in turn, elsewhere the first.

func init() {
	fetchFns["url_param"] = func(t *Txn, a []config.Arg, it *iter) (Value, bool) {
		if t.Req == nil {
			return Value{}, false
		}
		var name string
		delim := byte('?')
		if len(a) > 0 {
			name = a[0].Str
		}
		if len(a) > 1 {
			delim = 0 // HAProxy takes the first byte, the NUL of an empty one
			if a[1].Str != "" {
				delim = a[1].Str[0]
			}
		}
		uri := t.Req.URI
		from := it.off
		if from == 0 { // the first call: the parameters follow the first delimiter
			i := bytes.IndexByte(uri, delim)
			if i < 0 {
				return Value{}, false
			}
			from = i + 1
		}
		val, next, ok := urlParam(uri, from, name, delim)
		if ok && it.all {
			it.off, it.more = next, next < len(uri)
		}
		return strValue(val), ok
	}
}

func isParamDelim(c, delim byte) bool { return c == '&' || c == ';' || c == delim }

// urlParam finds the value of the parameter name (any parameter when
// name is empty) in uri from the offset from, and where the search for
// the next one starts.
func urlParam(uri []byte, from int, name string, delim byte) (val []byte, next int, ok bool) {
	pos, last := from, len(uri)
	var start int
	if name == "" {
		// As HAProxy: the value after the next '=', wherever it is.
		i := bytes.IndexByte(uri[pos:], '=')
		if i < 0 {
			return nil, 0, false
		}
		start = pos + i + 1
	} else {
		for {
			if pos >= last {
				return nil, 0, false
			}
			eq := pos + len(name)
			if eq >= last {
				return nil, 0, false
			}
			if uri[eq] == '=' {
				if string(uri[pos:eq]) == name {
					break
				}
				pos = eq + 1
			}
			for pos < last && !isParamDelim(uri[pos], delim) {
				pos++
			}
			if pos >= last {
				return nil, 0, false
			}
			pos++
		}
		start = pos + len(name) + 1
	}
	end := start
	for end < last && !isParamDelim(uri[end], delim) {
		end++
	}
	return uri[start:end], end, true
}
