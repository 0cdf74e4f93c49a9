package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The global section's TLS keywords (HAProxy 2.6's cfg_kws in
// src/cfgparse-ssl.c, and 'ssl-server-verify' in cfgparse-global.c).

// DefaultSSLLifetime is HAProxy's 'tune.ssl.lifetime' default.
const DefaultSSLLifetime = 300 * time.Second

// HandshakeCPUs is how many CPUs TLS handshakes may compute on at once:
// 'tune.ssl.handshake-cpus', else one less than the event loops (at
// least one), so that a flood of handshakes leaves a CPU to the
// established sessions.
func (g *Global) HandshakeCPUs() int {
	if g.TuneSSLHandshakeCPUs > 0 {
		return g.TuneSSLHandshakeCPUs
	}
	return max(g.Loops()-1, 1)
}

// tlsDefaultsOrder warns when a global TLS default comes after a bind or
// server line with TLS: HAProxy applies crt-base, ca-base and the
// ssl-default-* settings when it reads each bind or server line, so
// they reach only the lines after them, and so does fjord.
func (p *parser) tlsDefaultsOrder(pos Pos, kw string) {
	if p.firstTLSLine.Line != 0 {
		p.notice(Warning, pos, "'%s' applies only to the bind and server lines after it, as in HAProxy: the TLS settings at %s were read before it", kw, p.firstTLSLine)
	}
}

func glCrtBase(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalBase(pos, "crt-base", args, &p.cfg.Global.CrtBase)
}

func glCABase(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalBase(pos, "ca-base", args, &p.cfg.Global.CABase)
}

func (p *parser) globalBase(pos Pos, kw string, args []string, dst *string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("'%s' expects a directory path", kw)
	}
	// As in HAProxy (ssl_parse_global_ca_crt_base): once only, since
	// the lines before a second one would have read the first.
	if *dst != "" {
		return fmt.Errorf("'%s' already specified (as '%s')", kw, *dst)
	}
	p.tlsDefaultsOrder(pos, kw)
	*dst = strings.TrimRight(args[0], "/")
	if *dst == "" {
		*dst = "/"
	}
	return nil
}

// tlsSide says, in messages, whom a TLS setting talks to.
type tlsSide bool

const (
	bindSide   tlsSide = true
	serverSide tlsSide = false
)

func (s tlsSide) served() string {
	if s == bindSide {
		return "fjord serves TLS 1.2 and 1.3 only"
	}
	return "fjord connects to servers with TLS 1.2 and 1.3 only"
}

// versionWord applies one of the version and ticket options that bind
// and server lines and the ssl-default-*-options share: ssl-min-ver V,
// ssl-max-ver V, no-sslv3, no-tlsv1x, force-*, no-tls-tickets. It returns
// the number of words it took (0: word is none of them).
func (p *parser) versionWord(pos Pos, side tlsSide, o *TLSDefaults, word string, next []string) (int, error) {
	switch word {
	case "no-tls-tickets":
		o.NoTLSTickets = true
		return 1, nil
	case "ssl-min-ver", "ssl-max-ver":
		if len(next) == 0 {
			return 0, fmt.Errorf("'%s': missing the ssl/tls version (expects %s)", word, tlsVersionWords.alternatives())
		}
		v, err := parseTLSVersion(word, next[0])
		if err != nil {
			return 0, err
		}
		if word == "ssl-min-ver" {
			o.MinVersion = v
			if v < MinServedTLSVersion {
				p.notice(Warning, pos, "'ssl-min-ver %s': %s; %s below TLSv1.2 are not offered", v, side.served(), v)
			}
		} else {
			o.MaxVersion = v
		}
		return 2, nil
	}
	v, force, ok := versionOption(word)
	if !ok {
		return 0, nil
	}
	if force {
		// HAProxy's force-* is the range of one version.
		o.MinVersion, o.MaxVersion = v, v
	} else {
		o.NoVersions = o.NoVersions.with(v)
	}
	return 1, nil
}

func glDefaultBindOptions(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.defaultOptions(pos, "ssl-default-bind-options", bindSide, args, &p.cfg.Global.BindTLSDefaults)
}

func glDefaultServerOptions(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.defaultOptions(pos, "ssl-default-server-options", serverSide, args, &p.cfg.Global.ServerTLSDefaults)
}

// defaultOptions reads ssl-default-bind-options or
// ssl-default-server-options, as ssl_parse_default_bind_options: each
// line adds to the ones before.
func (p *parser) defaultOptions(pos Pos, kw string, side tlsSide, args []string, d *TLSDefaults) error {
	if len(args) == 0 {
		return fmt.Errorf("'%s' expects an option (no-tls-tickets, ssl-min-ver VERSION, ...)", kw)
	}
	p.tlsDefaultsOrder(pos, kw)
	for len(args) > 0 {
		if side == bindSide && args[0] == "prefer-client-ciphers" {
			p.preferClientCiphers(pos, kw+" prefer-client-ciphers")
			args = args[1:]
			continue
		}
		n, err := p.versionWord(pos, side, d, args[0], args[1:])
		if err != nil {
			return fmt.Errorf("%v on global statement '%s'", err, kw)
		}
		if n == 0 {
			return fmt.Errorf("unknown option '%s' on global statement '%s' (supported: %s)", args[0], kw, defaultOptionWords(side))
		}
		args = args[n:]
	}
	return nil
}

func defaultOptionWords(side tlsSide) string {
	w := "no-tls-tickets, ssl-min-ver VERSION, ssl-max-ver VERSION, no-sslv3, no-tlsv10, no-tlsv11, no-tlsv12, no-tlsv13, force-sslv3, force-tlsv10, force-tlsv11, force-tlsv12, force-tlsv13"
	if side == bindSide {
		w = "prefer-client-ciphers, " + w
	}
	return w
}

// preferClientCiphers says what 'prefer-client-ciphers' does in fjord:
// nothing, since crypto/tls picks the suite itself.
func (p *parser) preferClientCiphers(pos Pos, what string) {
	p.notice(Notice, pos, "'%s' changes nothing: crypto/tls chooses the suite itself (AES-GCM first where the CPU has AES instructions, else ChaCha20-Poly1305), whatever either side prefers", what)
}

func glDefaultBindCiphers(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalCiphers(pos, "ssl-default-bind-ciphers", bindSide, args, &p.cfg.Global.BindTLSDefaults)
}

func glDefaultServerCiphers(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalCiphers(pos, "ssl-default-server-ciphers", serverSide, args, &p.cfg.Global.ServerTLSDefaults)
}

func (p *parser) globalCiphers(pos Pos, kw string, side tlsSide, args []string, d *TLSDefaults) error {
	if len(args) != 1 {
		return fmt.Errorf("'%s' expects a cipher suite (one OpenSSL cipher list)", kw)
	}
	suites, err := p.ciphers(pos, kw, args[0])
	if err != nil {
		return err
	}
	p.tlsDefaultsOrder(pos, kw)
	d.CipherSuites = suites
	return nil
}

// ciphers reads an OpenSSL cipher list and says at pos what fjord makes
// of it: names it cannot carry (a warning), selection words it does not
// evaluate (a notice).
func (p *parser) ciphers(pos Pos, kw, list string) ([]uint16, error) {
	cl, err := parseCipherList(list)
	if err != nil {
		return nil, fmt.Errorf("'%s': %v", kw, err)
	}
	if len(cl.Dropped) > 0 {
		p.notice(Warning, pos, "'%s': fjord cannot carry %s, left out: it offers only AEAD suites with forward secrecy (ECDHE with AES-GCM or ChaCha20-Poly1305), not CBC, RC4, 3DES, RSA key exchange, DHE, PSK, CCM, ARIA, Camellia or NULL ciphers", kw, strings.Join(cl.Dropped, ", "))
	}
	if len(cl.Suites) == 0 {
		return nil, fmt.Errorf("'%s %s': no cipher fjord can carry is left; fjord offers %s", kw, list, fjordSuiteNames())
	}
	if len(cl.Selection) > 0 {
		if cl.Selects {
			p.notice(Notice, pos, "'%s': fjord does not evaluate OpenSSL's selection language (%s); in place of what it selects, fjord offers its own AEAD suites with forward secrecy: %s", kw, strings.Join(cl.Selection, ", "), fjordSuiteNames())
		} else {
			names := make([]string, len(cl.Suites))
			for i, id := range cl.Suites {
				names[i] = CipherSuiteName(id)
			}
			p.notice(Notice, pos, "'%s': fjord does not evaluate OpenSSL's selection language (%s); it offers the suites named: %s", kw, strings.Join(cl.Selection, ", "), strings.Join(names, ", "))
		}
	}
	return cl.Suites, nil
}

func glDefaultBindCiphersuites(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalCiphersuites(pos, "ssl-default-bind-ciphersuites", args)
}

func glDefaultServerCiphersuites(p *parser, _ *Proxy, pos Pos, args []string) error {
	return p.globalCiphersuites(pos, "ssl-default-server-ciphersuites", args)
}

func (p *parser) globalCiphersuites(pos Pos, kw string, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'%s' expects a cipher suite (one TLS 1.3 suite list)", kw)
	}
	p.tlsDefaultsOrder(pos, kw)
	return p.ciphersuites(pos, kw, args[0])
}

// ciphersuites checks a TLS 1.3 suite list. crypto/tls offers its three
// TLS 1.3 suites on every connection and lets no configuration choose,
// so the list changes nothing; a list that leaves one out is warned
// about, since what it asks is not done.
func (p *parser) ciphersuites(pos Pos, kw, list string) error {
	ids, dropped, err := parseTLS13Suites(list)
	if err != nil {
		return fmt.Errorf("'%s': %v", kw, err)
	}
	if len(dropped) > 0 {
		p.notice(Warning, pos, "'%s': fjord cannot carry %s, left out: its TLS 1.3 suites are AES-GCM and ChaCha20-Poly1305", kw, strings.Join(dropped, ", "))
	}
	var missing []string
	for _, s := range tls13Suites[:3] {
		if !containsID(ids, s.id) {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		p.notice(Warning, pos, "'%s' is not honored: crypto/tls offers TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and TLS_CHACHA20_POLY1305_SHA256 on every TLS 1.3 connection and lets no configuration leave one out, so %s stays offered", kw, strings.Join(missing, ", "))
	}
	return nil
}

func glDefaultBindCurves(p *parser, _ *Proxy, pos Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'ssl-default-bind-curves' expects a curves suite such as X25519:P-256")
	}
	ids, err := parseCurves("ssl-default-bind-curves", args[0], false)
	if err != nil {
		return err
	}
	p.tlsDefaultsOrder(pos, "ssl-default-bind-curves")
	p.cfg.Global.BindTLSDefaults.Curves = ids
	return nil
}

func glServerVerify(p *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 || args[0] != "none" && args[0] != "required" {
		return fmt.Errorf("'ssl-server-verify' expects 'none' or 'required' as argument")
	}
	// Read when the servers are checked, after every line: HAProxy reads
	// it at startup, wherever the line is.
	p.cfg.Global.ServerVerify, _ = verifyWords.parse(args[0])
	return nil
}

func glLoadExtraFiles(p *parser, _ *Proxy, _ Pos, args []string) error {
	const expects = "'ssl-load-extra-files' expects one or multiple arguments (none, all, bundle, sctl, ocsp, issuer, key)"
	if len(args) == 0 {
		return fmt.Errorf("%s", expects)
	}
	var e ExtraFiles
	for i, a := range args {
		if a == "none" || a == "all" {
			// As ssl_parse_global_extra_files: alone or not at all.
			if len(args) > 1 {
				return fmt.Errorf("'ssl-load-extra-files': '%s' can only be used alone", args[i])
			}
			if a == "all" {
				e = ExtraAll
			}
			break
		}
		found := false
		for _, w := range extraFileWords {
			if w.word == a {
				e |= w.bit
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s, not '%s'", expects, a)
		}
	}
	p.cfg.Global.LoadExtraFiles = e
	return nil
}

func glSSLLifetime(p *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'tune.ssl.lifetime' expects ssl sessions <lifetime> in seconds as argument")
	}
	// A number without a unit is in seconds here (TIME_UNIT_S), unlike
	// other time values.
	v := args[0]
	if v != "" && strings.Trim(v, "0123456789") == "" {
		v += "s"
	}
	d, err := parseDuration(v)
	if err != nil {
		return fmt.Errorf("'tune.ssl.lifetime': %v", err)
	}
	switch {
	case d > math.MaxInt32*time.Second:
		return fmt.Errorf("'tune.ssl.lifetime %s': timer overflow (maximum value is 2147483647 s or ~68 years)", args[0])
	case d > 0 && d < time.Second:
		return fmt.Errorf("'tune.ssl.lifetime %s': timer underflow (minimum non-null value is 1 s)", args[0])
	}
	p.cfg.Global.TuneSSLLifetime = d
	return nil
}

func glSSLMaxRecord(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("tune.ssl.maxrecord", args, 0, math.MaxInt32, &p.cfg.Global.TuneSSLMaxRecord)
}

func glSSLHardMaxRecord(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("tune.ssl.hard-maxrecord", args, 0, math.MaxInt32, &p.cfg.Global.TuneSSLHardMaxRecord)
}

func glSSLKTLS(p *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'tune.ssl.ktls' expects %s", ktlsWords.alternatives())
	}
	m, ok := ktlsWords.parse(args[0])
	if !ok {
		return fmt.Errorf("'tune.ssl.ktls' expects %s, not '%s'", ktlsWords.alternatives(), args[0])
	}
	p.cfg.Global.TuneSSLKTLS = m
	return nil
}

func glSSLHandshakeCPUs(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("tune.ssl.handshake-cpus", args, 1, maxThreads, &p.cfg.Global.TuneSSLHandshakeCPUs)
}

// The argument checks of the ignored TLS keywords, as HAProxy makes them.

func defaultDHParam(_ *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("expects an integer argument")
	}
	if _, err := parseInt("value", args[0], 1024, math.MaxInt32); err != nil {
		return fmt.Errorf("expects a value >= 1024, not '%s'", args[0])
	}
	return nil
}

func filePathArg(_ *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("expects a file path as an argument")
	}
	return nil
}

// captureBufferSize checks tune.ssl.capture-buffer-size and its
// deprecated name, which HAProxy takes once between them.
func captureBufferSize(p *parser, _ *Proxy, pos Pos, args []string) error {
	if err := intArg(0, math.MaxInt32)(p, nil, pos, args); err != nil {
		return err
	}
	if p.sslCapturePos.Line != 0 {
		return fmt.Errorf("is already configured (at %s)", p.sslCapturePos)
	}
	p.sslCapturePos = pos
	return nil
}

func captureCipherlistSize(p *parser, px *Proxy, pos Pos, args []string) error {
	if err := captureBufferSize(p, px, pos, args); err != nil {
		return err
	}
	p.notice(Warning, pos, "'tune.ssl.capture-cipherlist-size' is deprecated and will be removed in version 2.7. Please use 'tune.ssl.capture-buffer-size' instead")
	return nil
}
