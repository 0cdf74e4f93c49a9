package certs

import (
	"crypto/tls"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Client hellos as crypto/tls would report them.

// rsaOnly is a TLS 1.2 client with RSA signatures and cipher suites only.
func rsaOnly(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        name,
		CipherSuites:      []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SupportedPoints:   []uint8{0},
		SignatureSchemes:  []tls.SignatureScheme{tls.PSSWithSHA256, tls.PKCS1WithSHA256},
		SupportedVersions: []uint16{tls.VersionTLS12},
	}
}

// modern is a TLS 1.3 and 1.2 client that takes ECDSA and RSA.
func modern(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        name,
		CipherSuites:      []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519, tls.CurveP256},
		SupportedPoints:   []uint8{0},
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256, tls.PKCS1WithSHA256},
		SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
	}
}

// ecdsaOnly is a TLS 1.3 client that takes ECDSA signatures only.
func ecdsaOnly(name string) *tls.ClientHelloInfo {
	return &tls.ClientHelloInfo{
		ServerName:        name,
		CipherSuites:      []uint16{tls.TLS_AES_128_GCM_SHA256},
		SupportedCurves:   []tls.CurveID{tls.X25519},
		SignatureSchemes:  []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256},
		SupportedVersions: []uint16{tls.VersionTLS13},
	}
}

// ed25519Only is a TLS 1.3 client that takes Ed25519 signatures only.
func ed25519Only(name string) *tls.ClientHelloInfo {
	h := ecdsaOnly(name)
	h.SignatureSchemes = []tls.SignatureScheme{tls.Ed25519}
	return h
}

// served names the file of the certificate GetCertificate returns, or
// the error.
func served(t *testing.T, s *Store, h *tls.ClientHelloInfo) string {
	t.Helper()
	got, err := s.GetCertificate(h)
	if err != nil {
		return "error: " + err.Error()
	}
	for _, c := range s.Certs() {
		if got == c.f.cert || got == c.f.bare {
			return filepath.Base(c.Path)
		}
	}
	t.Fatalf("GetCertificate returned a certificate the store does not hold")
	return ""
}

type fileSpec struct {
	name string
	key  keyKind
	cn   string   // subject CN when dns is empty
	dns  []string // SAN DNS names
}

// writeCerts writes certificate files into dir.
func writeCerts(t *testing.T, dir string, specs ...fileSpec) {
	t.Helper()
	p := testPKI(t)
	for _, s := range specs {
		cn := s.cn
		if cn == "" {
			cn = first(s.dns)
		}
		c := issue(t, p.inter, certSpec{cn: cn, dns: s.dns, key: s.key})
		writeFile(t, filepath.Join(dir, s.name), p.bundlePEM(t, c))
	}
}

// TestSNI: exact names, wildcards, case, trailing dots, the default, and
// key types chosen by what the client supports.
func TestSNI(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir,
		fileSpec{name: "default.pem", dns: []string{"default.example.com"}},
		fileSpec{name: "www.pem", dns: []string{"www.example.com"}},
		fileSpec{name: "wild.pem", dns: []string{"*.example.com"}},
		fileSpec{name: "dual-rsa.pem", key: rsaKind, dns: []string{"dual.example.com"}},
		fileSpec{name: "dual-ec.pem", dns: []string{"dual.example.com"}},
		fileSpec{name: "cn.pem", cn: "CN.example.com"},
		fileSpec{name: "mixed-rsa.pem", key: rsaKind, dns: []string{"mixed.example.com"}},
		fileSpec{name: "ed.pem", key: edKey, dns: []string{"ed.example.org"}},
		fileSpec{name: "ed-rsa.pem", key: rsaKind, dns: []string{"ed.example.org"}},
		fileSpec{name: "sub-wild.pem", dns: []string{"*.b.example.com"}},
	)
	var sources []Source
	for _, f := range []string{"default.pem", "www.pem", "wild.pem", "dual-rsa.pem", "dual-ec.pem", "cn.pem", "mixed-rsa.pem", "ed.pem", "ed-rsa.pem", "sub-wild.pem"} {
		sources = append(sources, Source{Path: f})
	}
	s, ws, err := Load(sources, Options{CrtBase: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 0 {
		t.Fatalf("warnings %q", ws)
	}
	tests := []struct {
		name  string
		hello *tls.ClientHelloInfo
		want  string
	}{
		{"exact", modern("www.example.com"), "www.pem"},
		{"case-insensitive", modern("WWW.Example.COM"), "www.pem"},
		{"trailing dot", modern("www.example.com."), "www.pem"},
		{"wildcard", modern("a.example.com"), "wild.pem"},
		{"wildcard, upper case", modern("A.EXAMPLE.COM"), "wild.pem"},
		{"wildcard is one label deep", modern("a.c.example.com"), "default.pem"},
		{"a deeper wildcard", modern("a.b.example.com"), "sub-wild.pem"},
		{"wildcard does not match the domain itself", modern("example.com"), "default.pem"},
		{"no name for the empty label", modern(".example.com"), "default.pem"},
		{"unknown name", modern("www.example.org"), "default.pem"},
		{"no SNI", modern(""), "default.pem"},
		{"the default by its name", modern("default.example.com"), "default.pem"},
		{"CN without SAN", modern("cn.example.com"), "cn.pem"},
		{"ECDSA preferred", modern("dual.example.com"), "dual-ec.pem"},
		{"RSA for an RSA-only client", rsaOnly("dual.example.com"), "dual-rsa.pem"},
		{"ECDSA for an ECDSA-only client", ecdsaOnly("dual.example.com"), "dual-ec.pem"},
		{"exact RSA before wildcard ECDSA", modern("mixed.example.com"), "mixed-rsa.pem"},
		{"wildcard ECDSA when the client cannot use the exact RSA", ecdsaOnly("mixed.example.com"), "wild.pem"},
		{"RSA before Ed25519", modern("ed.example.org"), "ed-rsa.pem"},
		{"Ed25519 for a client that takes only it", ed25519Only("ed.example.org"), "ed.pem"},
		{"the first when the client can use none", ecdsaOnly("ed.example.org"), "ed-rsa.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := served(t, s, tc.hello); got != tc.want {
				t.Fatalf("%q: served %s, want %s", tc.hello.ServerName, got, tc.want)
			}
		})
	}
	if got := filepath.Base(s.Default().Path); got != "default.pem" {
		t.Errorf("Default() = %s", got)
	}
	wantNames := []string{"*.b.example.com", "*.example.com", "cn.example.com", "default.example.com", "dual.example.com", "ed.example.org", "mixed.example.com", "www.example.com"}
	if got := s.Names(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("Names() = %q", got)
	}
	c := s.Certs()[3]
	if c.KeyType != KeyRSA || c.NotAfter != c.Leaf.NotAfter || !reflect.DeepEqual(c.Names, []string{"dual.example.com"}) || c.Path != filepath.Join(dir, "dual-rsa.pem") {
		t.Errorf("Certs()[3] = %+v", c)
	}
}

// TestStrictSNI: without a matching name, no certificate.
func TestStrictSNI(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir, fileSpec{name: "a.pem", dns: []string{"a.example.com"}}, fileSpec{name: "w.pem", dns: []string{"*.example.net"}})
	s, _, err := Load([]Source{{Path: filepath.Join(dir, "a.pem")}, {Path: filepath.Join(dir, "w.pem")}}, Options{StrictSNI: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, want string }{
		{"a.example.com", "a.pem"},
		{"x.example.net", "w.pem"},
		{"b.example.com", `error: no certificate for the server name (strict-sni): "b.example.com"`},
		{"", `error: no certificate for the server name (strict-sni): ""`},
	} {
		if got := served(t, s, modern(tc.name)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.name, got, tc.want)
		}
	}
	if _, err := s.GetCertificate(modern("nothing.example")); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("error %v is not ErrNoCertificate", err)
	}
}

// TestCrtListSNI: filters replace a certificate's names; negative filters
// exclude names; '!*' leaves the default none; options come through with
// ca-base applied.
func TestCrtListSNI(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir,
		fileSpec{name: "default.pem", dns: []string{"default.example.com", "shared.example.com"}},
		fileSpec{name: "wild.pem", dns: []string{"*.shop.example.com"}},
		fileSpec{name: "secure.pem", dns: []string{"secure.shop.example.com"}},
		fileSpec{name: "any.pem", dns: []string{"any.example.com"}},
		fileSpec{name: "neg.pem", dns: []string{"a.example.net", "b.example.net", "*.example.net"}},
		fileSpec{name: "shared.pem", dns: []string{"shared.example.com"}},
	)
	list := writeFile(t, filepath.Join(dir, "lists", "crt-list.txt"), []byte(`# the frontend's certificates
default.pem !*
wild.pem *.SHOP.example.com !secure.shop.example.com !private.shop.example.com
secure.pem [alpn h2 ca-file ca.pem crl-file /abs/crl.pem] secure.shop.example.com
any.pem [verify optional ca-verify-file sub/ca.pem] other.example.org
neg.pem !b.example.net
shared.pem
`))
	s, ws, err := Load([]Source{{Path: list, List: true}}, Options{CrtBase: dir, CABase: "/etc/ca"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 0 {
		t.Fatalf("warnings %q", ws)
	}
	tests := []struct{ name, want string }{
		{"a.shop.example.com", "wild.pem"},
		{"secure.shop.example.com", "secure.pem"},
		{"private.shop.example.com", "default.pem"}, // excluded from wild.pem, and nobody else has it
		{"other.example.org", "any.pem"},
		{"any.example.com", "default.pem"}, // its filter replaced its own name
		{"a.example.net", "neg.pem"},
		{"b.example.net", "default.pem"}, // excluded, from its SAN and its wildcard
		{"c.example.net", "neg.pem"},
		{"default.example.com", "default.pem"},
		{"shared.example.com", "shared.pem"}, // '!*' took the default's names away
	}
	for _, tc := range tests {
		if got := served(t, s, modern(tc.name)); got != tc.want {
			t.Errorf("%q: served %s, want %s", tc.name, got, tc.want)
		}
	}
	certs := s.Certs()
	if c := certs[0]; len(c.Names) != 0 || c.List != list || c.Line != 2 {
		t.Errorf("default: names %q at %s:%d", c.Names, c.List, c.Line)
	}
	if c := certs[1]; !reflect.DeepEqual(c.Names, []string{"*.shop.example.com"}) || !reflect.DeepEqual(c.Excluded, []string{"secure.shop.example.com", "private.shop.example.com"}) {
		t.Errorf("wild: names %q, excluded %q", c.Names, c.Excluded)
	}
	if c := certs[2]; !reflect.DeepEqual(c.Options, []string{"alpn", "h2", "ca-file", "/etc/ca/ca.pem", "crl-file", "/abs/crl.pem"}) {
		t.Errorf("secure: options %q", c.Options)
	}
	if c := certs[3]; !reflect.DeepEqual(c.Options, []string{"verify", "optional", "ca-verify-file", "/etc/ca/sub/ca.pem"}) {
		t.Errorf("any: options %q", c.Options)
	}
	if c := certs[4]; !reflect.DeepEqual(c.Names, []string{"a.example.net", "*.example.net"}) {
		t.Errorf("neg: names %q", c.Names)
	}
}

// TestDefaultBundle: when the first crt is a multi-cert bundle, its
// members are the defaults, chosen by key type.
func TestDefaultBundle(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir,
		fileSpec{name: "site.pem.rsa", key: rsaKind, dns: []string{"site.example.com"}},
		fileSpec{name: "site.pem.ecdsa", dns: []string{"site.example.com"}},
		fileSpec{name: "other.pem.rsa", key: rsaKind, dns: []string{"other.example.com"}},
		fileSpec{name: "other.pem.ecdsa", dns: []string{"other.example.com"}},
	)
	s, _, err := Load([]Source{{Path: filepath.Join(dir, "site.pem")}, {Path: filepath.Join(dir, "other.pem")}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		hello *tls.ClientHelloInfo
		want  string
	}{
		{modern(""), "site.pem.ecdsa"},
		{rsaOnly(""), "site.pem.rsa"},
		{rsaOnly("unknown.example.com"), "site.pem.rsa"},
		{rsaOnly("site.example.com"), "site.pem.rsa"},
		{modern("other.example.com"), "other.pem.ecdsa"},
		{rsaOnly("other.example.com"), "other.pem.rsa"},
	} {
		if got := served(t, s, tc.hello); got != tc.want {
			t.Errorf("%q: served %s, want %s", tc.hello.ServerName, got, tc.want)
		}
	}
	if got := filepath.Base(s.Default().Path); got != "site.pem.ecdsa" {
		t.Errorf("Default() = %s", got)
	}
}

// TestLoadErrors: errors name the file, and the line of a crt-list.
func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir, fileSpec{name: "good.pem", dns: []string{"good.example.com"}})
	writeFile(t, filepath.Join(dir, "bad.pem"), []byte("-----BEGIN CERTIFICATE-----\nMAA=\n"))
	writeFile(t, filepath.Join(dir, "empty", ".keep"), nil)
	lists := map[string]string{
		"bad-line.txt":   "good.pem\n\nbad.pem example.com\n",
		"missing.txt":    "good.pem\ngone.pem\n",
		"dir-line.txt":   "empty\n",
		"syntax.txt":     "good.pem\ngood.pem [alpn\n",
		"only-notes.txt": "# nothing\n",
	}
	for name, data := range lists {
		writeFile(t, filepath.Join(dir, name), []byte(data))
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	tests := []struct {
		name    string
		sources []Source
		want    []string
	}{
		{"crt-list line", []Source{{Path: p("bad-line.txt"), List: true}}, []string{p("bad-line.txt") + ":3: " + p("bad.pem") + ": block 1 (CERTIFICATE): no"}},
		{"crt-list line names a missing file", []Source{{Path: p("missing.txt"), List: true}}, []string{p("missing.txt") + ":2: cannot load the certificate: stat " + p("gone.pem") + ": no such file or directory"}},
		{"crt-list line names a directory", []Source{{Path: p("dir-line.txt"), List: true}}, []string{p("dir-line.txt") + ":1: " + p("empty") + " is a directory: a crt-list line names a certificate file"}},
		{"crt-list syntax", []Source{{Path: p("syntax.txt"), List: true}}, []string{p("syntax.txt") + ":2: '[' without ']'"}},
		{"missing crt-list", []Source{{Path: p("nothing.txt"), List: true}}, []string{"cannot read the crt-list: open " + p("nothing.txt") + ": no such file or directory"}},
		{"crt-list is a directory", []Source{{Path: p("empty"), List: true}}, []string{"cannot read the crt-list: read " + p("empty") + ": is a directory"}},
		{"missing crt", []Source{{Path: p("good.pem")}, {Path: p("gone.pem")}}, []string{"cannot load the certificate: stat " + p("gone.pem") + ": no such file or directory (nor is there a multi-cert bundle"}},
		{"nothing to serve", []Source{{Path: p("empty")}, {Path: p("only-notes.txt"), List: true}}, []string{"no certificate to serve: " + p("empty") + ", " + p("only-notes.txt") + " hold none"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Load(tc.sources, Options{CrtBase: dir})
			wantErr(t, err, tc.want...)
		})
	}
}

// TestLoadWarnings: names served twice, certificates never served, and
// the loaders' warnings come back from Load.
func TestLoadWarnings(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir,
		fileSpec{name: "a.pem", dns: []string{"a.example.com"}},
		fileSpec{name: "a-renewed.pem", dns: []string{"a.example.com"}},
		fileSpec{name: "b.pem", dns: []string{"b.example.com"}},
		fileSpec{name: "nameless.pem", cn: ""},
	)
	list := writeFile(t, filepath.Join(dir, "list.txt"), []byte("a.pem\nb.pem !*\na.pem [alpn h2]\nnameless.pem"))
	s, ws, err := Load([]Source{{Path: list, List: true}, {Path: "a-renewed.pem"}, {Path: "a-renewed.pem"}}, Options{CrtBase: dir})
	if err != nil {
		t.Fatal(err)
	}
	wantWarning(t, ws, list, "the last line has no newline")
	wantWarning(t, ws, filepath.Join(dir, "a-renewed.pem"), "a.example.com is also a name of "+filepath.Join(dir, "a.pem")+", loaded before with a key of the same type (ECDSA): that one is served for it")
	wantWarning(t, ws, list, "the certificate for b.example.com is never served: it has no name to be chosen by")
	wantWarning(t, ws, list, "the certificate for O=fjord tests is never served")
	if len(ws) != 4 {
		t.Errorf("warnings %q, want 4", ws)
	}
	for _, w := range ws {
		if strings.Contains(w.Text, "never served") && w.Line == 0 {
			t.Errorf("warning %q does not name its crt-list line", w)
		}
	}
	if got := served(t, s, modern("a.example.com")); got != "a.pem" {
		t.Errorf("a.example.com: %s, want a.pem, the first", got)
	}
}

// TestResolve: crt-base and ca-base apply to relative paths only.
func TestResolve(t *testing.T) {
	for _, tc := range []struct{ base, path, want string }{
		{"", "site.pem", "site.pem"},
		{"/etc/ssl", "site.pem", "/etc/ssl/site.pem"},
		{"/etc/ssl/", "sub/site.pem", "/etc/ssl/sub/site.pem"},
		{"/etc/ssl", "/abs/site.pem", "/abs/site.pem"},
		{"relative", "../site.pem", "relative/../site.pem"},
	} {
		if got := resolve(tc.base, tc.path); got != tc.want {
			t.Errorf("resolve(%q, %q) = %q, want %q", tc.base, tc.path, got, tc.want)
		}
	}
}

// TestOCSPStapleExpiry: the staple is served until shortly before its
// nextUpdate, then the certificate without it, as HAProxy stops stapling.
func TestOCSPStapleExpiry(t *testing.T) {
	p := testPKI(t)
	now := time.Now()
	ec := p.leaf(t, ecKey, "ocsp.example.com")
	path := writeFile(t, filepath.Join(t.TempDir(), "site.pem"), p.bundlePEM(t, ec))
	next := now.Add(time.Hour).UTC().Truncate(time.Second)
	writeFile(t, path+".ocsp", makeOCSP(t, ec, p.inter, ocspSpec{good: true, thisUpdate: now.Add(-time.Hour), nextUpdate: next}))
	s, _, err := Load([]Source{{Path: path}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	s.now = func() time.Time { return clock }
	for _, tc := range []struct {
		at     time.Time
		staple bool
	}{
		{now, true},
		{next.Add(-ocspSkew - time.Second), true},
		{next.Add(-ocspSkew), false},
		{next.Add(time.Hour), false},
	} {
		clock = tc.at
		c, err := s.GetCertificate(modern("ocsp.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.OCSPStaple != nil; got != tc.staple {
			t.Errorf("at nextUpdate%+v: stapled %v, want %v", tc.at.Sub(next), got, tc.staple)
		}
	}
}

// TestGetCertificateAllocs: a handshake's lookup allocates nothing when
// one certificate has the name, nor for the default.
func TestGetCertificateAllocs(t *testing.T) {
	dir := t.TempDir()
	writeCerts(t, dir,
		fileSpec{name: "default.pem", dns: []string{"default.example.com"}},
		fileSpec{name: "www.pem", dns: []string{"www.example.com"}},
		fileSpec{name: "wild.pem", dns: []string{"*.example.org"}},
	)
	s, _, err := Load([]Source{{Path: "default.pem"}, {Path: "www.pem"}, {Path: "wild.pem"}}, Options{CrtBase: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*tls.ClientHelloInfo{modern("www.example.com"), modern("a.example.org"), modern("unknown.example.net"), modern(""), modern("www.example.com.")} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := s.GetCertificate(h); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%q: %v allocations per lookup", h.ServerName, n)
		}
	}
}

func BenchmarkGetCertificate(b *testing.B) {
	dir := b.TempDir()
	p := testPKI(b)
	var sources []Source
	for i, name := range []string{"a.example.com", "b.example.com", "*.example.org", "c.example.com"} {
		f := filepath.Join(dir, "c"+string(rune('0'+i))+".pem")
		writeFile(b, f, p.bundlePEM(b, p.leaf(b, ecKey, name)))
		sources = append(sources, Source{Path: f})
	}
	s, _, err := Load(sources, Options{})
	if err != nil {
		b.Fatal(err)
	}
	h := modern("x.example.org")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetCertificate(h); err != nil {
			b.Fatal(err)
		}
	}
}
