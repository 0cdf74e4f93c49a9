package balancer

import (
	"bytes"
	"net/netip"
)

// Request is what the hash algorithms may read from a new connection or
// HTTP request. Fields that do not apply are left empty; a missing key makes
// the algorithm fall back to round robin, as in HAProxy.
type Request struct {
	Src     netip.Addr
	URI     []byte       // request target, path and query
	Headers HeaderGetter // nil in tcp mode
}

// HeaderGetter looks up the first value of a request header by its
// lower-case name.
type HeaderGetter interface {
	Header(name string) ([]byte, bool)
}

// uriKey applies "balance uri" options: the path only unless whole, cut
// after depth directories and to len characters.
func uriKey(uri []byte, maxLen, depth int, whole bool) []byte {
	if !whole {
		if i := bytes.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
	}
	if depth > 0 {
		n := 0
		for i, c := range uri {
			if c == '/' {
				n++
				if n > depth {
					uri = uri[:i]
					break
				}
			}
		}
	}
	if maxLen > 0 && len(uri) > maxLen {
		uri = uri[:maxLen]
	}
	return uri
}

// urlParam returns the value of query parameter name.
func urlParam(uri []byte, name string) ([]byte, bool) {
	i := bytes.IndexByte(uri, '?')
	if i < 0 {
		return nil, false
	}
	q := uri[i+1:]
	for len(q) > 0 {
		var pair []byte
		if j := bytes.IndexByte(q, '&'); j >= 0 {
			pair, q = q[:j], q[j+1:]
		} else {
			pair, q = q, nil
		}
		if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
			v := pair[len(name)+1:]
			return v, len(v) > 0
		}
	}
	return nil, false
}

// domainOnly keeps the main domain word of a Host value, as HAProxy's
// use_domain_only: "www.example.com:80" hashes "example".
func domainOnly(host []byte) []byte {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host, ']') < i {
		host = host[:i]
	}
	last := bytes.LastIndexByte(host, '.')
	if last < 0 {
		return host
	}
	prev := bytes.LastIndexByte(host[:last], '.')
	return host[prev+1 : last]
}
