package engine

import (
	"net/netip"
	"strings"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// sample is what conditions read: the client address, the request head
// (nil in tcp mode), the client's TLS session (nil when it is not TLS)
// and, in tcp mode, the ClientHello peeked before forwarding (nil when
// none was looked at, or what was peeked is not one).
type sample struct {
	src   netip.Addr
	req   *h1.Request
	tls   *TLSInfo
	hello *helloInfo
}

// helloInfo is what req.ssl_* reads of a peeked ClientHello.
type helloInfo struct {
	sni       string
	helloType int64
	version   int64 // HAProxy's req.ssl_ver: major<<16 | minor
	alpn      []string
	// ext: the hello has an extension list (TLS 1.0 and later); only
	// then do ecExt and stExt have a value, as in HAProxy.
	ext, ecExt bool
	stExt      int64
}

// evalCondition evaluates an "if"/"unless" condition. Configuration
// validation refuses criteria that the sample cannot have (HTTP in tcp
// mode, a ClientHello in http mode); one that is missing does not match.
func evalCondition(c *config.Condition, sm *sample) bool {
	match := false
	for _, and := range c.Or {
		all := true
		for _, t := range and {
			if matchACL(t.ACL, sm) == t.Negate {
				all = false
				break
			}
		}
		if all {
			match = true
			break
		}
	}
	return match != c.Unless
}

// matchACL reports whether any term of a (an ACL declared on several lines
// is their OR) matches.
func matchACL(a *config.ACL, sm *sample) bool {
	for _, t := range a.Terms {
		if matchTerm(t, sm) {
			return true
		}
	}
	return false
}

func matchTerm(t *config.ACLTerm, sm *sample) bool {
	src, req := sm.src, sm.req
	switch t.Criterion {
	case config.CritTrue:
		return true
	case config.CritFalse:
		return false
	case config.CritSrc:
		src = src.Unmap() // an IPv4 client on a dual-stack socket
		for _, n := range t.Nets {
			if n.Addr().Is4In6() && n.Bits() >= 96 {
				// ::ffff:a.b.c.d/N is the IPv4 network a.b.c.d/N-96.
				n = netip.PrefixFrom(n.Addr().Unmap(), n.Bits()-96)
			}
			if n.Contains(src) {
				return true
			}
			// HAProxy looks IPv4 clients up as ::ffff:a.b.c.d too, so
			// that an IPv6 network such as ::/0 covers them.
			if src.Is4() && n.Addr().Is6() && n.Contains(netip.AddrFrom16(src.As16())) {
				return true
			}
		}
		return false
	}
	if t.Criterion >= config.CritSSLFc {
		return matchTLS(t, sm)
	}
	if req == nil {
		return false
	}
	switch t.Criterion {
	case config.CritMethod:
		return matchValues(t, req.Method)
	case config.CritPathReg:
		for _, re := range t.Regexps {
			if re.Match(req.Path) {
				return true
			}
		}
		return false
	case config.CritPath, config.CritPathBeg, config.CritPathEnd, config.CritPathSub, config.CritPathDir:
		return matchValues(t, req.Path)
	}
	if t.Criterion.IsHeader() {
		// Like HAProxy's hdr(), every occurrence of the header, and every
		// comma-separated value of each, is a candidate sample.
		for _, h := range req.Headers {
			if !asciiEqualFold(h.Name, t.Header) {
				continue
			}
			v := h.Value
			for len(v) > 0 {
				item := v
				if i := indexByte(v, ','); i >= 0 {
					item, v = v[:i], v[i+1:]
				} else {
					v = nil
				}
				if matchValues(t, trimOWS(item)) {
					return true
				}
			}
		}
	}
	return false
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// matchValues matches a sample against the term's patterns with the term's
// method (exact, prefix, suffix, substring, dir, dom).
func matchValues(t *config.ACLTerm, sample []byte) bool {
	for _, v := range t.Values {
		if matchOne(t.Criterion, t.IgnoreCase, sample, v) {
			return true
		}
	}
	return false
}

func matchOne(c config.Criterion, fold bool, s []byte, p string) bool {
	switch c {
	case config.CritPath, config.CritHdr, config.CritMethod:
		return equal(s, p, fold)
	case config.CritPathBeg, config.CritHdrBeg:
		return len(s) >= len(p) && equal(s[:len(p)], p, fold)
	case config.CritPathEnd, config.CritHdrEnd:
		return len(s) >= len(p) && equal(s[len(s)-len(p):], p, fold)
	case config.CritPathSub, config.CritHdrSub:
		return index(s, p, fold) >= 0
	case config.CritPathDir:
		return matchDelimited(s, p, dirDelims, fold)
	case config.CritHdrDom:
		return matchDelimited(s, p, domDelims, fold)
	}
	return false
}

// The delimiters of HAProxy's "dir" and "dom" matching (pattern.c:
// pat_match_dir and pat_match_dom).
const (
	dirDelims = "/?"
	domDelims = "/?.:"
)

// matchDelimited is HAProxy's "dir" and "dom" matching: p, stripped of
// leading and trailing delimiters, must appear in s bounded by delimiters or
// by the ends of s. "/images" matches "/images/logo.png" and "/a/images",
// not "/imagesX"; "example.com" matches "www.example.com:8080".
func matchDelimited(s []byte, p string, delims string, fold bool) bool {
	isDelim := func(c byte) bool {
		for i := 0; i < len(delims); i++ {
			if delims[i] == c {
				return true
			}
		}
		return false
	}
	for len(p) > 0 && isDelim(p[0]) {
		p = p[1:]
	}
	for len(p) > 0 && isDelim(p[len(p)-1]) {
		p = p[:len(p)-1]
	}
	if p == "" {
		return false
	}
	for off := 0; off+len(p) <= len(s); {
		i := index(s[off:], p, fold)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(p)
		if (start == 0 || isDelim(s[start-1])) && (end == len(s) || isDelim(s[end])) {
			return true
		}
		off = start + 1
	}
	return false
}

func equal(s []byte, p string, fold bool) bool {
	if fold {
		return asciiEqualFold(s, p)
	}
	return string(s) == p // no allocation: the compiler compares in place
}

func index(s []byte, p string, fold bool) int {
	for i := 0; i+len(p) <= len(s); i++ {
		if equal(s[i:i+len(p)], p, fold) {
			return i
		}
	}
	return -1
}

// asciiEqualFold compares ASCII case-insensitively without allocating.
func asciiEqualFold(s []byte, p string) bool {
	if len(s) != len(p) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], p[i]
		if a != b && lower(a) != lower(b) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// EvalCondition evaluates an "if"/"unless" condition for a request parsed
// with h1 (nil outside HTTP) from src. The stats page uses it for "stats
// admin if COND".
func EvalCondition(c *config.Condition, src netip.Addr, req *h1.Request) bool {
	return evalCondition(c, &sample{src: src, req: req})
}

// matchTLS matches the criteria that read the client's TLS session or
// the peeked ClientHello.
func matchTLS(t *config.ACLTerm, sm *sample) bool {
	c := t.Criterion
	if c.ReadsHello() {
		h := sm.hello
		if h == nil {
			return false
		}
		switch c {
		case config.CritReqSSLHelloType:
			return matchRanges(t, h.helloType)
		case config.CritReqSSLVer:
			return matchRanges(t, h.version)
		case config.CritReqSSLECExt:
			return h.ext && h.ecExt
		case config.CritReqSSLSTExt:
			return h.ext && matchRanges(t, h.stExt)
		case config.CritReqSSLALPN:
			for _, p := range h.alpn {
				if matchString(t, p) {
					return true
				}
			}
			return false
		}
		return h.sni != "" && matchName(t, h.sni)
	}
	info := sm.tls
	if c == config.CritSSLFc {
		return info != nil
	}
	if info == nil {
		return false
	}
	switch c {
	case config.CritSSLCUsed:
		return info.PeerCertificate != nil
	case config.CritSSLCVerify:
		// A value on every TLS connection, 0 without a certificate,
		// as HAProxy's (OpenSSL's SSL_get_verify_result).
		return matchRanges(t, info.VerifyResult)
	case config.CritSSLFcSNI, config.CritSSLFcSNIEnd, config.CritSSLFcSNIReg:
		return info.ServerName != "" && matchName(t, info.ServerName)
	case config.CritSSLFcProtocol:
		return matchString(t, protocolName(info.Version))
	case config.CritSSLFcCipher:
		return matchString(t, opensslSuiteName(info.CipherSuite))
	case config.CritSSLFcALPN:
		return info.ALPN != "" && matchString(t, info.ALPN)
	case config.CritSSLCSDN:
		return info.PeerCertificate != nil && matchString(t, info.subjectDN())
	}
	return false
}

// matchName matches a server name exactly, by suffix or by regular
// expression, as the criterion says.
func matchName(t *config.ACLTerm, name string) bool {
	switch t.Criterion {
	case config.CritSSLFcSNIReg, config.CritReqSSLSNIReg:
		for _, re := range t.Regexps {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	case config.CritSSLFcSNIEnd, config.CritReqSSLSNIEnd:
		for _, v := range t.Values {
			if len(name) >= len(v) && equalString(name[len(name)-len(v):], v, t.IgnoreCase) {
				return true
			}
		}
		return false
	}
	return matchString(t, name)
}

// matchString is an exact match against any of the term's values.
func matchString(t *config.ACLTerm, s string) bool {
	for _, v := range t.Values {
		if equalString(s, v, t.IgnoreCase) {
			return true
		}
	}
	return false
}

func equalString(s, p string, fold bool) bool {
	if fold {
		return strings.EqualFold(s, p)
	}
	return s == p
}

func matchRanges(t *config.ACLTerm, v int64) bool {
	for _, r := range t.Ranges {
		if r.Contains(v) {
			return true
		}
	}
	return false
}
