package config

import (
	"net/netip"
)

// validate checks what spans sections and fills in derived defaults.
func (p *parser) validate() {
	cfg := p.cfg
	for _, px := range cfg.Proxies {
		x := p.extra[px]
		if x.logGlobal {
			px.Logs = append(append([]LogTarget(nil), cfg.Global.Logs...), px.Logs...)
			if len(px.Logs) > maxLogTargetsPerProxy {
				p.errorf(px.Pos, "%s has %d log targets with 'log global': at most %d per proxy", px, len(px.Logs), maxLogTargetsPerProxy)
			}
		}
		p.validateStats(px)
		p.validateRedirects(px)
		p.dropInheritedHTTPRules(px)
		p.validateHTTPRules(px)
		p.validateMonitor(px)
		if px.Caps&CapFrontend != 0 {
			p.validateFrontend(px)
		}
		if px.Caps&CapBackend != 0 {
			p.validateBackend(px)
		}
	}
	p.validateErrorPages()
	p.validateListeners()
	p.validateInheritedFDs()
	p.validatePendingNames()
	p.resolveReplyErrorfiles()
	// lastPos is empty only when no file could be read; that error says it.
	if len(cfg.Frontends()) == 0 && p.lastPos.File != "" {
		p.errorf(p.lastPos, "no frontend or listen section: nothing would accept connections")
	}
}

func (p *parser) validateStats(px *Proxy) {
	st := &px.Stats
	if !st.Enabled {
		return
	}
	if st.URI == "" {
		st.URI = defaultStatsURI
	}
	if st.Realm == "" {
		st.Realm = DefaultStatsRealm
	}
	if px.Mode != ModeHTTP {
		p.errorf(px.Pos, "%s: the stats page needs 'mode http'", px)
		return
	}
	if len(st.Auth) == 0 && !(loopbackOnly(px) && !p.routedTo(px)) {
		p.notice(Warning, px.Pos, "%s: the stats page at '%s' is not password protected; add 'stats auth USER:PASSWORD'", px, st.URI)
	}
	p.noticeStatsResponseRules(px)
}

// noticeStatsResponseRules says where the http-response rules that
// HAProxy runs on the answers of px's stats page do not run in fjord:
// the page answers off the event loop, its answer through the
// http-after-response rules alone.
func (p *parser) noticeStatsResponseRules(px *Proxy) {
	for _, fe := range p.cfg.Proxies {
		if len(fe.HTTPResponse) == 0 || fe != px && (fe.Caps&CapFrontend == 0 || !routes(fe, px)) {
			continue
		}
		p.notice(Notice, fe.HTTPResponse[0].Pos, "%s: its http-response rules do not run on the answers of the stats page of %s, as HAProxy runs them; its http-after-response rules do", fe, px)
	}
}

// routes reports whether frontend fe's use_backend or default_backend
// names px.
func routes(fe, px *Proxy) bool {
	if fe.DefaultBackend == px.Name {
		return true
	}
	for _, ub := range fe.UseBackends {
		if ub.Backend == px.Name {
			return true
		}
	}
	return false
}

// routedTo reports whether another section's use_backend or
// default_backend names px: its stats page then answers their clients too.
func (p *parser) routedTo(px *Proxy) bool {
	for _, fe := range p.cfg.Frontends() {
		if fe != px && routes(fe, px) {
			return true
		}
	}
	return false
}

// loopbackOnly reports whether px accepts connections only from this host:
// it binds, and only to loopback addresses and Unix sockets. An open stats
// page there is a choice, not an oversight (examples/fjord.cfg makes it).
func loopbackOnly(px *Proxy) bool {
	if len(px.Binds) == 0 {
		return false // a backend's page is reached through any frontend
	}
	for _, b := range px.Binds {
		if !b.Unix.IsValid() && !b.Addr.Addr().IsLoopback() {
			return false
		}
	}
	return true
}

// validateRedirects refuses redirect rules in mode tcp, where there is no
// request to answer. HAProxy ignores them there with a warning; a rule
// that never acts is more likely a mistake than a wish.
func (p *parser) validateRedirects(px *Proxy) {
	if px.Mode == ModeHTTP {
		return
	}
	for _, r := range px.Redirects {
		p.errorf(r.Pos, "%s is in mode tcp: 'redirect' answers HTTP requests and needs 'mode http' (HAProxy ignores the rule with a warning)", px)
	}
}

func (p *parser) validateFrontend(px *Proxy) {
	p.checkBindALPN(px)
	p.validateLineFormats(px)
	if len(px.Binds) == 0 {
		p.errorf(px.Pos, "%s has no 'bind' line, so it accepts no connection; declare it as a backend if this was intended", px)
	}
	check := func(pos Pos, name, what string) {
		be := p.cfg.Backend(name)
		if be == nil {
			p.errorf(pos, "%s: %s refers to undefined backend '%s'", px, what, name)
			return
		}
		if be.Mode != px.Mode {
			p.errorf(pos, "%s (mode %s) cannot use backend '%s' (mode %s): the modes must match", px, px.Mode, name, be.Mode)
		}
	}
	p.validateTCPRules(px)
	for _, r := range px.UseBackends {
		if r.Dynamic != nil {
			if px.Mode == ModeTCP && r.Dynamic.Need()&(ReadsReq|ReadsMsg) != 0 {
				p.errorf(r.Pos, "%s is in mode tcp but the use_backend name reads the HTTP request", px)
			}
			continue // its names are known per request
		}
		check(r.Pos, r.Backend, "use_backend")
		if r.Cond != nil && px.Mode == ModeTCP && r.Cond.NeedsHTTP() {
			p.errorf(r.Pos, "%s is in mode tcp but the use_backend condition reads the HTTP request; use 'mode http' or an 'src' condition", px)
		}
	}
	if px.DefaultBackend != "" {
		check(px.DefaultBackPos, px.DefaultBackend, "default_backend")
	} else if px.Caps&CapBackend == 0 && len(px.UseBackends) == 0 && !px.Stats.Enabled {
		p.notice(Warning, px.Pos, "%s has neither 'default_backend' nor 'use_backend': its connections will be refused (503 in mode http)", px)
	}
	if px.HTTPLog && px.Mode == ModeTCP {
		p.notice(Warning, px.Pos, "%s: 'option httplog' needs 'mode http'; falling back to 'option tcplog', as HAProxy does", px)
	}
}

func (p *parser) validateBackend(px *Proxy) {
	if px.Caps&CapFrontend == 0 {
		p.validateTCPRules(px) // a listen section's were checked with its frontend side
	}
	if px.Mode == ModeTCP && px.Balance.Algorithm.NeedsHTTP() {
		p.errorf(px.Pos, "%s: 'balance %s' reads the HTTP request and needs 'mode http'", px, px.Balance.Algorithm)
	}
	layer7Default := px.Mode == ModeHTTP && px.HTTPCheck == nil && !px.TCPCheck
	passes := "any status below 500 passes"
	if px.CheckExpect != nil {
		passes = "'http-check expect' decides what passes"
	}
	for _, s := range px.Servers {
		p.finishServerTLS(px, s)
		if s.Observe == ObserveLayer7 && px.Mode != ModeHTTP {
			p.errorf(s.Pos, "server '%s': 'observe layer7' needs 'mode http'", s.Name)
		}
		if s.Observe != ObserveNone && !s.Check {
			// A server that passive checks take down comes back only
			// through its active checks.
			p.errorf(s.Pos, "server '%s': 'observe' needs 'check' on the same server", s.Name)
		}
		if s.Check && layer7Default && !p.extra[px].checkNote {
			p.extra[px].checkNote = true
			p.notice(Notice, s.Pos, "%s: in mode http, 'check' performs a layer-7 check (GET /, %s) where HAProxy only connects; add 'option tcp-check' for a layer-4 check or 'option httpchk' to choose the request", px, passes)
		}
	}
}

// validateListeners refuses two bind lines on the same address and port:
// with SO_REUSEPORT both would bind, and the kernel would split connections
// between them at random. A specific address beside a wildcard on the same
// port is fine: the kernel prefers the more specific socket, as HAProxy
// users expect. The same Unix socket twice, or a Unix bind on the path of
// a runtime API socket, is refused too: the last to bind would take the
// path from the other.
func (p *parser) validateListeners() {
	type owner struct {
		px *Proxy
		b  *Bind
	}
	seen := map[netip.AddrPort]owner{}
	paths := map[UnixAddr]owner{}
	for _, px := range p.cfg.Frontends() {
		for _, b := range px.Binds {
			if b.Inherited {
				continue // validateInheritedFDs
			}
			if b.Unix.IsValid() {
				if o, ok := paths[b.Unix]; ok {
					p.errorf(b.Pos, "%s: Unix socket %s is already bound by %s at %s", px, b.Unix, o.px, o.b.Pos)
					continue
				}
				paths[b.Unix] = owner{px, b}
				for _, sc := range p.cfg.Global.StatsSockets {
					if sc.Path != "" && sc.Path == b.Unix.Path && !b.Unix.Abstract {
						p.errorf(b.Pos, "%s: Unix socket %s is the runtime API's ('stats socket' at %s)", px, b.Unix, sc.Pos)
					}
				}
				continue
			}
			if o, ok := seen[b.Addr]; ok {
				p.errorf(b.Pos, "%s: address %s is already bound by %s at %s", px, b.Addr, o.px, o.b.Pos)
				continue
			}
			seen[b.Addr] = owner{px, b}
		}
	}
}

// validatePendingNames checks the backend and userlist names that sample
// arguments refer to (nbsrv(), http_auth()).
func (p *parser) validatePendingNames() {
	for _, n := range p.pendingNames {
		switch n.kind {
		case ArgBackend:
			if p.cfg.Backend(n.name) == nil {
				p.errorf(n.pos, "no backend '%s'", n.name)
			}
		case ArgUserlist:
			if n.arg.Userlist = p.cfg.Userlist(n.name); n.arg.Userlist == nil {
				p.errorf(n.pos, "no userlist '%s'", n.name)
			}
		}
	}
}

// validateHTTPRules checks that HTTP rules stand where they can run:
// in mode http, and reading only what their rule set has.
func (p *parser) validateHTTPRules(px *Proxy) {
	for _, set := range [][]*HTTPRule{px.HTTPRequest, px.HTTPResponse, px.HTTPAfterResponse} {
		waited := false // a wait-for-body rule came before: the body is there
		for _, r := range set {
			waited = waited || r.Action == ActWaitForBody && r.Set == RequestRules
			if px.Mode != ModeHTTP {
				p.errorf(r.Pos, "%s: '%s' rules need 'mode http' (the proxy is in mode %s)", px, r.Set, px.Mode)
				continue
			}
			need := Reads(0)
			if r.Cond != nil {
				need |= r.Cond.Need()
			}
			need |= r.Var.need()
			if r.Set == RequestRules && need&ReadsRes != 0 {
				p.errorf(r.Pos, "%s: an 'http-request %s' rule reads the response, which does not exist yet (use 'http-response')", px, r.Action)
			}
			if need&ReadsBody != 0 && !px.BufferRequest && !waited {
				p.notice(Warning, r.Pos, "%s: req.body reads nothing without 'option http-buffer-request' or a 'wait-for-body' rule before it, as in HAProxy", px)
			}
		}
	}
}
