package config

import (
	"fmt"
	"strings"
)

// kwRedirect reads HAProxy's classic "redirect" rule:
//
//	redirect location|prefix|scheme TARGET [code CODE] [OPTION...] [if|unless COND]
//
// As in HAProxy (http_parse_redirect_rule), the words before the condition
// come in any order ("redirect code 301 prefix / drop-query") and a later
// target, code or cookie replaces an earlier one; fjord warns when one
// does. The target is a plain string, as HAProxy's classic keyword takes
// it; a '%' that does not start a %XX escape, such as the log-format
// expression '%[...]' of 'http-request redirect', is refused rather than
// sent as written.
func (p *parser) kwRedirect(px *Proxy, pos Pos, args []string) error {
	r, err := p.parseRedirect(px, pos, args)
	if err != nil {
		return err
	}
	if len(px.UseBackends) > 0 {
		p.notice(Warning, pos, "a 'redirect' rule placed after a 'use_backend' rule is still evaluated before every use_backend rule, as in HAProxy")
	}
	px.Redirects = append(px.Redirects, r)
	return nil
}

// parseRedirect reads a redirect rule's words, for "redirect" and
// "http-request redirect".
func (p *parser) parseRedirect(px *Proxy, pos Pos, args []string) (*Redirect, error) {
	r := &Redirect{Pos: pos, Code: 302}
	var (
		target, code, cookie string // the words that set each, for the warnings
		cond                 []string
	)
	replaced := func(what, before, now string) {
		p.notice(Warning, pos, "'redirect': '%s' replaces '%s' given before it on the line, as in HAProxy: a rule has one %s", now, before, what)
	}
	for i := 0; i < len(args); i++ {
		w := args[i]
		switch w {
		case "if", "unless":
			cond = args[i:]
			i = len(args)
			continue
		case "drop-query":
			r.Flags |= RedirectDropQuery
			continue
		case "append-slash":
			r.Flags |= RedirectAppendSlash
			continue
		case "ignore-empty":
			r.Flags |= RedirectIgnoreEmpty
			p.notice(Notice, pos, "'redirect': 'ignore-empty' changes nothing here: it only skips a rule whose log-format location is empty ('http-request redirect'), as in HAProxy")
			continue
		case "location", "prefix", "scheme", "code", "set-cookie", "clear-cookie":
		default:
			return nil, fmt.Errorf("'redirect': unknown option '%s' (expects location, prefix, scheme, code, set-cookie, clear-cookie, drop-query, append-slash or ignore-empty, then 'if' or 'unless')", w)
		}
		// The keywords that take the next word. An empty word is no
		// argument, as in HAProxy.
		if i+1 == len(args) || args[i+1] == "" {
			return nil, fmt.Errorf("'redirect': missing argument for '%s'", w)
		}
		i++
		v := args[i]
		switch w {
		case "location", "prefix", "scheme":
			kind, _ := redirectKindWords.parse(w)
			if err := checkRedirectTarget(kind, v); err != nil {
				return nil, err
			}
			if target != "" {
				replaced("target", target, w+" "+v)
			}
			r.Kind, r.Target, target = kind, v, w+" "+v
		case "code":
			n, err := redirectCode(v)
			if err != nil {
				return nil, err
			}
			if code != "" {
				replaced("code", code, w+" "+v)
			}
			r.Code, code = n, w+" "+v
		default: // set-cookie, clear-cookie
			if err := checkRedirectCookie(w, v); err != nil {
				return nil, err
			}
			if cookie != "" {
				replaced("cookie", cookie, w+" "+v)
			}
			r.Cookie, r.ClearCookie, cookie = v, w == "clear-cookie", w+" "+v
		}
	}
	if target == "" {
		return nil, fmt.Errorf("'redirect' expects its kind and target: 'location URL', 'prefix PREFIX' or 'scheme SCHEME'")
	}
	if r.Kind == RedirectLocation {
		for _, f := range []struct {
			flag RedirectFlags
			name string
		}{{RedirectDropQuery, "drop-query"}, {RedirectAppendSlash, "append-slash"}} {
			if r.Flags&f.flag != 0 {
				p.notice(Notice, pos, "'redirect': '%s' changes nothing on a 'redirect location', which is sent as written, as in HAProxy", f.name)
			}
		}
	}
	// The condition comes last: once it is parsed, its ACL names are
	// resolved when the section ends, so no error may follow it.
	if cond != nil {
		c, err := p.parseCondition(px, pos, cond)
		if err != nil {
			return nil, fmt.Errorf("'redirect': error in condition: %v", err)
		}
		r.Cond = c
	}
	return r, nil
}

// redirectCode reads a redirect's "code": only the five codes HAProxy
// sends, written as plain decimal numbers (HAProxy's atol would also take
// "301x").
func redirectCode(v string) (int, error) {
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' || i >= 3 {
			return 0, fmt.Errorf("'redirect': 'code' expects 301, 302, 303, 307 or 308, not '%s'", v)
		}
		n = n*10 + int(v[i]-'0')
	}
	if RedirectReason(n) == "" {
		return 0, fmt.Errorf("'redirect': unsupported HTTP code '%s' (must be one of 301, 302, 303, 307 or 308)", v)
	}
	return n, nil
}

// checkRedirectTarget refuses a target that cannot be sent as it is in a
// Location field: log-format expressions, which the classic keyword does
// not evaluate (HAProxy would send '%[path]' as written), control bytes
// and spaces, which would break the field or the head, and, for "scheme",
// anything but a URI scheme.
func checkRedirectTarget(kind RedirectKind, v string) error {
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && !(i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2])) {
			expr := v[i:]
			if j := strings.IndexByte(expr, ']'); strings.HasPrefix(expr, "%[") && j >= 0 {
				expr = expr[:j+1]
			} else if len(expr) > 3 {
				expr = expr[:3]
			}
			return fmt.Errorf("'redirect %s %s': log-format in redirect is not supported yet, and '%s' is not a %%XX escape: fjord sends the %s as written (write %%25 for a literal '%%')", kind, v, expr, kind)
		}
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("'redirect %s': the %s holds %q, which a Location field cannot carry", kind, kind, c)
		}
	}
	if kind == RedirectScheme && !isScheme(v) {
		return fmt.Errorf("'redirect scheme %s': expects a URI scheme such as 'https' (a letter, then letters, digits, '+', '-' or '.')", v)
	}
	return nil
}

// checkRedirectCookie refuses a cookie without a name and control bytes,
// which would break the Set-Cookie field.
func checkRedirectCookie(kw, v string) error {
	if v[0] == '=' {
		return fmt.Errorf("'redirect %s %s': expects NAME[=value], and the name is missing", kw, v)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c == 0x7f {
			return fmt.Errorf("'redirect %s': the cookie holds %q, which a Set-Cookie field cannot carry", kw, c)
		}
	}
	return nil
}

// isScheme reports whether v is a URI scheme (RFC 3986 §3.1).
func isScheme(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return v != ""
}
