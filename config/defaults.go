package config

import (
	"fmt"
	"slices"
	"strings"
)

// Named defaults sections, as HAProxy 2.5+ has them (src/cfgparse-listen.c,
// cfg_parse_listen): "defaults [NAME] [from DEFAULTS]" and
// "frontend|backend|listen NAME [from DEFAULTS]". A proxy without 'from'
// starts from the last defaults section read, named or not; one with
// 'from' starts from the named one, which must be declared above it. A
// defaults section with 'from' starts from the named one instead of the
// built-in settings.
//
// A named defaults section may hold tcp-request, tcp-response,
// http-request, http-response and http-after-response rules (and the ACLs
// they use). HAProxy keeps a reference from each proxy to its defaults and
// runs the defaults' rules first, as one list with the proxy's own: an
// 'accept' or 'allow' among the defaults' rules ends the proxy's too. fjord
// puts the defaults' rules at the head of the proxy's lists, which is the
// same thing, given HAProxy's restrictions on who may inherit them
// (checkRulesUse): only frontends or only backends, never a listen or
// another defaults section.

// defaultsUse is how proxies used a defaults section so far.
type defaultsUse struct {
	// explicit: a 'from' named the section; implicit: a proxy without
	// 'from' started from it. HAProxy warns when both happen.
	explicit, implicit bool
	// rulesBy is the first proxy that inherited the section's rules:
	// after it, only proxies of its kind (frontends or backends) may.
	rulesBy *Proxy
}

// missingDefaults is a 'from' naming no defaults section above it,
// checked again once every section is read to say whether it names one
// declared later.
type missingDefaults struct {
	err  *Error
	name string
}

// defaultsHeader reads the arguments of a "defaults" line: [NAME] [from
// DEFAULTS]. As in HAProxy, "defaults from X" is an anonymous section
// starting from X, and "defaults from" a section named "from".
func defaultsHeader(args []string) (name, from string, err error) {
	switch {
	case len(args) == 0:
		return "", "", nil
	case len(args) == 1:
		return args[0], "", nil
	case len(args) == 2 && args[0] == "from":
		return "", args[1], checkFromName("defaults", args[1])
	case len(args) == 2 && args[1] == "from":
		return args[0], "", checkFromName("defaults "+args[0], "")
	case len(args) == 3 && args[1] == "from":
		return args[0], args[2], checkFromName("defaults "+args[0], args[2])
	case len(args) == 2 || args[1] != "from":
		return args[0], "", fmt.Errorf("'defaults %s': unexpected argument '%s' (expected 'from DEFAULTS')", args[0], args[1])
	}
	return args[0], args[2], fmt.Errorf("'defaults %s from %s': unexpected argument '%s'", args[0], args[2], args[3])
}

// proxyHeader reads the arguments of a "frontend", "backend" or "listen"
// line after its name: nothing, or "from DEFAULTS".
func proxyHeader(kw, name string, rest []string) (from string, err error) {
	switch {
	case len(rest) == 0:
		return "", nil
	case rest[0] != "from":
		hint := ""
		if kw != "backend" {
			hint = "; listening addresses go on 'bind' lines"
		}
		return "", fmt.Errorf("'%s %s': unexpected argument '%s' (expected 'from DEFAULTS'%s)", kw, name, rest[0], hint)
	case len(rest) == 1:
		return "", checkFromName(kw+" "+name, "")
	case len(rest) > 2:
		return rest[1], fmt.Errorf("'%s %s from %s': unexpected argument '%s'", kw, name, rest[1], rest[2])
	}
	return rest[1], checkFromName(kw+" "+name, rest[1])
}

func checkFromName(what, ref string) error {
	if ref == "" {
		return fmt.Errorf("'%s from' expects the name of a defaults section", what)
	}
	return nil
}

// openDefaults opens a defaults section: it resets every setting to the
// built-in defaults, or starts from the section 'from' names.
func (p *parser) openDefaults(pos Pos, args []string) {
	name, from, err := defaultsHeader(args)
	if err != nil {
		p.errorf(pos, "%v", err)
	}
	var d *Proxy
	src := p.findDefaults(pos, "defaults", name, from)
	if src != nil {
		d = p.inherit(src)
	} else {
		d = builtinDefaults()
		p.extra[d] = &proxyExtra{acls: map[string]*ACL{}}
	}
	d.Pos, d.Section, d.Name, d.Caps = pos, "defaults", name, CapFrontend|CapBackend
	if src != nil {
		p.inheritRules(pos, d, src)
	}
	p.defaults = d
	p.allDefaults = append(p.allDefaults, d)
	p.cur = d
}

// proxyDefaults returns the defaults section a new proxy starts from: the
// one 'from' names, else the last one read. It is nil when 'from' names
// none (an error given); the proxy then starts from the built-in settings.
func (p *parser) proxyDefaults(pos Pos, kw, name, from string) *Proxy {
	if from != "" {
		return p.findDefaults(pos, kw, name, from)
	}
	d := p.defaults
	p.extra[d].use.implicit = true
	p.warnMixedUse(pos, d)
	return d
}

// findDefaults returns the defaults section named ref among those above
// pos, for section kw NAME; nil, with an error, when there is none or
// ref is empty.
func (p *parser) findDefaults(pos Pos, kw, name, ref string) *Proxy {
	if ref == "" {
		return nil
	}
	var found []*Proxy
	for _, d := range p.allDefaults {
		if d.Name == ref {
			found = append(found, d)
		}
	}
	who := kw
	if name != "" {
		who += " '" + name + "'"
	}
	switch {
	case len(found) == 0 && kw == "defaults" && ref == name:
		// HAProxy looks the name up before the new section exists, so
		// this is its "not found"; saying why helps more.
		p.errorf(pos, "defaults section '%s' cannot inherit from itself: 'from' names a defaults section declared above this one", ref)
		return nil
	case len(found) == 0:
		e := errorf(pos, "defaults section '%s' not found for %s", ref, who)
		p.errs = append(p.errs, e)
		p.missingDefaults = append(p.missingDefaults, missingDefaults{err: e, name: ref})
		return nil
	case len(found) > 1:
		p.errorf(pos, "ambiguous defaults section name '%s' referenced by %s: it names the defaults sections at %s and %s", ref, who, found[0].Pos, found[1].Pos)
	}
	d := found[0]
	if i := strings.IndexFunc(ref, func(r rune) bool { return !isNameChar(r) }); i >= 0 {
		p.errorf(pos, "character '%c' is not permitted in defaults section name '%s' when designated by its name (section found at %s)", ref[i], ref, d.Pos)
	}
	p.extra[d].use.explicit = true
	p.warnMixedUse(pos, d)
	return d
}

// warnMixedUse gives HAProxy's warning about a defaults section used both
// by name and as the last one read: adding a section between them would
// silently change what the implicit users get.
func (p *parser) warnMixedUse(pos Pos, d *Proxy) {
	if u := p.extra[d].use; u.explicit && u.implicit {
		p.notice(Warning, pos, "defaults section '%s' (declared at %s) is explicitly referenced by another proxy and implicitly used here. To avoid any ambiguity don't mix both usage. Add a last defaults section not explicitly used or always use explicit references.", d.Name, d.Pos)
	}
}

// explainMissingDefaults says, of each 'from' that named no defaults
// section above it, whether it names one declared later.
func (p *parser) explainMissingDefaults() {
	for _, m := range p.missingDefaults {
		for _, d := range p.allDefaults {
			if d.Name == m.name {
				m.err.Msg += fmt.Sprintf(": the one at %s comes later, and 'from' can only name a defaults section declared above it", d.Pos)
				break
			}
		}
	}
}

// hasRules reports whether a defaults section holds tcp or http rules.
func hasRules(d *Proxy) bool {
	return len(d.TCPConnection)+len(d.TCPSession)+len(d.TCPContent)+len(d.TCPResponse)+
		len(d.HTTPRequest)+len(d.HTTPResponse)+len(d.HTTPAfterResponse) > 0
}

// inheritRules puts the rules (and the capture slots they declare) of
// px's defaults section d at the head of px's, once HAProxy's
// restrictions allow it.
func (p *parser) inheritRules(pos Pos, px, d *Proxy) {
	if err := p.checkRulesUse(px, d); err != nil {
		p.errorf(pos, "%v", err)
		return
	}
	p.extra[px].rulesFrom = d
	if px.Caps&CapFrontend != 0 {
		px.CaptureRequest = slices.Clip(slices.Clone(d.CaptureRequest))
		px.CaptureResponse = slices.Clip(slices.Clone(d.CaptureResponse))
	}
	// Clipped copies: appending the proxy's own rules must never write
	// into the defaults' arrays, which other proxies share.
	px.TCPConnection = slices.Clip(slices.Clone(d.TCPConnection))
	px.TCPSession = slices.Clip(slices.Clone(d.TCPSession))
	px.TCPContent = slices.Clip(slices.Clone(d.TCPContent))
	px.TCPResponse = slices.Clip(slices.Clone(d.TCPResponse))
	px.HTTPRequest = slices.Clip(slices.Clone(d.HTTPRequest))
	px.HTTPResponse = slices.Clip(slices.Clone(d.HTTPResponse))
	px.HTTPAfterResponse = slices.Clip(slices.Clone(d.HTTPAfterResponse))
}

// checkRulesUse applies HAProxy's restrictions on inheriting a defaults
// section's rules (cfg_parse_listen): its rules run as the proxy's, so a
// section serving both frontends and backends would run them twice on one
// request, and a listen is both at once; a defaults section cannot pass
// them on; connection and session rules need a frontend, response rules a
// backend. Capture slots declared by rules are a frontend's.
func (p *parser) checkRulesUse(px, d *Proxy) error {
	where := fmt.Sprintf("%s at %s", d, d.Pos)
	if hasRules(d) {
		use := &p.extra[d].use
		switch {
		case px.Section == "defaults":
			return fmt.Errorf("a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (%s)", where)
		case px.Section == "listen":
			return fmt.Errorf("a listen section cannot inherit from a defaults section defining TCP/HTTP rules (%s): use a frontend and a backend", where)
		case use.rulesBy != nil && use.rulesBy.Caps != px.Caps:
			return fmt.Errorf("frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (%s, already inherited by %s at %s)", where, use.rulesBy, use.rulesBy.Pos)
		case px.Caps == CapBackend && len(d.TCPConnection)+len(d.TCPSession) > 0:
			return fmt.Errorf("a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules (%s)", where)
		case px.Caps == CapFrontend && len(d.TCPResponse) > 0:
			return fmt.Errorf("a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules (%s)", where)
		}
		if use.rulesBy == nil {
			use.rulesBy = px
		}
	}
	if px.Caps&CapBackend != 0 && len(d.CaptureRequest)+len(d.CaptureResponse) > 0 {
		return fmt.Errorf("backend or defaults sections cannot inherit from a defaults section defining captures (%s)", where)
	}
	return nil
}

// dropInheritedHTTPRules leaves out the http rules a mode tcp proxy
// inherited: HAProxy runs no HTTP analyser in mode tcp, so they would
// never run. A proxy's own http rules there are an error
// (validateHTTPRules); inherited ones are the defaults section's, which
// may serve other proxies in mode http, so a warning says it.
func (p *parser) dropInheritedHTTPRules(px *Proxy) {
	d := p.extra[px].rulesFrom
	if d == nil || px.Mode == ModeHTTP || len(d.HTTPRequest)+len(d.HTTPResponse)+len(d.HTTPAfterResponse) == 0 {
		return
	}
	px.HTTPRequest = px.HTTPRequest[len(d.HTTPRequest):]
	px.HTTPResponse = px.HTTPResponse[len(d.HTTPResponse):]
	px.HTTPAfterResponse = px.HTTPAfterResponse[len(d.HTTPAfterResponse):]
	p.notice(Warning, px.Pos, "%s is in mode tcp: the http rules of %s (at %s) do not apply to it, as in HAProxy", px, d, d.Pos)
}

// anonymousDefaults refuses a rule keyword (or an ACL, or an
// inspect-delay) in a defaults section without a name, as HAProxy 2.5+
// does: rules in defaults are for named sections.
func anonymousDefaults(px *Proxy, what string) error {
	if px.Section == "defaults" && px.Name == "" {
		return fmt.Errorf("%s is not allowed in an anonymous 'defaults' section: name the section ('defaults NAME'), as HAProxy requires", what)
	}
	return nil
}
