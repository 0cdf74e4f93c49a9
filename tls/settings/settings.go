// Package settings builds the crypto/tls configurations of a
// configuration's TLS binds and servers: certificates loaded through the
// certificate store (package certs), versions, suites, groups, ALPN,
// client and server verification with CA files and CRLs. It reads files
// and nothing else: cmd/fjord hands what it builds to the engine and the
// health checks, and 'fjord -c' builds it too, so that a certificate
// that would not load is found before a start or a reload.
package settings

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/certs"
	"github.com/fjordlb/fjord/tls/handshake"
)

// Set are the TLS configurations of one configuration.
type Set struct {
	// Binds are the handshake configurations of the binds with 'ssl'.
	// Binds made from one line share theirs.
	Binds map[*config.Bind]*handshake.ServerConfig
	// Stores are the binds' certificate stores, for messages.
	Stores map[*config.Bind]*certs.Store
	// Servers speak TLS to servers with 'ssl'; ServerName is the 'sni
	// str(NAME)', empty for no SNI or one taken from the request.
	Servers map[*config.Server]*tls.Config
	// Checks are the configurations of health checks over TLS.
	Checks map[*config.Server]*tls.Config
	// Warnings are about certificates (an expiry date, an OCSP response
	// that does not apply), each naming its file.
	Warnings []string
}

// Build reads every certificate, CA and CRL file that cfg names and
// makes the configurations. An error names the line and the file.
func Build(cfg *config.Config) (*Set, error) {
	s := &Set{
		Binds:   map[*config.Bind]*handshake.ServerConfig{},
		Stores:  map[*config.Bind]*certs.Store{},
		Servers: map[*config.Server]*tls.Config{},
		Checks:  map[*config.Server]*tls.Config{},
	}
	g := &cfg.Global
	var errs []error
	for _, px := range cfg.Proxies {
		built := map[*config.BindTLS]*handshake.ServerConfig{}
		stores := map[*config.BindTLS]*certs.Store{}
		for _, b := range px.Binds {
			if b.TLS == nil {
				continue
			}
			if sc, ok := built[b.TLS]; ok {
				s.Binds[b], s.Stores[b] = sc, stores[b.TLS]
				continue
			}
			sc, store, warns, err := bindConfig(g, b.TLS)
			for _, w := range warns {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %s: %s", b.Pos, px, w))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: 'bind ... ssl': %w", b.Pos, px, err))
				continue
			}
			built[b.TLS], stores[b.TLS] = sc, store
			s.Binds[b], s.Stores[b] = sc, store
		}
		for _, sv := range px.Servers {
			if sv.TLS == nil {
				continue
			}
			tc, warns, err := serverConfig(g, sv.TLS)
			for _, w := range warns {
				s.Warnings = append(s.Warnings, fmt.Sprintf("%s: %s, server '%s': %s", sv.Pos, px, sv.Name, w))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %s, server '%s': %w", sv.Pos, px, sv.Name, err))
				continue
			}
			if sv.TLS.Traffic {
				s.Servers[sv] = tc
			}
			if sv.TLS.Checks {
				c := tc.Clone()
				if c.ClientSessionCache != nil {
					// The checks' own: crypto/tls resumes TLS 1.2
					// sessions for them, which traffic must not find
					// (see serverConfig).
					c.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				}
				if sv.TLS.CheckSNI != "" {
					c.ServerName = sv.TLS.CheckSNI
				}
				if sv.TLS.CheckALPN != nil {
					c.NextProtos = sv.TLS.CheckALPN
				}
				s.Checks[sv] = c
			}
		}
	}
	return s, errors.Join(errs...)
}

// bindConfig is a bind's server-side configuration.
func bindConfig(g *config.Global, b *config.BindTLS) (*handshake.ServerConfig, *certs.Store, []string, error) {
	var srcs []certs.Source
	for _, c := range b.Certs {
		p := c.Path
		if !c.List {
			// config rebased it on crt-base already: make it
			// absolute so that the store does not rebase it again.
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
		}
		srcs = append(srcs, certs.Source{Path: p, List: c.List})
	}
	store, cw, err := certs.Load(srcs, certs.Options{CrtBase: g.CrtBase, CABase: g.CABase, StrictSNI: b.StrictSNI, Skip: skipped(g.LoadExtraFiles)})
	var warns []string
	for _, w := range cw {
		warns = append(warns, w.String())
	}
	if err != nil {
		return nil, nil, warns, err
	}
	if b.NoTLSTickets {
		// HAProxy's OpenSSL still resumes from its session cache;
		// crypto/tls resumes with tickets only, so nothing resumes. A
		// migrated configuration should know what it loses.
		warns = append(warns, "'no-tls-tickets': no TLS session will be resumed (fjord resumes with tickets only; HAProxy would still resume from its session cache)")
	}
	tc := &tls.Config{
		MinVersion:             b.MinVersion.Wire(),
		MaxVersion:             b.MaxVersion.Wire(),
		CipherSuites:           b.CipherSuites,
		CurvePreferences:       b.Curves,
		NextProtos:             b.ALPN,
		SessionTicketsDisabled: b.NoTLSTickets,
	}
	// The store chooses by SNI. A client whose name matches nothing
	// under strict-sni gets unrecognized_name: crypto/tls sends it when
	// GetCertificate finds nothing and no certificate is configured.
	tc.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := store.GetCertificate(hello)
		if errors.Is(err, certs.ErrNoCertificate) {
			return nil, nil
		}
		return c, err
	}
	opts := []handshake.ServerOption{handshake.Lifetime(g.TuneSSLLifetime)}
	if b.Verify != config.VerifyNone {
		v, vw, err := newVerifier(b.CAFile, b.CAVerifyFile, b.SystemCAs, b.CRLFile, x509.ExtKeyUsageClientAuth, b.CAIgnoreErrors, b.CertIgnoreErrors)
		warns = append(warns, vw...)
		if err != nil {
			return nil, nil, warns, err
		}
		// crypto/tls verifies only against ClientCAs, which it also
		// sends as the acceptable names: fjord asks for any certificate
		// and verifies it itself, so that 'no-ca-names', the CRL and
		// the ignored errors apply, and ssl_c_verify says which error
		// was ignored.
		tc.ClientAuth = tls.RequestClientCert
		if b.Verify == config.VerifyRequired {
			tc.ClientAuth = tls.RequireAnyClientCert
		}
		if !b.NoCANames {
			tc.ClientCAs = v.named
		}
		opts = append(opts, handshake.VerifyClient(func(chain [][]byte) (int, error) {
			return v.verify(chain, "")
		}))
	}
	return handshake.NewServerConfig(tc, opts...), store, warns, nil
}

// serverConfig is the client-side configuration of a server's traffic.
func serverConfig(g *config.Global, t *config.ServerTLS) (*tls.Config, []string, error) {
	tc := &tls.Config{
		MinVersion:             t.MinVersion.Wire(),
		MaxVersion:             t.MaxVersion.Wire(),
		CipherSuites:           t.CipherSuites,
		NextProtos:             t.ALPN,
		SessionTicketsDisabled: t.NoTLSTickets,
		// The chain and the names are checked in VerifyConnection, as
		// HAProxy checks them: against the SNI sent, else verifyhost,
		// else the names are not checked.
		InsecureSkipVerify: true,
	}
	if t.SNI.Source == config.SNIText {
		tc.ServerName = t.SNI.Text
	}
	if !t.NoSSLReuse && !t.NoTLSTickets {
		// HAProxy resumes the session to a server unless 'no-ssl-reuse'.
		// crypto/tls keys a session by the SNI sent (by the server's
		// address without one), so none is resumed under another name.
		// The engine's handshakes keep TLS 1.3 sessions only (see
		// tls/handshake); without tickets crypto/tls resumes none.
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(serverSessions)
	}
	var warns []string
	if t.Cert != "" {
		p, _ := filepath.Abs(t.Cert)
		store, cw, err := certs.Load([]certs.Source{{Path: p}}, certs.Options{Skip: skipped(g.LoadExtraFiles)})
		for _, w := range cw {
			warns = append(warns, w.String())
		}
		if err != nil {
			return nil, warns, fmt.Errorf("'crt %s': %w", t.Cert, err)
		}
		tc.Certificates = []tls.Certificate{*store.Default().TLS()}
	}
	if t.Verify == config.VerifyRequired {
		v, vw, err := newVerifier(t.CAFile, "", t.SystemCAs, t.CRLFile, x509.ExtKeyUsageServerAuth, 0, 0)
		warns = vw
		if err != nil {
			return nil, warns, err
		}
		host := t.VerifyHost
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raw[i] = c.Raw
			}
			name := cs.ServerName
			if name == "" {
				name = host
			}
			_, err := v.verify(raw, name)
			return err
		}
	}
	return tc, warns, nil
}

// serverSessions is how many sessions are kept for each server, one per
// SNI: 'sni req.hdr(host)' names a server by as many names as its sites.
const serverSessions = 64

// verifier checks a peer's chain against CA files and a crl-file.
type verifier struct {
	roots   *x509.CertPool
	named   *x509.CertPool                 // the CAs named to clients: ca-file's
	cas     map[string][]*x509.Certificate // the CAs of the files, by subject
	crls    *crlIndex                      // nil: no crl-file
	usage   x509.ExtKeyUsage
	ignCA   config.VerifyErrors
	ignCert config.VerifyErrors
}

// newVerifier reads the CA files and the crl-file. The warnings are the
// crl-file's (loadCRLs).
func newVerifier(caFile, caVerifyFile string, system bool, crlFile string, usage x509.ExtKeyUsage, ignCA, ignCert config.VerifyErrors) (*verifier, []string, error) {
	v := &verifier{usage: usage, ignCA: ignCA, ignCert: ignCert, cas: map[string][]*x509.Certificate{}}
	if system {
		p, err := x509.SystemCertPool()
		if err != nil {
			return nil, nil, fmt.Errorf("@system-ca: %w", err)
		}
		v.roots = p
	} else {
		v.roots = x509.NewCertPool()
	}
	v.named = x509.NewCertPool()
	var all []*x509.Certificate
	for _, f := range []string{caFile, caVerifyFile} {
		if f == "" {
			continue
		}
		cas, err := readCerts(f)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cas {
			v.roots.AddCert(c)
			if f == caFile {
				v.named.AddCert(c)
			}
			v.cas[string(c.RawSubject)] = append(v.cas[string(c.RawSubject)], c)
			all = append(all, c)
		}
	}
	var warns []string
	if crlFile != "" {
		var err error
		if v.crls, warns, err = loadCRLs(crlFile, all, time.Now()); err != nil {
			return nil, warns, err
		}
	}
	return v, warns, nil
}

// readCerts reads every certificate of a PEM file.
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("'ca-file': %w", err)
	}
	cas, err := certs.ParseCerts(data)
	if err != nil {
		return nil, fmt.Errorf("'ca-file %s': %w", path, err)
	}
	return cas, nil
}

// OpenSSL's verification codes, which 'ca-ignore-err' and
// 'crt-ignore-err' name and ssl_c_verify returns.
const (
	errUnspecified           = 1
	errCertNotYetValid       = 9
	errCertHasExpired        = 10
	errDepthZeroSelfSigned   = 18
	errSelfSignedCertInChain = 19
	errUnableToGetIssuer     = 20 // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
	errUnableToVerifyLeafSig = 21
	errCertRevoked           = 23
	errInvalidCA             = 24
	errInvalidPurpose        = 26
	errUnhandledCriticalExt  = 34
	errPermittedViolation    = 47
	errHostnameMismatch      = 62
)

// verifyError is an error OpenSSL's verification meets: its code, and
// the depth of the certificate it is about (0: the peer's own), which
// says whether 'crt-ignore-err' (0) or 'ca-ignore-err' (above) may
// ignore it.
type verifyError struct {
	code, depth int
	err         error
}

// verify checks a peer's chain (leaf first) and, when name is not
// empty, the leaf's names, as OpenSSL checks them for HAProxy: an error
// fails the chain unless the bind ignores its code at its depth, and
// the checks go on after an error ignored. code is the last error
// ignored (0: none), which OpenSSL keeps as the verification result
// (ssl_c_verify).
func (v *verifier) verify(raw [][]byte, name string) (code int, err error) {
	chain := make([]*x509.Certificate, len(raw))
	for i, r := range raw {
		c, err := x509.ParseCertificate(r)
		if err != nil {
			return 0, fmt.Errorf("certificate %d of the peer's chain: %w", i, err)
		}
		chain[i] = c
	}
	for _, e := range v.check(chain, name, time.Now()) {
		ign := v.ignCert
		if e.depth > 0 {
			ign = v.ignCA
		}
		// HAProxy 2.6 on OpenSSL 3 refuses a certificate with a
		// critical extension it does not know, whatever it ignores.
		if !ign.Has(e.code) || e.code == errUnhandledCriticalExt {
			return 0, e.err
		}
		code = e.code
	}
	return code, nil
}

// check returns the errors of chain in the order OpenSSL 3 meets them:
// building the chain to a trusted CA, the leaf's purpose, its names,
// the CRLs of every certificate of the chain built (crl.go), and last
// the leaf's signature and dates (OpenSSL's internal_verify). Go's
// Verify checks the leaf's dates first and stops at its first error, so
// the chain of a leaf out of its dates is built at the end of its
// validity (its start, for one not valid yet), when its CAs were valid
// too, and the leaf's dates are compared with now after; the CRLs'
// dates are compared with now.
func (v *verifier) check(chain []*x509.Certificate, name string, now time.Time) []verifyError {
	leaf := chain[0]
	at := now
	if at.Before(leaf.NotBefore) {
		at = leaf.NotBefore
	} else if at.After(leaf.NotAfter) {
		at = leaf.NotAfter
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	var errs []verifyError
	noIssuer := false // the leaf's issuer is nowhere: OpenSSL cannot check its signature either
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{v.usage}}
	chains, err := leaf.Verify(opts)
	var built []*x509.Certificate // the chain OpenSSL builds, for the CRL check
	var inv x509.CertificateInvalidError
	var unk x509.UnknownAuthorityError
	switch {
	case err == nil:
		built = chains[0]
	case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
		errs = append(errs, verifyError{errInvalidPurpose, 0, err})
		if v.crls != nil {
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
			if chains, err := leaf.Verify(opts); err == nil {
				built = chains[0]
			}
		}
	case errors.As(err, &unk):
		e := unknownIssuer(chain, unk, err)
		errs = append(errs, e)
		noIssuer = e.code == errUnableToGetIssuer && e.depth == 0
		// OpenSSL's chain ends with the certificate whose issuer it
		// did not find.
		built = chain[:e.depth+1]
		// No chain: OpenSSL still checks the leaf's purpose.
		if !usableFor(leaf, v.usage) {
			errs = append(errs, verifyError{errInvalidPurpose, 0, x509.CertificateInvalidError{Cert: leaf, Reason: x509.IncompatibleUsage}})
		}
	default:
		errs = append(errs, chainError(err))
	}
	if name != "" {
		if err := leaf.VerifyHostname(name); err != nil {
			errs = append(errs, verifyError{errHostnameMismatch, 0, err})
		}
	}
	if v.crls != nil {
		if built == nil {
			built = v.completed(chain)
		}
		errs = v.crls.check(built, now, errs)
	}
	if noIssuer {
		errs = append(errs, verifyError{errUnableToVerifyLeafSig, 0, err})
	}
	switch {
	case now.Before(leaf.NotBefore):
		errs = append(errs, verifyError{errCertNotYetValid, 0, x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired,
			Detail: fmt.Sprintf("current time %s is before %s", now.UTC().Format(time.RFC3339), leaf.NotBefore.UTC().Format(time.RFC3339))}})
	case now.After(leaf.NotAfter):
		errs = append(errs, verifyError{errCertHasExpired, 0, x509.CertificateInvalidError{Cert: leaf, Reason: x509.Expired,
			Detail: fmt.Sprintf("current time %s is after %s", now.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))}})
	}
	return errs
}

// unknownIssuer is OpenSSL's error for a chain that leads to no trusted
// CA, about the certificate whose issuer was not found: 18 when it is
// the peer's own and self-signed, 19 when it is one the peer sent above
// it and self-signed, else 20 at its depth.
func unknownIssuer(chain []*x509.Certificate, unk x509.UnknownAuthorityError, err error) verifyError {
	depth := 0
	for i, c := range chain {
		if unk.Cert != nil && c.Equal(unk.Cert) {
			depth = i
			break
		}
	}
	c := chain[depth]
	if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
		if depth == 0 {
			return verifyError{errDepthZeroSelfSigned, 0, err}
		}
		return verifyError{errSelfSignedCertInChain, depth, err}
	}
	return verifyError{errUnableToGetIssuer, depth, err}
}

// chainError is OpenSSL's error for the other failures of Go's chain
// building.
func chainError(err error) verifyError {
	var inv x509.CertificateInvalidError
	var crit x509.UnhandledCriticalExtension
	switch {
	case errors.As(err, &crit):
		return verifyError{errUnhandledCriticalExt, 0, err}
	case errors.As(err, &inv) && inv.Reason == x509.NotAuthorizedToSign:
		return verifyError{errInvalidCA, 1, err}
	case errors.As(err, &inv) && inv.Reason == x509.CANotAuthorizedForThisName:
		return verifyError{errPermittedViolation, 0, err}
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return verifyError{errCertHasExpired, 1, err} // the leaf's dates are checked apart
	}
	return verifyError{errUnspecified, 0, err}
}

// usableFor reports whether the leaf's extended key usage allows usage
// (none at all allows any).
func usableFor(leaf *x509.Certificate, usage x509.ExtKeyUsage) bool {
	if len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0 {
		return true
	}
	for _, u := range leaf.ExtKeyUsage {
		if u == usage || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// completed is the chain the peer sent, with a CA of the files that
// has the name of the last one's issuer, unless it is self-issued: the
// chain OpenSSL builds, near enough, when Go's Verify built none for an
// error other than an unknown issuer (an expired CA, a CA's
// constraints), so that its certificates are checked against the
// CRLs.
func (v *verifier) completed(chain []*x509.Certificate) []*x509.Certificate {
	top := chain[len(chain)-1]
	if bytes.Equal(top.RawIssuer, top.RawSubject) {
		return chain
	}
	if cas := v.cas[string(top.RawIssuer)]; len(cas) > 0 {
		return append(chain[:len(chain):len(chain)], cas[0])
	}
	return chain
}

// skipped are the sidecar files 'ssl-load-extra-files' leaves unread.
func skipped(e config.ExtraFiles) certs.Sidecars {
	var skip certs.Sidecars
	for _, m := range []struct {
		read config.ExtraFiles
		skip certs.Sidecars
	}{
		{config.ExtraBundle, certs.SidecarBundle}, {config.ExtraSCTL, certs.SidecarSCTL},
		{config.ExtraOCSP, certs.SidecarOCSP}, {config.ExtraIssuer, certs.SidecarIssuer},
		{config.ExtraKey, certs.SidecarKey},
	} {
		if e&m.read == 0 {
			skip |= m.skip
		}
	}
	return skip
}
