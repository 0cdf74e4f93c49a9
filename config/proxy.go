package config

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

func (p *parser) kwMode(px *Proxy, pos Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'mode' expects tcp or http")
	}
	switch args[0] {
	case "tcp":
		px.Mode = ModeTCP
	case "http":
		px.Mode = ModeHTTP
	case "health":
		return fmt.Errorf("'mode health' was removed from HAProxy 2.4 and is not supported")
	default:
		return fmt.Errorf("'mode' expects tcp or http, not '%s'", args[0])
	}
	p.extra[px].modePos = pos
	return nil
}

func (p *parser) kwBind(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'bind' expects an address such as *:80")
	}
	targets, err := parseBindTargets(p.resolver, args[0])
	if err != nil {
		return fmt.Errorf("bind '%s': %v", args[0], err)
	}
	tmpl := Bind{Pos: pos}
	var ts bindTLSState
	v6opt := "" // the last of v6only and v4v6
	opts := args[1:]
	for len(opts) > 0 {
		o := opts[0]
		switch o {
		case "accept-proxy":
			tmpl.AcceptProxy = true
		case "v6only", "v4v6":
			if err := fdBindOption(targets, o); err != nil {
				return err
			}
			tmpl.V6Only = o == "v6only"
			v6opt = o
		case "backlog", "name":
			if len(opts) < 2 {
				return fmt.Errorf("bind option '%s' expects a value", o)
			}
			if o == "backlog" {
				n, err := parseInt("backlog", opts[1], 1, math.MaxInt32)
				if err != nil {
					return err
				}
				tmpl.Backlog = n
			} else {
				tmpl.Name = opts[1]
			}
			opts = opts[1:]
		default:
			n, err := unixBindOption(&tmpl.Perm, opts)
			if err != nil {
				return err
			}
			if n == 0 {
				n, err = p.bindTLSOption(&ts, pos, opts)
				if err != nil {
					return err
				}
			}
			if n == 0 {
				return fmt.Errorf("unknown bind option '%s' (supported: accept-proxy, backlog N, name NAME, v4v6, v6only; for Unix sockets: mode, uid, gid, user, group; for TLS: %s)", o, tlsOptionNames(bindTLSOptions))
			}
			opts = opts[n-1:]
		}
		opts = opts[1:]
	}
	if err := checkUnixBindOptions(targets, tmpl.Perm, v6opt); err != nil {
		return err
	}
	t, err := p.finishBindTLS(pos, &ts)
	if err != nil {
		return err
	}
	tmpl.TLS = t
	for _, t := range targets {
		b := tmpl
		b.Addr, b.Unix, b.Inherited, b.FD = t.addr, t.unix, t.inherited, t.fd
		px.Binds = append(px.Binds, &b)
	}
	return nil
}

func kwMaxConn(_ *parser, px *Proxy, _ Pos, args []string) error {
	return oneInt("maxconn", args, 1, math.MaxInt32, &px.MaxConn)
}

func kwRetries(_ *parser, px *Proxy, _ Pos, args []string) error {
	return oneInt("retries", args, 0, 100, &px.Retries)
}

func kwDefaultBackend(_ *parser, px *Proxy, pos Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'default_backend' expects a backend name")
	}
	px.DefaultBackend, px.DefaultBackPos = args[0], pos
	return nil
}

func kwLogFormatJSON(_ *parser, px *Proxy, _ Pos, args []string) error {
	px.LogFormatJSON = true
	return noArgs("log-format-json", args)
}

func kwBalance(_ *parser, px *Proxy, _ Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'balance' expects an algorithm")
	}
	b := Balance{}
	algo, rest := args[0], args[1:]
	name := algo
	switch {
	case strings.HasPrefix(algo, "hdr(") && strings.HasSuffix(algo, ")"):
		name = "hdr"
	case strings.HasPrefix(algo, "random("):
		name = "random"
	}
	a, ok := balanceWords.parse(name)
	if !ok || name == "hdr" && algo == "hdr" {
		return fmt.Errorf("unsupported balance algorithm '%s' (supported: roundrobin, static-rr, leastconn, first, source, uri, url_param, hdr(NAME), random[(N)])", algo)
	}
	b.Algorithm = a
	switch a {
	case BalanceRoundRobin, BalanceStaticRR, BalanceLeastConn, BalanceFirst, BalanceSource:
		if len(rest) > 0 {
			return fmt.Errorf("'balance %s' takes no argument (found '%s')", algo, rest[0])
		}
	case BalanceURI:
		for len(rest) > 0 {
			switch rest[0] {
			case "whole":
				b.URIWhole = true
				rest = rest[1:]
				continue
			case "len", "depth":
				if len(rest) < 2 {
					return fmt.Errorf("'balance uri %s' expects a number", rest[0])
				}
				n, err := parseInt("balance uri "+rest[0], rest[1], 0, math.MaxInt32)
				if err != nil {
					return err
				}
				if rest[0] == "len" {
					b.URILen = n
				} else {
					b.URIDepth = n
				}
				rest = rest[2:]
				continue
			}
			return fmt.Errorf("'balance uri': unknown argument '%s' (supported: len N, depth N, whole)", rest[0])
		}
	case BalanceURLParam:
		if len(rest) == 0 {
			return fmt.Errorf("'balance url_param' expects a parameter name")
		}
		b.Param = rest[0]
		if len(rest) > 1 {
			return fmt.Errorf("'balance url_param %s': unsupported argument '%s'", rest[0], rest[1])
		}
	case BalanceHdr:
		b.Param = strings.ToLower(algo[4 : len(algo)-1])
		if b.Param == "" {
			return fmt.Errorf("'balance hdr()' expects a header name, as in hdr(host)")
		}
		if len(rest) == 1 && rest[0] == "use_domain_only" {
			b.UseDomainOnly = true
		} else if len(rest) > 0 {
			return fmt.Errorf("'balance %s': unknown argument '%s' (supported: use_domain_only)", algo, rest[0])
		}
	case BalanceRandom:
		b.Draws = 2
		if algo != "random" {
			if !strings.HasSuffix(algo, ")") {
				return fmt.Errorf("'balance %s': missing ')'", algo)
			}
			n, err := parseInt("random draws", algo[7:len(algo)-1], 1, 100)
			if err != nil {
				return err
			}
			b.Draws = n
		}
		if len(rest) > 0 {
			return fmt.Errorf("'balance %s' takes no argument (found '%s')", algo, rest[0])
		}
	}
	px.Balance = b
	return nil
}

func kwHashType(_ *parser, px *Proxy, _ Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'hash-type' expects %s", hashMethodWords.alternatives())
	}
	m, ok := hashMethodWords.parse(args[0])
	if !ok {
		return fmt.Errorf("'hash-type' expects %s, not '%s'", hashMethodWords.alternatives(), args[0])
	}
	h := HashType{Method: m}
	for _, a := range args[1:] {
		if f, ok := hashFunctionWords.parse(a); ok {
			h.Function = f
			continue
		}
		if a == "avalanche" {
			h.Avalanche = true
			continue
		}
		return fmt.Errorf("'hash-type': unknown argument '%s' (supported: %s, avalanche)", a, strings.Join(hashFunctionWords, ", "))
	}
	px.HashType = h
	return nil
}

func (p *parser) kwTimeout(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'timeout' expects a name and a time value")
	}
	name := args[0]
	dst, fe, be := timeoutField(&px.Timeouts, name)
	if dst == nil {
		return fmt.Errorf("unknown timeout '%s' (supported: connect, client, server, http-request, http-keep-alive, queue, tunnel, check, client-fin, server-fin, tarpit)", name)
	}
	if err := oneDuration("timeout "+name, args[1:], dst); err != nil {
		return err
	}
	if !(fe && be) { // a timeout of either side (tarpit) fits any section
		p.warnCapability(px, pos, "timeout "+name, fe, be)
	}
	return nil
}

// legacyTimeout accepts one of HAProxy's removed timeout keywords as its
// modern equivalent, with a notice naming it.
func legacyTimeout(kw, modern string) func(*parser, *Proxy, Pos, []string) error {
	return func(p *parser, px *Proxy, pos Pos, args []string) error {
		p.notice(Notice, pos, "'%s' is deprecated; it is accepted as 'timeout %s'", kw, modern)
		return p.kwTimeout(px, pos, append([]string{modern}, args...))
	}
}

func timeoutField(t *Timeouts, name string) (dst *time.Duration, frontendSide, backendSide bool) {
	switch name {
	case "connect":
		return &t.Connect, false, true
	case "client":
		return &t.Client, true, false
	case "server":
		return &t.Server, false, true
	case "http-request":
		return &t.HTTPRequest, true, false
	case "http-keep-alive":
		return &t.HTTPKeepAlive, true, false
	case "queue":
		return &t.Queue, false, true
	case "tunnel":
		return &t.Tunnel, false, true
	case "check":
		return &t.Check, false, true
	case "client-fin":
		return &t.ClientFin, true, false
	case "server-fin":
		return &t.ServerFin, false, true
	case "tarpit":
		return &t.Tarpit, true, true // either side, as in HAProxy
	}
	return nil, false, false
}

// warnCapability warns, as HAProxy does, about a setting that has no effect
// in this kind of section (a client timeout in a backend, for example).
func (p *parser) warnCapability(px *Proxy, pos Pos, what string, frontendSide, backendSide bool) {
	if px.Section == "defaults" {
		return
	}
	if frontendSide && px.Caps&CapFrontend == 0 {
		p.notice(Warning, pos, "'%s' has no effect in %s: it applies to frontends", what, px)
	}
	if backendSide && px.Caps&CapBackend == 0 {
		p.notice(Warning, pos, "'%s' has no effect in %s: it applies to backends", what, px)
	}
}

func kwHTTPCheck(_ *parser, px *Proxy, _ Pos, args []string) error {
	if len(args) == 0 || args[0] != "expect" {
		found := ""
		if len(args) > 0 {
			found = fmt.Sprintf(" (found '%s')", args[0])
		}
		return fmt.Errorf("'http-check' supports only 'expect'%s", found)
	}
	e, err := parseCheckExpect(args[1:])
	if err != nil {
		return err
	}
	px.CheckExpect = e
	return nil
}

func (p *parser) kwLog(px *Proxy, pos Pos, args []string) error {
	x := p.extra[px]
	if len(args) == 1 && args[0] == "global" {
		x.logGlobal = true
	} else {
		t, err := parseLogTarget(p.resolver, pos, args)
		if err != nil {
			return err
		}
		p.sampleNotice(t)
		px.Logs = append(px.Logs, t)
	}
	n := len(px.Logs)
	if x.logGlobal {
		n++
	}
	if n > maxLogTargetsPerProxy {
		return fmt.Errorf("too many 'log' lines in %s: at most %d targets per proxy ('log global' counts as one)", px, maxLogTargetsPerProxy)
	}
	return nil
}

// kwNo handles "no option X" and "no log".
func (p *parser) kwNo(px *Proxy, pos Pos, args []string) error {
	if len(args) == 1 && args[0] == "log" {
		px.Logs = nil
		p.extra[px].logGlobal = false
		return nil
	}
	if len(args) < 2 || args[0] != "option" {
		return fmt.Errorf("'no' expects 'option NAME' or 'log'")
	}
	return p.option(px, pos, args[1], args[2:], false)
}

func (p *parser) kwOption(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("'option' expects an option name")
	}
	return p.option(px, pos, args[0], args[1:], true)
}

func parsePrefixArg(what, v string) (*netip.Prefix, error) {
	pfx, err := parsePrefix(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return &pfx, nil
}
