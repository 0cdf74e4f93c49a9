package config

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
)

// The TLS options of a bind line: HAProxy 2.6's bind_kws of
// src/cfgparse-ssl.c, read into BindTLS; and what server lines read the
// same way (versions, ALPN, CA paths).

// noWords are the 'no-' options of the set's versions, for messages.
func (s TLSVersionSet) noWords() string {
	var ws []string
	for v := SSLv3; v <= TLSv13; v++ {
		if s.Has(v) {
			ws = append(ws, "'no-"+versionOptionSuffix[v]+"'")
		}
	}
	return strings.Join(ws, ", ")
}

// VerifyErrors is the set of certificate verification errors
// 'ca-ignore-err' or 'crt-ignore-err' ignores, by OpenSSL's X509_V_ERR
// code (1-63): bit N is code N. 'all' sets every bit.
type VerifyErrors uint64

// AllVerifyErrors is 'all'.
const AllVerifyErrors = ^VerifyErrors(0)

// Has reports whether OpenSSL's verification error code is ignored.
func (e VerifyErrors) Has(code int) bool { return code >= 0 && code < 64 && e&(1<<code) != 0 }

// CertSource is one 'crt' or 'crt-list' of a bind line.
type CertSource struct {
	Pos Pos
	// Path is the file or directory, rebased on 'crt-base' when relative
	// (as HAProxy does for crt; a crt-list's own path is not rebased,
	// the certificates it lists are).
	Path string
	List bool // 'crt-list': Path lists certificates, with SNI filters and options
}

// BindTLS is the TLS termination of a bind line with 'ssl'. The binds
// made from one line (several addresses, a port range) share it.
type BindTLS struct {
	// Certs are the 'crt' and 'crt-list' options in line order; the
	// first is the default certificate, presented when no other
	// matches the client's SNI.
	Certs []CertSource
	// ALPN is the protocols offered, in preference order ('alpn'); nil
	// offers none. In mode http, 'h2' is left out (see the warning).
	ALPN []string
	// MinVersion and MaxVersion are the versions served, TLSv12 or
	// TLSv13, from ssl-min-ver/ssl-max-ver, force-*, no-* and the
	// global ssl-default-bind-options, as HAProxy combines them.
	MinVersion, MaxVersion TLSVersion
	// CipherSuites are the TLS 1.2 suites served (crypto/tls IDs, every
	// one an AEAD suite with ECDHE). TLS 1.3's three suites are always
	// offered: crypto/tls lets no configuration choose them.
	CipherSuites []uint16
	// Curves are the key exchange groups, in preference order ('curves',
	// else 'ecdhe', else ssl-default-bind-curves); nil leaves
	// crypto/tls's default.
	Curves       []tls.CurveID
	NoTLSTickets bool // 'no-tls-tickets': no session tickets (TLS 1.2 and 1.3)
	StrictSNI    bool // 'strict-sni': refuse a client whose SNI matches no certificate
	// Verify is whether client certificates are asked for ('verify',
	// default none). Optional and required need CAFile or CAVerifyFile.
	Verify VerifyMode
	// CAFile verifies client certificates, and its subjects are sent as
	// the acceptable CA names unless NoCANames. CAVerifyFile only
	// verifies. SystemCAs ('ca-file @system-ca') verifies with the
	// system's roots. Paths are rebased on 'ca-base' when relative.
	CAFile, CAVerifyFile string
	SystemCAs            bool
	CRLFile              string // 'crl-file', rebased on 'ca-base'
	NoCANames            bool
	// CAIgnoreErrors and CertIgnoreErrors are the verification errors
	// that do not abort the handshake, for the chain above the client's
	// certificate and for the certificate itself.
	CAIgnoreErrors, CertIgnoreErrors VerifyErrors
}

// merge fills what o leaves unset from d, as HAProxy's 'ssl' keyword
// does with the global defaults (bind_parse_ssl, ssl_sock_init_srv):
// values only where unset, no-* and no-tls-tickets added.
func (o *TLSDefaults) merge(d *TLSDefaults) {
	if o.MinVersion == TLSVersionUnset {
		o.MinVersion = d.MinVersion
	}
	if o.MaxVersion == TLSVersionUnset {
		o.MaxVersion = d.MaxVersion
	}
	o.NoVersions |= d.NoVersions
	if o.CipherSuites == nil {
		o.CipherSuites = d.CipherSuites
	}
	if o.Curves == nil {
		o.Curves = d.Curves
	}
	o.NoTLSTickets = o.NoTLSTickets || d.NoTLSTickets
}

func (o TLSDefaults) clone() TLSDefaults {
	o.CipherSuites = append([]uint16(nil), o.CipherSuites...)
	o.Curves = append([]tls.CurveID(nil), o.Curves...) // nil when empty, as append leaves it
	return o
}

// resolveVersions computes the versions a line serves from its options,
// the way HAProxy 2.6's ssl_sock_prepare_ctx and ssl_sock_prepare_srv_ctx
// do: no-* options are ignored once a minimum or maximum is set; a bind
// without a minimum starts at TLSv1.2 (HAProxy's default for binds).
// Then fjord's own limit: only TLS 1.2 and 1.3 are served, so the range
// is narrowed to them and is an error when none is left. ignoredNo is
// set when no-* options were ignored.
func resolveVersions(o TLSDefaults, global *TLSDefaults, bind bool) (min, max TLSVersion, ignoredNo TLSVersionSet, err error) {
	no := o.NoVersions
	if no != 0 && (o.MinVersion != TLSVersionUnset || o.MaxVersion != TLSVersionUnset) {
		ignoredNo, no = no, 0
	}
	lo, hi := o.MinVersion, o.MaxVersion
	if bind && lo == TLSVersionUnset && (hi == TLSVersionUnset || hi >= TLSv12) {
		lo = TLSv12
	}
	allowed := func(v TLSVersion) bool {
		return !no.Has(v) && (lo == TLSVersionUnset || v >= lo) && (hi == TLSVersionUnset || v <= hi)
	}
	someAllowed := false
	for v := SSLv3; v <= TLSv13; v++ {
		someAllowed = someAllowed || allowed(v)
	}
	if !someAllowed {
		return 0, 0, ignoredNo, fmt.Errorf("all SSL/TLS versions are disabled%s", versionsWhy(o, global))
	}
	for v := MinServedTLSVersion; v <= TLSv13; v++ {
		if !allowed(v) {
			continue
		}
		if min == TLSVersionUnset {
			min = v
		}
		max = v
	}
	if min == TLSVersionUnset {
		return 0, 0, ignoredNo, fmt.Errorf("no TLS version fjord serves is left%s: fjord serves TLS 1.2 and 1.3 only", versionsWhy(o, global))
	}
	return min, max, ignoredNo, nil
}

// versionsWhy names the settings that decided the versions, for errors.
func versionsWhy(o TLSDefaults, global *TLSDefaults) string {
	var parts []string
	if o.MinVersion != TLSVersionUnset {
		parts = append(parts, "ssl-min-ver "+o.MinVersion.String())
	}
	if o.MaxVersion != TLSVersionUnset {
		parts = append(parts, "ssl-max-ver "+o.MaxVersion.String())
	}
	if o.NoVersions != 0 {
		parts = append(parts, o.NoVersions.noWords())
	}
	if len(parts) == 0 {
		return ""
	}
	if global.MinVersion != TLSVersionUnset || global.MaxVersion != TLSVersionUnset || global.NoVersions != 0 {
		parts = append(parts, "with the global defaults")
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// parseALPN reads a comma-separated protocol list, as HAProxy's
// ssl_sock_parse_alpn: every name 1 to 255 bytes long.
func parseALPN(kw, s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("'%s' expects a comma-separated list of protocols such as h2,http/1.1", kw)
	}
	names := strings.Split(s, ",")
	for _, n := range names {
		switch {
		case n == "":
			return nil, fmt.Errorf("'%s %s': empty protocol name", kw, s)
		case len(n) > 255:
			return nil, fmt.Errorf("'%s': ALPN protocol name too long: '%s'", kw, n)
		}
	}
	return names, nil
}

// parseIgnoreErrors reads 'ca-ignore-err' or 'crt-ignore-err': 'all' or
// comma-separated OpenSSL verification error codes 1 to 63, as
// bind_parse_ignore_err (where fjord refuses what is not a number).
func parseIgnoreErrors(kw, s string) (VerifyErrors, error) {
	if s == "all" {
		return AllVerifyErrors, nil
	}
	if s == "" {
		return 0, fmt.Errorf("'%s': missing error IDs list", kw)
	}
	var set VerifyErrors
	for _, item := range strings.Split(s, ",") {
		n, err := strconv.Atoi(item)
		if err != nil || n < 1 || n > 63 {
			return 0, fmt.Errorf("'%s': ID '%s' out of range (1..63) in error IDs list '%s'", kw, item, s)
		}
		set |= 1 << n
	}
	return set, nil
}

// rebase puts a relative path under base, as HAProxy does: base, a
// slash, the path, with nothing cleaned ("a/../b" means what the file
// system makes of it). '@system-ca' is no path and is never rebased, as
// in HAProxy since 2.7.
func rebase(base, path string) string {
	if base == "" || path == "" || path[0] == '/' || path[0] == '@' {
		return path
	}
	return base + "/" + path
}

// tlsOption is one TLS option of bind or server lines.
type tlsOption struct {
	name   string
	arg    string // the value's name ("FILE"), "" for a flag
	status status // ignored options give a notice, refused ones an error, each saying why
	why    string
	// bind or server reads the option; v is its value, "" for a flag.
	bind   func(p *parser, st *bindTLSState, pos Pos, v string) error
	server func(p *parser, st *serverTLSState, pos Pos, v string) error
}

// bindTLSState is what the TLS options of one bind line said.
type bindTLSState struct {
	ssl   bool
	first string        // the line's first TLS option, for the error without 'ssl'
	opts  TLSDefaults   // versions, ciphers, curves, tickets: the line's own
	ecdhe []tls.CurveID // 'ecdhe', used when no curve list is set
	tls   BindTLS       // the other options
	// unused names options that are read only when client certificates
	// are asked for ('verify optional' or 'required').
	unused []string
}

// versionOptions reads the version and ticket options, shared by bind
// and server lines.
func bindVersion(word string) func(*parser, *bindTLSState, Pos, string) error {
	return func(p *parser, st *bindTLSState, pos Pos, v string) error {
		_, err := p.versionWord(pos, bindSide, &st.opts, word, []string{v})
		return err
	}
}

var bindTLSOptions []tlsOption

func init() {
	// Set in init: the table's functions refer to it (unknown option
	// messages list it).
	bindTLSOptions = []tlsOption{
		{name: "ssl", bind: func(_ *parser, st *bindTLSState, _ Pos, _ string) error { st.ssl = true; return nil }},
		{name: "crt", arg: "FILE|DIR", bind: func(p *parser, st *bindTLSState, pos Pos, v string) error {
			st.tls.Certs = append(st.tls.Certs, CertSource{Pos: pos, Path: rebase(p.cfg.Global.CrtBase, v)})
			return nil
		}},
		{name: "crt-list", arg: "FILE", bind: func(_ *parser, st *bindTLSState, pos Pos, v string) error {
			st.tls.Certs = append(st.tls.Certs, CertSource{Pos: pos, Path: v, List: true})
			return nil
		}},
		{name: "alpn", arg: "LIST", bind: func(_ *parser, st *bindTLSState, _ Pos, v string) (err error) {
			st.tls.ALPN, err = parseALPN("alpn", v)
			return err
		}},
		{name: "ssl-min-ver", arg: "VERSION", bind: bindVersion("ssl-min-ver")},
		{name: "ssl-max-ver", arg: "VERSION", bind: bindVersion("ssl-max-ver")},
		{name: "no-sslv3", bind: bindVersion("no-sslv3")},
		{name: "no-tlsv10", bind: bindVersion("no-tlsv10")},
		{name: "no-tlsv11", bind: bindVersion("no-tlsv11")},
		{name: "no-tlsv12", bind: bindVersion("no-tlsv12")},
		{name: "no-tlsv13", bind: bindVersion("no-tlsv13")},
		{name: "force-sslv3", bind: bindVersion("force-sslv3")},
		{name: "force-tlsv10", bind: bindVersion("force-tlsv10")},
		{name: "force-tlsv11", bind: bindVersion("force-tlsv11")},
		{name: "force-tlsv12", bind: bindVersion("force-tlsv12")},
		{name: "force-tlsv13", bind: bindVersion("force-tlsv13")},
		{name: "no-tls-tickets", bind: bindVersion("no-tls-tickets")},
		{name: "ciphers", arg: "LIST", bind: func(p *parser, st *bindTLSState, pos Pos, v string) (err error) {
			st.opts.CipherSuites, err = p.ciphers(pos, "ciphers", v)
			return err
		}},
		{name: "ciphersuites", arg: "LIST", bind: func(p *parser, _ *bindTLSState, pos Pos, v string) error {
			return p.ciphersuites(pos, "ciphersuites", v)
		}},
		{name: "curves", arg: "LIST", bind: func(_ *parser, st *bindTLSState, _ Pos, v string) (err error) {
			st.opts.Curves, err = parseCurves("curves", v, false)
			return err
		}},
		{name: "ecdhe", arg: "CURVE", bind: func(_ *parser, st *bindTLSState, _ Pos, v string) (err error) {
			st.ecdhe, err = parseCurves("ecdhe", v, true)
			return err
		}},
		{name: "prefer-client-ciphers", bind: func(p *parser, _ *bindTLSState, pos Pos, _ string) error {
			p.preferClientCiphers(pos, "prefer-client-ciphers")
			return nil
		}},
		{name: "strict-sni", bind: func(_ *parser, st *bindTLSState, _ Pos, _ string) error { st.tls.StrictSNI = true; return nil }},
		{name: "verify", arg: "none|optional|required", bind: func(_ *parser, st *bindTLSState, _ Pos, v string) error {
			m, ok := verifyWords.parse(v)
			if !ok {
				return fmt.Errorf("'verify': unknown verify method '%s', only 'none', 'optional', and 'required' are supported", v)
			}
			st.tls.Verify = m
			return nil
		}},
		{name: "ca-file", arg: "FILE", bind: func(p *parser, st *bindTLSState, pos Pos, v string) error {
			if v == "@system-ca" {
				// HAProxy's own warning, from its documentation.
				p.notice(Warning, pos, "'ca-file @system-ca' on a bind accepts a client certificate from any CA this system trusts; give the CA of your clients' certificates instead")
				st.tls.SystemCAs, st.tls.CAFile = true, ""
			} else if err := caPath("ca-file", v); err != nil {
				return err
			} else {
				st.tls.CAFile, st.tls.SystemCAs = rebase(p.cfg.Global.CABase, v), false
			}
			st.unused = append(st.unused, "ca-file")
			return nil
		}},
		{name: "ca-verify-file", arg: "FILE", bind: func(p *parser, st *bindTLSState, _ Pos, v string) error {
			if err := caPath("ca-verify-file", v); err != nil {
				return err
			}
			st.tls.CAVerifyFile = rebase(p.cfg.Global.CABase, v)
			st.unused = append(st.unused, "ca-verify-file")
			return nil
		}},
		{name: "crl-file", arg: "FILE", bind: func(p *parser, st *bindTLSState, _ Pos, v string) error {
			if err := caPath("crl-file", v); err != nil {
				return err
			}
			st.tls.CRLFile = rebase(p.cfg.Global.CABase, v)
			st.unused = append(st.unused, "crl-file")
			return nil
		}},
		{name: "ca-ignore-err", arg: "all|ID,...", bind: func(_ *parser, st *bindTLSState, _ Pos, v string) error {
			e, err := parseIgnoreErrors("ca-ignore-err", v)
			st.tls.CAIgnoreErrors |= e
			st.unused = append(st.unused, "ca-ignore-err")
			return err
		}},
		{name: "crt-ignore-err", arg: "all|ID,...", bind: func(_ *parser, st *bindTLSState, _ Pos, v string) error {
			e, err := parseIgnoreErrors("crt-ignore-err", v)
			st.tls.CertIgnoreErrors |= e
			st.unused = append(st.unused, "crt-ignore-err")
			return err
		}},
		{name: "no-ca-names", bind: func(_ *parser, st *bindTLSState, _ Pos, _ string) error {
			st.tls.NoCANames = true
			st.unused = append(st.unused, "no-ca-names")
			return nil
		}},
		{name: "allow-0rtt", status: ignored, why: "crypto/tls has no 0-RTT: a TLS 1.3 client sends its first request after the handshake, one round trip later, and no early data is ever accepted (so none can be replayed)",
			bind: func(*parser, *bindTLSState, Pos, string) error { return nil }},
		{name: "npn", arg: "LIST", status: refused, why: "'npn' is not supported: NPN was replaced by ALPN, and neither browsers nor crypto/tls negotiate it any more; use 'alpn'"},
		{name: "generate-certificates", status: refused, why: "'generate-certificates' is not supported: fjord signs no certificates on the fly; give each name its certificate with 'crt' or 'crt-list'"},
		{name: "ca-sign-file", arg: "FILE", status: refused, why: "'ca-sign-file' is not supported: it signs the certificates of 'generate-certificates', which fjord does not have; give each name its certificate with 'crt' or 'crt-list'"},
		{name: "ca-sign-pass", arg: "PASSPHRASE", status: refused, why: "'ca-sign-pass' is not supported: it unlocks the key of 'generate-certificates', which fjord does not have"},
		{name: "tls-ticket-keys", arg: "FILE", status: refused, why: "'tls-ticket-keys' is not supported: fjord makes and rotates its session ticket keys itself, in memory"},
	}
}

// caPath checks a CA or CRL file argument: '@' starts no path, and
// '@system-ca' is the only name HAProxy knows there.
func caPath(kw, v string) error {
	if v == "" {
		return fmt.Errorf("'%s': missing file path", kw)
	}
	if v[0] == '@' && (v != "@system-ca" || kw != "ca-file") {
		return fmt.Errorf("'%s %s': unknown name ('@system-ca', for 'ca-file', is the only one)", kw, v)
	}
	return nil
}

func findTLSOption(table []tlsOption, name string) *tlsOption {
	for i := range table {
		if table[i].name == name {
			return &table[i]
		}
	}
	return nil
}

// tlsOptionNames lists the options of a table fjord reads, for the
// unknown option message.
func tlsOptionNames(table []tlsOption) string {
	var n []string
	for _, o := range table {
		if o.status != refused {
			n = append(n, o.name)
		}
	}
	return strings.Join(n, ", ")
}

// bindTLSOption reads the TLS option word at the start of opts, if it is
// one. It returns the number of words taken, 0 when word is none.
func (p *parser) bindTLSOption(st *bindTLSState, pos Pos, opts []string) (int, error) {
	o := findTLSOption(bindTLSOptions, opts[0])
	if o == nil {
		return 0, nil
	}
	if o.status == refused {
		return 0, fmt.Errorf("%s", o.why)
	}
	if o.name != "ssl" && st.first == "" {
		st.first = o.name
	}
	n, v := 1, ""
	if o.arg != "" {
		if len(opts) < 2 {
			return 0, fmt.Errorf("bind option '%s' expects a value (%s)", o.name, o.arg)
		}
		n, v = 2, opts[1]
	}
	if err := o.bind(p, st, pos, v); err != nil {
		return 0, err
	}
	if o.status == ignored {
		p.notice(Notice, pos, "'%s' is accepted and changes nothing: %s", o.name, o.why)
	}
	return n, nil
}

// finishBindTLS makes a bind line's BindTLS once the line is read: the
// global defaults applied as HAProxy's 'ssl' applies them, the versions
// resolved, and the checks HAProxy makes when it prepares the listener.
// It returns nil without 'ssl'.
func (p *parser) finishBindTLS(pos Pos, st *bindTLSState) (*BindTLS, error) {
	if !st.ssl {
		if st.first != "" {
			// HAProxy warns about a certificate without 'ssl' and
			// ignores the other options: either way the listener
			// would take plaintext where TLS was meant.
			return nil, fmt.Errorf("bind option '%s' configures TLS, but the line has no 'ssl': add 'ssl' to terminate TLS here (without it the listener takes plaintext)", st.first)
		}
		return nil, nil
	}
	if p.firstTLSLine.Line == 0 {
		p.firstTLSLine = pos
	}
	t := st.tls
	o := st.opts
	o.merge(&p.cfg.Global.BindTLSDefaults)
	o = o.clone()

	// 'curves' wins over 'ecdhe', as in HAProxy (ssl_sock_prepare_ctx).
	if st.ecdhe != nil {
		if o.Curves != nil {
			p.notice(Notice, pos, "'ecdhe' changes nothing when 'curves' or 'ssl-default-bind-curves' is set, as in HAProxy")
		} else {
			o.Curves = st.ecdhe
		}
	}
	t.Curves = o.Curves
	t.NoTLSTickets = o.NoTLSTickets
	t.CipherSuites = o.CipherSuites
	if t.CipherSuites == nil {
		t.CipherSuites = DefaultCipherSuites()
	}
	min, max, ignoredNo, err := resolveVersions(o, &p.cfg.Global.BindTLSDefaults, true)
	if ignoredNo != 0 {
		p.notice(Warning, pos, "%s ignored for this bind, as HAProxy ignores no-sslv3/no-tlsv1x once ssl-min-ver or ssl-max-ver is set (here or in ssl-default-bind-options); use only 'ssl-min-ver' and 'ssl-max-ver'", ignoredNo.noWords())
	}
	if err != nil {
		return nil, err
	}
	t.MinVersion, t.MaxVersion = min, max

	if len(t.Certs) == 0 {
		if !t.StrictSNI {
			return nil, fmt.Errorf("no SSL certificate specified for this bind (use 'crt')")
		}
		p.notice(Warning, pos, "no SSL certificate specified for this bind: with 'strict-sni' and no certificate, TLS connections will fail (use 'crt')")
	}
	if t.Verify == VerifyNone {
		if len(st.unused) > 0 {
			p.notice(Notice, pos, "'%s' changes nothing without 'verify optional' or 'verify required': no client certificate is asked for, as in HAProxy", strings.Join(dedupe(st.unused), "', '"))
		}
	} else if t.CAFile == "" && t.CAVerifyFile == "" && !t.SystemCAs {
		return nil, fmt.Errorf("'verify %s': verify is enabled but no CA file specified for this bind (use 'ca-file')", t.Verify)
	}
	return &t, nil
}

func dedupe(ws []string) []string {
	var out []string
	for _, w := range ws {
		if !contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// checkBindALPN leaves 'h2' out of the ALPN of a mode http frontend's
// binds: fjord speaks HTTP/1.1 there, and a client that chose h2 would
// send what fjord cannot read. Binds from one line share their BindTLS,
// so each line is told once.
func (p *parser) checkBindALPN(px *Proxy) {
	if px.Mode != ModeHTTP {
		return
	}
	done := map[*BindTLS]bool{}
	for _, b := range px.Binds {
		if b.TLS == nil || done[b.TLS] {
			continue
		}
		done[b.TLS] = true
		if alpn, ok := withoutH2(b.TLS.ALPN); ok {
			b.TLS.ALPN = alpn
			p.notice(Warning, b.Pos, "%s: 'alpn' offers 'h2', but fjord speaks HTTP/1.1 only in mode http: 'h2' is left out, so HTTP/2 clients use HTTP/1.1", px)
		}
	}
}

// withoutH2 removes "h2" from an ALPN list; ok reports whether it was
// there. An empty result is nil: no ALPN offered.
func withoutH2(alpn []string) ([]string, bool) {
	if !contains(alpn, "h2") {
		return alpn, false
	}
	var out []string
	for _, a := range alpn {
		if a != "h2" {
			out = append(out, a)
		}
	}
	return out, true
}
