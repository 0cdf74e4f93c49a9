package config

import (
	"fmt"
	"strings"
)

// The TLS options of server and default-server lines: HAProxy 2.6's
// srv_kws of src/cfgparse-ssl.c, read into ServerTLS.

// SNISource is where a server's SNI comes from ('sni').
type SNISource uint8

const (
	SNINone       SNISource = iota // no SNI is sent (HAProxy 2.6's default)
	SNIText                        // 'sni str(NAME)': always NAME
	SNIHostHeader                  // 'sni req.hdr(host)': the request's Host header, its last occurrence
)

// SNIExpr is a server's 'sni' expression, in the forms fjord evaluates.
type SNIExpr struct {
	Source SNISource
	Text   string // SNIText's name
}

func (e SNIExpr) String() string {
	switch e.Source {
	case SNIText:
		return "str(" + e.Text + ")"
	case SNIHostHeader:
		return "req.hdr(host)"
	}
	return ""
}

// ServerTLS is a server's TLS: set when connections ('ssl') or health
// checks ('check-ssl', or 'ssl' with checks on the server's own address)
// speak TLS.
type ServerTLS struct {
	Traffic bool // 'ssl': connections to the server speak TLS
	// Checks is whether health checks speak TLS: 'check-ssl', or
	// 'ssl' when the checks go to the server's own address and port (no
	// 'port' or 'addr'), unless 'no-check-ssl', as in HAProxy.
	Checks bool
	// Verify is VerifyRequired or VerifyNone: the server's 'verify',
	// else the global 'ssl-server-verify' (required by default). When
	// required, the certificate's names are checked against the SNI
	// sent, else VerifyHost, else not at all, as HAProxy does.
	Verify     VerifyMode
	CAFile     string // rebased on 'ca-base'; "" with SystemCAs
	SystemCAs  bool   // 'ca-file @system-ca': the system's roots
	CRLFile    string // rebased on 'ca-base'
	Cert       string // 'crt': client certificate, rebased on 'crt-base'
	VerifyHost string
	SNI        SNIExpr
	ALPN       []string // nil: none offered; in mode http, 'h2' is left out
	CheckSNI   string   // 'check-sni': the SNI of health checks
	CheckALPN  []string // 'check-alpn'; nil: ALPN
	// MinVersion and MaxVersion are TLSv12 or TLSv13, as for BindTLS,
	// with ssl-default-server-options.
	MinVersion, MaxVersion TLSVersion
	CipherSuites           []uint16 // TLS 1.2 suites offered; TLS 1.3's three always are
	NoTLSTickets           bool     // 'no-tls-tickets'
	// NoSSLReuse is 'no-ssl-reuse': every connection to the server makes
	// a full handshake. By default a session is resumed, as in HAProxy
	// (TLS 1.3 sessions only: see tls/handshake).
	NoSSLReuse bool
}

// parseSNIExpr reads a server's 'sni' expression. HAProxy evaluates any
// sample expression there; fjord has the two forms its engine evaluates.
func parseSNIExpr(s string) (SNIExpr, error) {
	if text, ok := strings.CutPrefix(s, "str("); ok && strings.HasSuffix(text, ")") {
		text = text[:len(text)-1]
		if err := checkSNIName(text); err != nil {
			return SNIExpr{}, fmt.Errorf("'sni %s': %v", s, err)
		}
		return SNIExpr{Source: SNIText, Text: text}, nil
	}
	if strings.EqualFold(s, "req.hdr(host)") && strings.HasPrefix(s, "req.hdr(") {
		return SNIExpr{Source: SNIHostHeader}, nil
	}
	return SNIExpr{}, fmt.Errorf("'sni %s': fjord supports only str(NAME) and req.hdr(host) as the SNI expression", s)
}

// checkSNIName checks a host name sent as SNI: a DNS name.
func checkSNIName(name string) error {
	if name == "" {
		return fmt.Errorf("empty name")
	}
	if len(name) > 253 {
		return fmt.Errorf("name longer than 253 bytes")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return fmt.Errorf("invalid character %q in host name '%s'", c, name)
		}
	}
	return nil
}

// serverTLSState is what the TLS options of a server's lines said: its
// default-server's, then its own. It is finished into ServerTLS when the
// whole configuration is read, since 'ssl-server-verify' and the check
// address are known only then.
type serverTLSState struct {
	ssl      int8 // 1: 'ssl', -1: 'no-ssl', 0: neither
	checkSSL int8 // 1: 'check-ssl', -1: 'no-check-ssl', 0: neither
	// defSSL is HAProxy's SRV_F_DEFSRV_USE_SSL: the server's
	// default-server had 'ssl', so HAProxy prepares its TLS settings
	// even when the server says 'no-ssl'.
	defSSL    bool
	opts      TLSDefaults
	verify    VerifyMode
	verifySet bool
	tls       ServerTLS // the other options
	// lineFirst is the first TLS option written on the server line
	// itself, lineCheck the first of check-sni and check-alpn, for the
	// errors when the server ends up without TLS.
	lineFirst, lineCheck string
}

func (st *serverTLSState) clone() *serverTLSState {
	c := *st
	c.opts = st.opts.clone()
	c.tls.ALPN = append([]string(nil), st.tls.ALPN...)
	c.tls.CheckALPN = append([]string(nil), st.tls.CheckALPN...)
	return &c
}

// inheritServerTLS gives dst, a copy of src made for a proxy or a
// server line, its own copy of src's TLS state.
func (p *parser) inheritServerTLS(dst, src *Server) {
	st := p.srvTLS[src]
	if st == nil {
		delete(p.srvTLS, dst)
		return
	}
	p.srvTLS[dst] = st.clone()
}

// serverState returns s's TLS state, made on first use.
func (p *parser) serverState(s *Server) *serverTLSState {
	st := p.srvTLS[s]
	if st == nil {
		st = &serverTLSState{}
		p.srvTLS[s] = st
	}
	return st
}

// initFromGlobal applies ssl-default-server-* as HAProxy's
// ssl_sock_init_srv does, when 'ssl', 'check-ssl' or 'no-ssl' is read.
func (p *parser) initFromGlobal(st *serverTLSState) {
	st.opts.merge(&p.cfg.Global.ServerTLSDefaults)
	st.opts = st.opts.clone()
}

func srvVersion(word string) func(*parser, *serverTLSState, Pos, string) error {
	return func(p *parser, st *serverTLSState, pos Pos, v string) error {
		_, err := p.versionWord(pos, serverSide, &st.opts, word, []string{v})
		return err
	}
}

// serverTLSOption is a server TLS option with what only servers need.
type serverTLSOption struct {
	tlsOption
	// noDefault options are refused on default-server lines, as in
	// HAProxy 2.6 (no-sslv3 and no-tlsv1x).
	noDefault bool
	// reset options undo what a default-server line set; on their own
	// they configure no TLS.
	reset bool
	// check options configure TLS health checks.
	check bool
}

var serverTLSOptions []serverTLSOption

func init() {
	opt := func(name, arg string, f func(*parser, *serverTLSState, Pos, string) error) serverTLSOption {
		return serverTLSOption{tlsOption: tlsOption{name: name, arg: arg, server: f}}
	}
	reset := func(o serverTLSOption) serverTLSOption { o.reset = true; return o }
	noDefault := func(o serverTLSOption) serverTLSOption { o.noDefault = true; return o }
	check := func(o serverTLSOption) serverTLSOption { o.check = true; return o }
	serverTLSOptions = []serverTLSOption{
		opt("ssl", "", func(p *parser, st *serverTLSState, _ Pos, _ string) error {
			st.ssl = 1
			p.initFromGlobal(st)
			return nil
		}),
		reset(opt("no-ssl", "", func(p *parser, st *serverTLSState, _ Pos, _ string) error {
			if st.ssl == 1 {
				p.initFromGlobal(st) // srv_parse_no_ssl does, for a default-server's 'ssl'
			}
			st.ssl = -1
			return nil
		})),
		opt("check-ssl", "", func(p *parser, st *serverTLSState, _ Pos, _ string) error {
			st.checkSSL = 1
			p.initFromGlobal(st)
			return nil
		}),
		reset(opt("no-check-ssl", "", func(_ *parser, st *serverTLSState, _ Pos, _ string) error {
			st.checkSSL = -1
			return nil
		})),
		opt("verify", "none|required", func(_ *parser, st *serverTLSState, _ Pos, v string) error {
			m, ok := verifyWords.parse(v)
			if !ok || m == VerifyOptional {
				return fmt.Errorf("'verify': unknown verify method '%s', only 'none' and 'required' are supported", v)
			}
			st.verify, st.verifySet = m, true
			return nil
		}),
		opt("ca-file", "FILE", func(p *parser, st *serverTLSState, _ Pos, v string) error {
			if v == "@system-ca" {
				st.tls.SystemCAs, st.tls.CAFile = true, ""
				return nil
			}
			if err := caPath("ca-file", v); err != nil {
				return err
			}
			st.tls.CAFile, st.tls.SystemCAs = rebase(p.cfg.Global.CABase, v), false
			return nil
		}),
		opt("crl-file", "FILE", func(p *parser, st *serverTLSState, _ Pos, v string) error {
			if err := caPath("crl-file", v); err != nil {
				return err
			}
			st.tls.CRLFile = rebase(p.cfg.Global.CABase, v)
			return nil
		}),
		opt("crt", "FILE", func(p *parser, st *serverTLSState, _ Pos, v string) error {
			if v == "" {
				return fmt.Errorf("'crt': missing certificate file path")
			}
			st.tls.Cert = rebase(p.cfg.Global.CrtBase, v)
			return nil
		}),
		opt("verifyhost", "NAME", func(_ *parser, st *serverTLSState, _ Pos, v string) error {
			if err := checkSNIName(v); err != nil {
				return fmt.Errorf("'verifyhost %s': %v", v, err)
			}
			st.tls.VerifyHost = v
			return nil
		}),
		opt("sni", "EXPR", func(_ *parser, st *serverTLSState, _ Pos, v string) (err error) {
			st.tls.SNI, err = parseSNIExpr(v)
			return err
		}),
		opt("alpn", "LIST", func(_ *parser, st *serverTLSState, _ Pos, v string) (err error) {
			st.tls.ALPN, err = parseALPN("alpn", v)
			return err
		}),
		check(opt("check-sni", "NAME", func(_ *parser, st *serverTLSState, _ Pos, v string) error {
			if err := checkSNIName(v); err != nil {
				return fmt.Errorf("'check-sni %s': %v", v, err)
			}
			st.tls.CheckSNI = v
			return nil
		})),
		check(opt("check-alpn", "LIST", func(_ *parser, st *serverTLSState, _ Pos, v string) (err error) {
			st.tls.CheckALPN, err = parseALPN("check-alpn", v)
			return err
		})),
		opt("ssl-min-ver", "VERSION", srvVersion("ssl-min-ver")),
		opt("ssl-max-ver", "VERSION", srvVersion("ssl-max-ver")),
		noDefault(opt("no-sslv3", "", srvVersion("no-sslv3"))),
		noDefault(opt("no-tlsv10", "", srvVersion("no-tlsv10"))),
		noDefault(opt("no-tlsv11", "", srvVersion("no-tlsv11"))),
		noDefault(opt("no-tlsv12", "", srvVersion("no-tlsv12"))),
		noDefault(opt("no-tlsv13", "", srvVersion("no-tlsv13"))),
		opt("force-sslv3", "", srvVersion("force-sslv3")),
		opt("force-tlsv10", "", srvVersion("force-tlsv10")),
		opt("force-tlsv11", "", srvVersion("force-tlsv11")),
		opt("force-tlsv12", "", srvVersion("force-tlsv12")),
		opt("force-tlsv13", "", srvVersion("force-tlsv13")),
		opt("no-tls-tickets", "", srvVersion("no-tls-tickets")),
		reset(opt("tls-tickets", "", func(_ *parser, st *serverTLSState, _ Pos, _ string) error {
			st.opts.NoTLSTickets = false
			return nil
		})),
		opt("ciphers", "LIST", func(p *parser, st *serverTLSState, pos Pos, v string) (err error) {
			st.opts.CipherSuites, err = p.ciphers(pos, "ciphers", v)
			return err
		}),
		opt("ciphersuites", "LIST", func(p *parser, _ *serverTLSState, pos Pos, v string) error {
			return p.ciphersuites(pos, "ciphersuites", v)
		}),
		// Sessions are resumed unless no-ssl-reuse; ssl-reuse undoes a
		// default-server's no-ssl-reuse. Neither alone configures TLS,
		// as in HAProxy, which takes them on a server without 'ssl'.
		reset(opt("no-ssl-reuse", "", func(_ *parser, st *serverTLSState, _ Pos, _ string) error {
			st.tls.NoSSLReuse = true
			return nil
		})),
		reset(opt("ssl-reuse", "", func(_ *parser, st *serverTLSState, _ Pos, _ string) error {
			st.tls.NoSSLReuse = false
			return nil
		})),
		{tlsOption: tlsOption{name: "allow-0rtt", status: ignored, why: "crypto/tls sends no early data: the request goes after the handshake",
			server: func(*parser, *serverTLSState, Pos, string) error { return nil }}},
		{tlsOption: tlsOption{name: "npn", arg: "LIST", status: refused, why: "'npn' is not supported: NPN was replaced by ALPN, and neither servers nor crypto/tls negotiate it any more; use 'alpn'"}},
	}
}

func findServerTLSOption(name string) *serverTLSOption {
	for i := range serverTLSOptions {
		if serverTLSOptions[i].name == name {
			return &serverTLSOptions[i]
		}
	}
	return nil
}

// serverTLSOptionNames lists the server TLS options, for the unknown
// option message.
func serverTLSOptionNames() string {
	t := make([]tlsOption, len(serverTLSOptions))
	for i, o := range serverTLSOptions {
		t[i] = o.tlsOption
	}
	return tlsOptionNames(t)
}

// serverTLSOption reads the TLS option at the start of opts, if it is
// one, into s's state. It returns the number of words taken, 0 when the
// word is none.
func (p *parser) serverTLSOption(s *Server, pos Pos, opts []string, def bool) (int, error) {
	o := findServerTLSOption(opts[0])
	if o == nil {
		return 0, nil
	}
	switch {
	case o.status == refused:
		return 0, fmt.Errorf("%s", o.why)
	case def && o.noDefault:
		return 0, fmt.Errorf("'%s' option is not accepted in default-server sections, as in HAProxy; put it on the server lines, or use 'ssl-min-ver' and 'ssl-max-ver'", o.name)
	}
	n, v := 1, ""
	if o.arg != "" {
		if len(opts) < 2 {
			return 0, fmt.Errorf("option '%s' expects a value (%s)", o.name, o.arg)
		}
		n, v = 2, opts[1]
	}
	st := p.serverState(s)
	if err := o.server(p, st, pos, v); err != nil {
		return 0, err
	}
	if !def && !o.reset {
		if st.lineFirst == "" && o.name != "ssl" && o.name != "check-ssl" {
			st.lineFirst = o.name
		}
		if st.lineCheck == "" && o.check {
			st.lineCheck = o.name
		}
	}
	if (o.name == "ssl" || o.name == "check-ssl") && p.firstTLSLine.Line == 0 {
		p.firstTLSLine = pos
	}
	if o.status == ignored {
		p.notice(Notice, pos, "'%s' is accepted and changes nothing: %s", o.name, o.why)
	}
	return n, nil
}

// finishServerTLS makes s's ServerTLS from what its lines said, once the
// whole configuration is read, with the checks HAProxy makes when it
// prepares a server (ssl_sock_prepare_srv_ctx).
func (p *parser) finishServerTLS(px *Proxy, s *Server) {
	st := p.srvTLS[s]
	s.TLS = nil
	if st == nil {
		return
	}
	traffic := st.ssl == 1
	// Checks inherit 'ssl' when they go to the server's own address and
	// port, unless 'no-check-ssl' (init_srv_check).
	checksTLS := st.checkSSL == 1 || st.checkSSL == 0 && traffic && s.CheckPort == 0 && !s.CheckAddr.IsValid()
	checks := s.Check && checksTLS
	// HAProxy prepares (and checks) the TLS settings of a server with
	// 'ssl' or 'check-ssl', checks or not, and of one whose
	// default-server said 'ssl' even when the server says 'no-ssl'.
	prepared := traffic || checksTLS || st.defSSL && st.ssl != 1
	if !prepared {
		if st.lineFirst != "" {
			p.errorf(s.Pos, "server '%s': option '%s' configures TLS, but the server uses none: add 'ssl' (or 'check-ssl' for its health checks)", s.Name, st.lineFirst)
		}
		return
	}
	if st.lineCheck != "" && !checksTLS {
		p.errorf(s.Pos, "server '%s': option '%s' configures TLS health checks, but this server's checks do not use TLS ('no-check-ssl', or they go to 'port' or 'addr'): add 'check-ssl'", s.Name, st.lineCheck)
	}
	t := st.tls
	t.Traffic, t.Checks = traffic, checks
	t.Verify = p.cfg.Global.ServerVerify
	if st.verifySet {
		t.Verify = st.verify
	}
	if t.Verify == VerifyRequired && t.CAFile == "" && !t.SystemCAs {
		why := ""
		if !traffic && !checksTLS {
			why = " (the server says 'no-ssl', but HAProxy 2.6 prepares the TLS settings that 'default-server ssl' gave it all the same; set 'verify none' on it)"
		}
		if st.verifySet {
			p.errorf(s.Pos, "server '%s': verify is enabled but no CA file specified%s", s.Name, why)
		} else {
			// HAProxy's message, word for word, with its advice.
			p.errorf(s.Pos, "server '%s': verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default%s", s.Name, why)
		}
	}
	min, max, ignoredNo, err := resolveVersions(st.opts, &p.cfg.Global.ServerTLSDefaults, false)
	if ignoredNo != 0 {
		p.notice(Warning, s.Pos, "server '%s': %s ignored, as HAProxy ignores no-sslv3/no-tlsv1x once ssl-min-ver or ssl-max-ver is set (on the line, its default-server or ssl-default-server-options); use only 'ssl-min-ver' and 'ssl-max-ver'", s.Name, ignoredNo.noWords())
	}
	if err != nil {
		p.errorf(s.Pos, "server '%s': %v", s.Name, err)
	}
	t.MinVersion, t.MaxVersion = min, max
	t.NoTLSTickets = st.opts.NoTLSTickets
	t.CipherSuites = st.opts.CipherSuites
	if t.CipherSuites == nil {
		t.CipherSuites = DefaultCipherSuites()
	}
	if px.Mode == ModeHTTP {
		var dropped bool
		if t.ALPN, dropped = withoutH2(t.ALPN); dropped {
			p.notice(Warning, s.Pos, "server '%s': 'alpn' offers 'h2', but fjord speaks HTTP/1.1 only in mode http: 'h2' is left out", s.Name)
		}
		if t.CheckALPN, dropped = withoutH2(t.CheckALPN); dropped {
			p.notice(Warning, s.Pos, "server '%s': 'check-alpn' offers 'h2', but fjord's health checks speak HTTP/1.1: 'h2' is left out", s.Name)
		}
	} else if t.SNI.Source == SNIHostHeader && traffic {
		p.errorf(s.Pos, "server '%s': 'sni req.hdr(host)' reads the HTTP request and needs 'mode http'", s.Name)
	}
	if traffic || checks {
		s.TLS = &t
	}
}
