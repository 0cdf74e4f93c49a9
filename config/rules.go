package config

import (
	"fmt"
	"math"
	"strings"
)

func (p *parser) kwACL(px *Proxy, pos Pos, args []string) error {
	if err := anonymousDefaults(px, "'acl'"); err != nil {
		return err
	}
	if len(args) < 2 {
		return fmt.Errorf("'acl' expects a name, a criterion and values")
	}
	name := args[0]
	if err := checkName("ACL", name); err != nil {
		return err
	}
	if predefinedACL(name) != nil {
		return fmt.Errorf("ACL name '%s' is reserved for HAProxy's predefined ACL", name)
	}
	term, err := parseACLTerm(p.exprCtx(pos), pos, args[1:])
	if err != nil {
		return fmt.Errorf("acl '%s': %v", name, err)
	}
	x := p.extra[px]
	acl := x.acls[name]
	if acl == nil {
		acl = &ACL{Pos: pos, Name: name}
		x.acls[name] = acl
		px.ACLs = append(px.ACLs, acl)
	}
	acl.Terms = append(acl.Terms, term)
	return nil
}

func (p *parser) kwUseBackend(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'use_backend' expects a backend name")
	}
	rule := &UseBackend{Pos: pos, Backend: args[0]}
	if strings.Contains(args[0], "%[") {
		f, err := p.parseFormat(pos, args[0])
		if err != nil {
			return fmt.Errorf("use_backend %s: %v", args[0], err)
		}
		rule.Dynamic = f
	}
	if len(args) > 1 {
		cond, err := p.parseCondition(px, pos, args[1:])
		if err != nil {
			return fmt.Errorf("use_backend %s: %v", args[0], err)
		}
		rule.Cond = cond
	}
	px.UseBackends = append(px.UseBackends, rule)
	return nil
}

// parseCondition parses "if|unless COND". ACL names are resolved when the
// section ends (see endSection); anonymous ACLs in braces are parsed now.
func (p *parser) parseCondition(px *Proxy, pos Pos, words []string) (*Condition, error) {
	c := &Condition{Pos: pos}
	switch words[0] {
	case "if":
	case "unless":
		c.Unless = true
	default:
		return nil, fmt.Errorf("expected 'if' or 'unless' before the condition, found '%s'", words[0])
	}
	words = words[1:]
	if len(words) == 0 {
		return nil, fmt.Errorf("missing condition after '%s'", map[bool]string{false: "if", true: "unless"}[c.Unless])
	}
	var (
		groups [][]condName
		cur    []condName
	)
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		if w == "or" || w == "||" {
			if len(cur) == 0 {
				return nil, fmt.Errorf("'%s' without a term before it", w)
			}
			groups, cur = append(groups, cur), nil
			continue
		}
		n := condName{pos: pos}
		if w == "!" {
			if len(words) == 0 {
				return nil, fmt.Errorf("'!' at the end of the condition")
			}
			n.negate, w, words = true, words[0], words[1:]
		} else if strings.HasPrefix(w, "!") {
			n.negate, w = true, w[1:]
		}
		switch w {
		case "{":
			end := -1
			for i, x := range words {
				if x == "}" {
					end = i
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("missing '}' to close the anonymous ACL")
			}
			term, err := parseACLTerm(p.exprCtx(pos), pos, words[:end])
			if err != nil {
				return nil, fmt.Errorf("anonymous ACL: %v", err)
			}
			n.anon = &ACL{Pos: pos, Name: "{" + strings.Join(words[:end], " ") + "}", Terms: []*ACLTerm{term}}
			words = words[end+1:]
		case "}":
			return nil, fmt.Errorf("'}' without a matching '{'")
		case "or", "||", "!", "":
			return nil, fmt.Errorf("expected an ACL name after '!', found '%s'", w)
		default:
			n.name = w
		}
		cur = append(cur, n)
	}
	if len(cur) == 0 {
		return nil, fmt.Errorf("condition ends with 'or'")
	}
	groups = append(groups, cur)
	x := p.extra[px]
	x.conds = append(x.conds, pendingCond{cond: c, names: groups})
	return c, nil
}

func (p *parser) kwStats(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'stats' expects a sub-keyword (enable, uri, auth, realm, refresh, admin, hide-version, prometheus-uri)")
	}
	st := &px.Stats
	sub, rest := args[0], args[1:]
	one := func() (string, error) {
		if len(rest) != 1 {
			return "", fmt.Errorf("'stats %s' expects one value", sub)
		}
		return rest[0], nil
	}
	var err error
	switch sub {
	case "enable":
		err = noArgs("stats enable", rest)
		st.Enabled = true
	case "uri":
		var v string
		if v, err = one(); err == nil {
			if !strings.HasPrefix(v, "/") {
				return fmt.Errorf("'stats uri %s': the URI must start with '/'", v)
			}
			st.URI, st.Enabled = v, true
		}
	case "realm":
		var v string
		if v, err = one(); err == nil {
			if strings.ContainsAny(v, "\"\r\n") {
				return fmt.Errorf("'stats realm': the realm must not contain quotes or line breaks")
			}
			st.Realm, st.Enabled = v, true
		}
	case "auth":
		var v string
		if v, err = one(); err == nil {
			user, pass, ok := strings.Cut(v, ":")
			if !ok || user == "" {
				return fmt.Errorf("'stats auth' expects USER:PASSWORD, found '%s'", v)
			}
			st.Auth, st.Enabled = append(st.Auth, Credential{User: user, Password: pass}), true
		}
	case "refresh":
		var v string
		if v, err = one(); err == nil {
			d, perr := parseDuration(v)
			if perr != nil {
				return fmt.Errorf("'stats refresh': %v", perr)
			}
			if len(v) > 0 && v[len(v)-1] >= '0' && v[len(v)-1] <= '9' {
				// HAProxy reads a bare "stats refresh" value in seconds.
				if d > math.MaxInt64/1000 {
					return fmt.Errorf("'stats refresh': invalid time value '%s': too large", v)
				}
				d *= 1000
			}
			st.Refresh, st.Enabled = d, true
		}
	case "admin":
		if len(rest) == 0 {
			return fmt.Errorf("'stats admin' expects 'if COND' or 'unless COND'")
		}
		cond, cerr := p.parseCondition(px, pos, rest)
		if cerr != nil {
			return fmt.Errorf("stats admin: %v", cerr)
		}
		st.Admin = append(st.Admin, cond)
	case "hide-version":
		err = noArgs("stats hide-version", rest)
		st.HideVersion, st.Enabled = true, true
	case "prometheus-uri":
		var v string
		if v, err = one(); err == nil {
			if !strings.HasPrefix(v, "/") {
				return fmt.Errorf("'stats prometheus-uri %s': the URI must start with '/'", v)
			}
			st.PrometheusURI, st.Enabled = v, true
		}
	case "socket", "timeout":
		return fmt.Errorf("'stats %s' is only allowed in the 'global' section", sub)
	case "show-legends", "show-node", "show-desc", "scope", "bind-process", "http-request":
		return fmt.Errorf("'stats %s' is not supported by fjord", sub)
	default:
		return fmt.Errorf("unknown 'stats %s' (supported: enable, uri, auth, realm, refresh, admin, hide-version, prometheus-uri)", sub)
	}
	return err
}
