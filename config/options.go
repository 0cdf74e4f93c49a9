package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// option applies "option NAME ARGS" (enable) or "no option NAME" (!enable).
func (p *parser) option(px *Proxy, pos Pos, name string, args []string, enable bool) error {
	if !enable && len(args) > 0 {
		return fmt.Errorf("'no option %s' takes no argument", name)
	}
	flag := func(dst *bool, fe, be bool) error {
		if len(args) > 0 {
			return fmt.Errorf("'option %s' takes no argument (found '%s')", name, args[0])
		}
		*dst = enable
		p.warnCapability(px, pos, "option "+name, fe, be)
		return nil
	}
	switch name {
	case "redispatch":
		return flag(&px.Redispatch, false, true)
	case "httplog":
		var clf *LineFormat
		if len(args) > 0 && args[0] == "clf" {
			// HAProxy's CLF format, as a log-format of its own.
			clf = MustParseLineFormat(CLFLogFormat, ModeHTTP)
			clf.Keyword, clf.Pos = "option httplog clf", pos
			args = args[1:]
		}
		if err := flag(&px.HTTPLog, true, false); err != nil {
			if len(args) > 0 {
				return fmt.Errorf("'option httplog' takes no argument but 'clf' (found '%s')", args[0])
			}
			return err
		}
		if enable {
			px.TCPLog = false
			px.LogFormat = clf // the last of them decides, as in HAProxy
		} else if px.LogFormat != nil && px.LogFormat.Keyword == "option httplog clf" {
			px.LogFormat = nil
		}
		return nil
	case "tcplog":
		if err := flag(&px.TCPLog, true, false); err != nil {
			return err
		}
		if enable {
			px.HTTPLog = false
			px.LogFormat = nil
		}
		return nil
	case "dontlognull":
		return flag(&px.DontLogNull, true, false)
	case "logasap":
		return flag(&px.LogASAP, true, false)
	case "http-buffer-request":
		return flag(&px.BufferRequest, false, false) // either side, as in HAProxy
	case "allbackups":
		return flag(&px.AllBackups, false, true)
	case "tcp-check":
		return flag(&px.TCPCheck, false, true)
	case "splice-auto", "splice-request", "splice-response":
		if len(args) > 0 {
			return fmt.Errorf("'option %s' takes no argument (found '%s')", name, args[0])
		}
		p.notice(Notice, pos, "fjord always forwards payload with splice(2); 'option %s' is accepted and changes nothing", name)
		return nil
	case "http-keep-alive", "http-server-close", "httpclose", "http-tunnel", "forceclose":
		if len(args) > 0 {
			return fmt.Errorf("'option %s' takes no argument (found '%s')", name, args[0])
		}
		mode := map[string]HTTPConnMode{
			"http-keep-alive": HTTPKeepAlive, "http-server-close": HTTPServerClose,
			"httpclose": HTTPClose, "forceclose": HTTPClose, "http-tunnel": HTTPTunnel,
		}[name]
		if name == "forceclose" {
			p.notice(Notice, pos, "'option forceclose' is deprecated; it is accepted as 'option httpclose'")
		}
		if enable {
			px.HTTPConnMode = mode
		} else if px.HTTPConnMode == mode {
			px.HTTPConnMode = HTTPKeepAlive
		}
		return nil
	case "forwardfor":
		if !enable {
			px.ForwardFor = nil
			return nil
		}
		ff := &ForwardFor{Header: "X-Forwarded-For"}
		if err := addrHeaderArgs(name, args, &ff.Except, &ff.Header, &ff.IfNone); err != nil {
			return err
		}
		px.ForwardFor = ff
		return nil
	case "originalto":
		if !enable {
			px.OriginalTo = nil
			return nil
		}
		ot := &OriginalTo{Header: "X-Original-To"}
		if err := addrHeaderArgs(name, args, &ot.Except, &ot.Header, nil); err != nil {
			return err
		}
		px.OriginalTo = ot
		return nil
	case "http-restrict-req-hdr-names":
		if !enable {
			px.RestrictReqHdrNames = HdrNamesPreserve
			return nil
		}
		if len(args) != 1 {
			return fmt.Errorf("'option http-restrict-req-hdr-names' expects 'preserve', 'delete' or 'reject'")
		}
		policy, ok := map[string]HdrNamePolicy{"preserve": HdrNamesPreserve, "delete": HdrNamesDelete, "reject": HdrNamesReject}[args[0]]
		if !ok {
			return fmt.Errorf("'option http-restrict-req-hdr-names': invalid parameter '%s' (expects 'preserve', 'delete' or 'reject')", args[0])
		}
		px.RestrictReqHdrNames = policy
		return nil
	case "httpchk":
		if !enable {
			px.HTTPCheck = nil
			return nil
		}
		c := &HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
		switch len(args) {
		case 0:
		case 1:
			c.URI = args[0]
		case 2:
			c.Method, c.URI = args[0], args[1]
		case 3:
			c.Method, c.URI, c.Version = args[0], args[1], args[2]
		default:
			return fmt.Errorf("'option httpchk' expects at most METHOD URI VERSION")
		}
		if i := strings.IndexFunc(c.Method, func(r rune) bool { return !isTokenChar(r) }); i >= 0 || c.Method == "" {
			return fmt.Errorf("'option httpchk': invalid method '%s'", c.Method)
		}
		if !strings.HasPrefix(c.URI, "/") && c.URI != "*" {
			return fmt.Errorf("'option httpchk': URI '%s' must start with '/'", c.URI)
		}
		if strings.ContainsAny(c.URI, " \r\n") {
			return fmt.Errorf("'option httpchk': URI '%s' must not contain spaces or line breaks", c.URI)
		}
		p.warnCapability(px, pos, "option httpchk", false, true)
		px.HTTPCheck = c
		return nil
	case "abortonclose", "http-pretend-keepalive", "http-use-proxy-header", "tcpka", "clitcpka", "srvtcpka", "log-health-checks", "httpclose-legacy":
		return fmt.Errorf("'option %s' is not supported by fjord", name)
	}
	return fmt.Errorf("unknown option '%s' (supported: redispatch, httplog, tcplog, dontlognull, logasap, forwardfor, originalto, http-restrict-req-hdr-names, httpchk, http-keep-alive, http-server-close, httpclose, http-tunnel, splice-auto, splice-request, splice-response, tcp-check, allbackups)", name)
}

// addrHeaderArgs reads the arguments of "option forwardfor" (ifNone set)
// and "option originalto" (ifNone nil): "except NETWORK" (an IPv4 or IPv6
// address, with or without a mask), "header NAME", and forwardfor's
// "if-none", in any order, a later one replacing an earlier one as in
// HAProxy.
func addrHeaderArgs(option string, args []string, except **netip.Prefix, header *string, ifNone *bool) error {
	usage := "except NETWORK, header NAME"
	if ifNone != nil {
		usage += ", if-none"
	}
	for len(args) > 0 {
		switch {
		case args[0] == "if-none" && ifNone != nil:
			*ifNone = true
			args = args[1:]
			continue
		case args[0] == "except" || args[0] == "header":
			if len(args) < 2 {
				return fmt.Errorf("'option %s %s' expects a value", option, args[0])
			}
			if args[0] == "except" {
				pfx, err := parsePrefixArg(fmt.Sprintf("'option %s except'", option), args[1])
				if err != nil {
					return err
				}
				*except = pfx
			} else {
				if i := strings.IndexFunc(args[1], func(r rune) bool { return !isTokenChar(r) }); i >= 0 || args[1] == "" {
					return fmt.Errorf("'option %s header': invalid header name '%s'", option, args[1])
				}
				*header = args[1]
			}
			args = args[2:]
			continue
		}
		return fmt.Errorf("'option %s': unknown argument '%s' (supported: %s)", option, args[0], usage)
	}
	return nil
}

// parseCheckExpect parses "[!] KIND PATTERN" of "http-check expect".
func parseCheckExpect(args []string) (*CheckExpect, error) {
	e := &CheckExpect{}
	if len(args) > 0 && args[0] == "!" {
		e.Negate, args = true, args[1:]
	}
	if len(args) != 2 {
		return nil, fmt.Errorf("'http-check expect' expects [!] status|rstatus|string|rstring PATTERN")
	}
	kind, ok := expectWords.parse(args[0])
	if !ok {
		return nil, fmt.Errorf("'http-check expect': unknown match '%s' (supported: %s)", args[0], expectWords.alternatives())
	}
	e.Kind, e.Pattern = kind, args[1]
	switch e.Kind {
	case ExpectStatus:
		for _, code := range strings.Split(e.Pattern, ",") {
			lo, hi, isRange := strings.Cut(code, "-")
			if _, err := parseInt("status code", lo, 100, 599); err != nil {
				return nil, fmt.Errorf("'http-check expect status': %v", err)
			}
			if isRange {
				if _, err := parseInt("status code", hi, 100, 599); err != nil {
					return nil, fmt.Errorf("'http-check expect status': %v", err)
				}
			}
		}
	case ExpectString:
	case ExpectRStatus, ExpectRString:
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return nil, fmt.Errorf("'http-check expect %s': invalid regular expression '%s': %v", e.Kind, e.Pattern, err)
		}
		e.Regexp = re
	}
	return e, nil
}
