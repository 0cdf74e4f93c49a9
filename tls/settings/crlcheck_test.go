package settings

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/testcert"
)

// crlPKI is a root CA, two intermediates it issued (the second one it
// revoked), the client and server certificates they issued, and
// crl-files with each way a CRL can be missing, wrong or revoke, written
// in dir. The root is the ca-file, root.pem.
type crlPKI struct {
	dir string
	// clients and servers are the chains their peers send, leaf first:
	//   root          issued by the root
	//   root revoked  issued by the root, which revoked it
	//   inter         issued by the intermediate, sent with it
	//   inter revoked issued by the intermediate, which revoked it
	//   revoked inter issued by the intermediate the root revoked
	//   stranger      issued by a CA the ca-file does not have
	clients, servers map[string]tls.Certificate
	// files are the crl-files, by name; crlFiles says what each holds.
	files map[string]string
}

// crlFiles are the crl-files of a crlPKI, each a list of CRLs:
//
//	root, inter, revoked inter  the CRLs of the three CAs, valid from a
//	                            minute ago to an hour from now
//	root expired                the root's, from 2h to 1h ago
//	root not yet valid          the root's, from 1h to 2h from now
//	root older                  the root's, from 30 minutes ago, which
//	                            revokes the root's good certificates too
//	root wrong key              the root's, signed with another key
//	impostor                    the CRL of another CA with the root's name
//	impostor v1                 the same, version 1 (no key identifier)
//	inter expired               the intermediate's, from 2h to 1h ago
//	inter wrong key             the intermediate's, signed with another key
var crlFiles = []struct {
	name string
	crls []string
}{
	{"all", []string{"root", "inter", "revoked inter"}},
	{"root only", []string{"root"}},
	{"no root CRL", []string{"inter", "revoked inter"}},
	{"root expired", []string{"root expired", "inter", "revoked inter"}},
	{"root not yet valid", []string{"root not yet valid", "inter", "revoked inter"}},
	{"root wrong key", []string{"root wrong key", "inter", "revoked inter"}},
	{"impostor", []string{"impostor", "inter", "revoked inter"}},
	{"impostor v1", []string{"impostor v1", "inter", "revoked inter"}},
	{"expired, then current", []string{"root expired", "root", "inter", "revoked inter"}},
	{"older, then newer", []string{"root older", "root", "inter", "revoked inter"}},
	{"newer, then older", []string{"root", "root older", "inter", "revoked inter"}},
	{"inter expired", []string{"root", "inter expired", "revoked inter"}},
	{"inter wrong key", []string{"root", "inter wrong key", "revoked inter"}},
}

func newCRLPKI(t testing.TB) *crlPKI {
	t.Helper()
	p := &crlPKI{dir: t.TempDir(), clients: map[string]tls.Certificate{}, servers: map[string]tls.Certificate{}, files: map[string]string{}}
	root := testcert.NewCA(t, "CRL Root")
	inter := root.NewIntermediate(t, "CRL Inter")
	revokedInter := root.NewIntermediate(t, "CRL Revoked Inter")
	stranger := testcert.NewCA(t, "CRL Stranger")
	impostor := testcert.NewCA(t, "CRL Root")
	other := testcert.NewCA(t, "Other")
	write := func(name string, data []byte) string {
		path := filepath.Join(p.dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("root.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}))
	issuers := map[string]*testcert.CA{"root": root, "root revoked": root, "inter": inter, "inter revoked": inter, "revoked inter": revokedInter, "stranger": stranger}
	for name, ca := range issuers {
		p.clients[name] = ca.Issue(t, x509.ExtKeyUsageClientAuth, "client."+strings.ReplaceAll(name, " ", "-")+".test")
		p.servers[name] = ca.Issue(t, x509.ExtKeyUsageServerAuth, "server.test")
	}
	leaves := func(names ...string) []*x509.Certificate {
		var out []*x509.Certificate
		for _, n := range names {
			out = append(out, p.clients[n].Leaf, p.servers[n].Leaf)
		}
		return out
	}
	now := time.Now()
	rootRevokes := append(leaves("root revoked"), revokedInter.Cert)
	interRevokes := leaves("inter revoked")
	crls := map[string][]byte{
		"root":               root.CRL(t, now.Add(-time.Minute), now.Add(time.Hour), rootRevokes...),
		"inter":              inter.CRL(t, now.Add(-time.Minute), now.Add(time.Hour), interRevokes...),
		"revoked inter":      revokedInter.CRL(t, now.Add(-time.Minute), now.Add(time.Hour)),
		"root expired":       root.CRL(t, now.Add(-2*time.Hour), now.Add(-time.Hour), rootRevokes...),
		"root not yet valid": root.CRL(t, now.Add(time.Hour), now.Add(2*time.Hour), rootRevokes...),
		"root older":         root.CRL(t, now.Add(-30*time.Minute), now.Add(time.Hour), append(rootRevokes, leaves("root")...)...),
		"root wrong key":     (&testcert.CA{Cert: root.Cert, Key: other.Key}).CRL(t, now.Add(-time.Minute), now.Add(time.Hour), rootRevokes...),
		"impostor":           impostor.CRL(t, now.Add(-time.Minute), now.Add(time.Hour), rootRevokes...),
		"impostor v1":        impostor.CRLV1(t, now.Add(-time.Minute), now.Add(time.Hour), rootRevokes...),
		"inter expired":      inter.CRL(t, now.Add(-2*time.Hour), now.Add(-time.Hour), interRevokes...),
		"inter wrong key":    (&testcert.CA{Cert: inter.Cert, Key: other.Key}).CRL(t, now.Add(-time.Minute), now.Add(time.Hour), interRevokes...),
	}
	for i, f := range crlFiles {
		var data []byte
		for _, c := range f.crls {
			data = append(data, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crls[c]})...)
		}
		p.files[f.name] = write("crl"+string(rune('a'+i))+".pem", data)
	}
	return p
}

// ignored is a 'ca-ignore-err' or 'crt-ignore-err' list: "" for none,
// "all", or codes separated by commas.
func ignored(t *testing.T, list string) config.VerifyErrors {
	t.Helper()
	switch list {
	case "":
		return 0
	case "all":
		return config.AllVerifyErrors
	}
	var set config.VerifyErrors
	for _, n := range strings.Split(list, ",") {
		code, err := strconv.Atoi(n)
		if err != nil {
			t.Fatal(err)
		}
		set |= 1 << code
	}
	return set
}

// With a crl-file, every certificate of a client's chain is checked
// against its issuer's CRL, as HAProxy 2.6 has OpenSSL check it
// (crl.go): 3 when the file has no CRL of the issuer, 8 when the CRL's
// signature does not verify, 11 and 12 when it is not valid yet or
// expired, 23 when it revokes the certificate; at the certificate's
// depth, so that crt-ignore-err ignores the errors about the client's
// own certificate and ca-ignore-err those about the CAs (the root is
// checked against its own CRL); the check goes on after an error
// ignored, and ssl_c_verify is the last one. The table is what HAProxy
// 2.6.12 with OpenSSL 3.0.19 answered (ssl_c_verify, -1: the handshake
// failed) for each client certificate of newCRLPKI on the line 'bind
// ... ssl verify required ca-file root.pem crl-file FILE ca-ignore-err
// CA crt-ignore-err CRT'; a certificate a row leaves out failed.
func TestCRLCheckLikeHAProxy(t *testing.T) {
	p := newCRLPKI(t)
	type m = map[string]int
	for _, tc := range []struct {
		file, ca, crt string
		want          m
	}{
		// Every CRL: a revoked certificate is let in by crt-ignore-err 23, a
		// certificate issued by a revoked intermediate by ca-ignore-err 23.
		{"all", "", "", m{"root": 0, "inter": 0}},
		{"all", "", "23", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23}},
		{"all", "23", "", m{"root": 0, "inter": 0, "revoked inter": 23}},
		{"all", "23", "23", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23, "revoked inter": 23}},
		{"all", "all", "", m{"root": 0, "inter": 0, "revoked inter": 23}},
		{"all", "", "all", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23, "stranger": 21}},
		{"all", "all", "all", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23, "revoked inter": 23, "stranger": 21}},
		// A certificate of a CA the ca-file does not have: its chain ends with
		// it (20), whose issuer has no CRL in the file (3), before its
		// signature (21), all at depth 0.
		{"all", "", "20,21", m{"root": 0, "inter": 0}},
		{"all", "", "3,21", m{"root": 0, "inter": 0}},
		{"all", "", "3,20,21", m{"root": 0, "inter": 0, "stranger": 21}},
		// The root's CRL only: the intermediate's certificates lack theirs, at
		// depth 0.
		{"root only", "", "", m{"root": 0}},
		{"root only", "", "3", m{"root": 0, "inter": 3, "inter revoked": 3}},
		{"root only", "3", "", m{"root": 0}},
		{"root only", "23", "3", m{"root": 0, "inter": 3, "inter revoked": 3, "revoked inter": 23}},
		{"root only", "all", "all", m{"root": 0, "root revoked": 23, "inter": 3, "inter revoked": 3, "revoked inter": 23, "stranger": 21}},
		// No CRL of the root: the root itself (checked against its own CRL)
		// and what it issued lack theirs, so a leaf of the root fails at
		// depths 0 and 1, one of the intermediate at depths 1 and 2.
		{"no root CRL", "", "", m{}},
		{"no root CRL", "", "3", m{}},
		{"no root CRL", "3", "", m{"inter": 3, "revoked inter": 3}},
		{"no root CRL", "3", "3", m{"root": 3, "root revoked": 3, "inter": 3, "revoked inter": 3}},
		{"no root CRL", "3", "3,23", m{"root": 3, "root revoked": 3, "inter": 3, "inter revoked": 3, "revoked inter": 3}},
		// The root's CRL expired, or not valid yet: 12 or 11 for each
		// certificate the root issued, and for the root, checked last: a
		// revoked leaf of the root has 12, then 23, then 12 again.
		{"root expired", "", "", m{}},
		{"root expired", "", "12", m{}},
		{"root expired", "12", "", m{"inter": 12}},
		{"root expired", "12", "12,23", m{"root": 12, "root revoked": 12, "inter": 12, "inter revoked": 12}},
		{"root expired", "all", "all", m{"root": 12, "root revoked": 12, "inter": 12, "inter revoked": 12, "revoked inter": 12, "stranger": 21}},
		{"root not yet valid", "", "11", m{}},
		{"root not yet valid", "11", "", m{"inter": 11}},
		{"root not yet valid", "all", "all", m{"root": 11, "root revoked": 11, "inter": 11, "inter revoked": 11, "revoked inter": 11, "stranger": 21}},
		// The root's CRL signed by another key (with the root's key
		// identifier): 8, before 23, and again for the root.
		{"root wrong key", "", "", m{}},
		{"root wrong key", "8", "", m{"inter": 8}},
		{"root wrong key", "8", "8,23", m{"root": 8, "root revoked": 8, "inter": 8, "inter revoked": 8}},
		{"root wrong key", "all", "all", m{"root": 8, "root revoked": 8, "inter": 8, "inter revoked": 8, "revoked inter": 8, "stranger": 21}},
		// The CRL of another CA with the root's name, whose authority key
		// identifier names its own key: not used, 3. Without the key
		// identifier (version 1): used, and its signature fails, 8.
		{"impostor", "8", "8,23", m{}},
		{"impostor", "3", "3", m{"root": 3, "root revoked": 3, "inter": 3, "revoked inter": 3}},
		{"impostor", "3", "3,23", m{"root": 3, "root revoked": 3, "inter": 3, "inter revoked": 3, "revoked inter": 3}},
		{"impostor v1", "3", "3", m{}},
		{"impostor v1", "8", "8,23", m{"root": 8, "root revoked": 8, "inter": 8, "inter revoked": 8}},
		{"impostor v1", "all", "all", m{"root": 8, "root revoked": 8, "inter": 8, "inter revoked": 8, "revoked inter": 8, "stranger": 21}},
		// Several CRLs of the root: the one valid now, else the newest,
		// wherever it is in the file.
		{"expired, then current", "", "", m{"root": 0, "inter": 0}},
		{"expired, then current", "23", "23", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23, "revoked inter": 23}},
		{"expired, then current", "12", "12,23", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23}},
		{"older, then newer", "", "", m{"root": 0, "inter": 0}},
		{"older, then newer", "23", "23", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23, "revoked inter": 23}},
		{"newer, then older", "", "", m{"root": 0, "inter": 0}},
		{"newer, then older", "23", "23", m{"root": 0, "root revoked": 23, "inter": 0, "inter revoked": 23, "revoked inter": 23}},
		// The intermediate's CRL expired, or signed by another key: its
		// certificates fail at depth 0, with 12 or 8, then 23.
		{"inter expired", "", "", m{"root": 0}},
		{"inter expired", "", "12", m{"root": 0, "inter": 12}},
		{"inter expired", "12", "", m{"root": 0}},
		{"inter expired", "12", "12,23", m{"root": 0, "root revoked": 23, "inter": 12, "inter revoked": 23}},
		{"inter expired", "23", "23", m{"root": 0, "root revoked": 23, "revoked inter": 23}},
		{"inter wrong key", "", "", m{"root": 0}},
		{"inter wrong key", "", "8", m{"root": 0, "inter": 8}},
		{"inter wrong key", "8", "8,23", m{"root": 0, "root revoked": 23, "inter": 8, "inter revoked": 23}},
	} {
		t.Run(fmt.Sprintf("%s/ca-ignore-err %q crt-ignore-err %q", tc.file, tc.ca, tc.crt), func(t *testing.T) {
			v, _, err := newVerifier(filepath.Join(p.dir, "root.pem"), "", false, p.files[tc.file], x509.ExtKeyUsageClientAuth, ignored(t, tc.ca), ignored(t, tc.crt))
			if err != nil {
				t.Fatal(err)
			}
			for name, cert := range p.clients {
				want, ok := tc.want[name]
				if !ok {
					want = -1
				}
				got, err := v.verify(cert.Certificate, "")
				if err != nil {
					got = -1
				}
				if got != want {
					t.Errorf("%s: %d (%v), want %d", name, got, err, want)
				}
			}
		})
	}
}

// A server's crl-file is checked as a bind's, with no error ignored: a
// server whose certificate, or intermediate, is revoked, or whose
// chain lacks a CRL or has one that is expired, not yet valid or not
// signed by its CA, is refused, as HAProxy 2.6.12 refused it (503) on
// 'server ... ssl verify required ca-file root.pem crl-file FILE'. The
// table lists the servers HAProxy connected to.
func TestServerCRLCheckLikeHAProxy(t *testing.T) {
	p := newCRLPKI(t)
	for _, tc := range []struct {
		file string
		ok   []string
	}{
		{"all", []string{"root", "inter"}},
		{"root only", []string{"root"}},
		{"no root CRL", []string{}},
		{"root expired", []string{}},
		{"root not yet valid", []string{}},
		{"root wrong key", []string{}},
		{"impostor", []string{}},
		{"impostor v1", []string{}},
		{"expired, then current", []string{"root", "inter"}},
		{"older, then newer", []string{"root", "inter"}},
		{"newer, then older", []string{"root", "inter"}},
		{"inter expired", []string{"root"}},
		{"inter wrong key", []string{"root"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			cfg := parse(t, "frontend fe\n bind 127.0.0.1:80\n default_backend be\nbackend be\n server s 127.0.0.1:8443 ssl verify required ca-file "+filepath.Join(p.dir, "root.pem")+" crl-file "+p.files[tc.file]+" sni str(server.test)\n")
			set, err := Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			client := set.Servers[cfg.Backends()[0].Servers[0]]
			for name, cert := range p.servers {
				cerr, _ := runHandshake(client, &tls.Config{Certificates: []tls.Certificate{cert}})
				if want := slices.Contains(tc.ok, name); (cerr == nil) != want {
					t.Errorf("%s: %v, want success %v", name, cerr, want)
				}
			}
		})
	}
}

// What of a crl-file will refuse peers is said at load, as a warning
// naming the configuration line and the file: HAProxy says nothing and
// refuses them at each handshake, as fjord does too. A CRL out of its
// dates is warned of only when its CA has no other one valid.
func TestCRLFileWarnings(t *testing.T) {
	p := newCRLPKI(t)
	site := filepath.Join(p.dir, "site.pem")
	if err := os.WriteFile(site, testcert.PEM(t, p.servers["root"]), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want []string // what each warning says, in order
	}{
		{"all", nil},
		{"expired, then current", nil},
		{"older, then newer", nil},
		{"root only", nil},
		{"no root CRL", []string{"no CRL of CN=CRL Root, of the ca-file: the certificates it issued, and itself, are refused with error 3"}},
		{"root expired", []string{"CRL 1, of CN=CRL Root: expired on "}},
		{"root not yet valid", []string{"CRL 1, of CN=CRL Root: not valid before "}},
		{"root wrong key", []string{"CRL 1, of CN=CRL Root: its signature does not verify with the key of that CA in the ca-file: the certificates it checks are refused with error 8"}},
		{"impostor", []string{"CRL 1, of CN=CRL Root: its authority key identifier names another key", "no CRL of CN=CRL Root"}},
		{"impostor v1", []string{"CRL 1, of CN=CRL Root: its signature does not verify"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			for _, text := range []string{
				"frontend fe\n bind 127.0.0.1:8443 ssl crt " + site + " verify required ca-file " + filepath.Join(p.dir, "root.pem") + " crl-file " + p.files[tc.file] + "\n default_backend be\nbackend be\n",
				"frontend fe\n bind 127.0.0.1:80\n default_backend be\nbackend be\n server s 127.0.0.1:8443 ssl verify required ca-file " + filepath.Join(p.dir, "root.pem") + " crl-file " + p.files[tc.file] + "\n",
			} {
				set, err := Build(parse(t, text))
				if err != nil {
					t.Fatal(err)
				}
				got := set.Warnings
				ok := len(got) == len(tc.want)
				for i := 0; ok && i < len(got); i++ {
					ok = strings.Contains(got[i], tc.want[i]) && strings.HasPrefix(got[i], "t.cfg:") && strings.Contains(got[i], p.files[tc.file])
				}
				if !ok {
					t.Errorf("warnings:\n%s\nwant, each with the line and the file:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			}
		})
	}
}

// A CRL's signature is checked at load against the CAs of the ca-file
// with its issuer's name, and once against another issuer, such as an
// intermediate a client sends: handshakes look the result up. At most
// maxOtherIssuers results of others are kept.
func TestCRLSignaturesCheckedOnce(t *testing.T) {
	p := newCRLPKI(t)
	v, _, err := newVerifier(filepath.Join(p.dir, "root.pem"), "", false, p.files["all"], x509.ExtKeyUsageClientAuth, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := x509.ParseCertificate(p.clients["inter"].Certificate[1])
	if err != nil {
		t.Fatal(err)
	}
	roots, err := readCerts(filepath.Join(p.dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rootCRL, interCRL := v.crls.byName[string(inter.RawIssuer)][0], v.crls.byName[string(inter.RawSubject)][0]
	if err, ok := rootCRL.sigs[string(roots[0].RawSubjectPublicKeyInfo)]; len(rootCRL.sigs) != 1 || !ok || err != nil {
		t.Fatalf("the root's CRL: %v, want its signature checked at load", rootCRL.sigs)
	}
	if len(interCRL.sigs) != 0 || len(interCRL.others) != 0 {
		t.Fatal("the intermediate's CRL is checked before a client sends the intermediate")
	}
	for range 3 {
		if code, err := v.verify(p.clients["inter"].Certificate, ""); code != 0 || err != nil {
			t.Fatal(code, err)
		}
	}
	if err, ok := interCRL.others[string(inter.RawSubjectPublicKeyInfo)]; len(interCRL.others) != 1 || !ok || err != nil {
		t.Fatalf("the intermediate's CRL: %v, want its signature checked once", interCRL.others)
	}
	for i := range 2 * maxOtherIssuers {
		other := testcert.NewCA(t, fmt.Sprint("other ", i))
		if v.crls.signature(interCRL, other.Cert) == nil {
			t.Fatal("a CRL verified with another CA's key")
		}
	}
	if n := len(interCRL.others); n != maxOtherIssuers {
		t.Fatalf("%d results kept, want %d", n, maxOtherIssuers)
	}
}

// The cost of a crl-file at a handshake: a client of the intermediate,
// three certificates to look up, against none.
func BenchmarkVerifyCRL(b *testing.B) {
	p := newCRLPKI(b)
	for _, file := range []string{"", p.files["all"]} {
		v, _, err := newVerifier(filepath.Join(p.dir, "root.pem"), "", false, file, x509.ExtKeyUsageClientAuth, 0, 0)
		if err != nil {
			b.Fatal(err)
		}
		chain := p.clients["inter"].Certificate
		b.Run(fmt.Sprintf("crl-file=%v", file != ""), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.verify(chain, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
