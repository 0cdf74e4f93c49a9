package engine

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/settings"
	"github.com/fjordlb/fjord/tls/testcert"
)

// The tests of this file run TLS binds as cmd/fjord builds them from a
// configuration's bind lines, with tls/settings.

// startSettingsEngine runs cfgText, in which %[1]s is the path of a
// certificate file for fjord.test, with its TLS binds built by
// tls/settings. It returns the engine, its first bind's address, and a
// client configuration that trusts the certificate.
func startSettingsEngine(t testing.TB, cfgText string) (*Engine, string, *tls.Config) {
	t.Helper()
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	file := filepath.Join(t.TempDir(), "site.pem")
	if err := os.WriteFile(file, testcert.PEM(t, cert), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText = fmt.Sprintf(cfgText, file)
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	set, err := settings.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, addr := startParsed(t, cfg, Options{TLS: set.Binds})
	return e, addr, &tls.Config{RootCAs: roots, ServerName: "fjord.test"}
}

// httpsFrontend is an http frontend with one TLS bind line ending in
// options, in front of web.
func httpsFrontend(t testing.TB, options, web string) string {
	return fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend www
  bind 127.0.0.1:%d ssl crt %%[1]s %s
  default_backend web
backend web
  server w %s
`, freePort(t), options, web)
}

// exchange talks HTTP through a new TLS connection: a GET, and a POST
// whose body and its echo take many records each way. It says whether
// the connection resumed a session.
func exchange(t *testing.T, addr string, cli *tls.Config) bool {
	t.Helper()
	c := tlsDial(t, addr, cli)
	defer c.Close()
	br := bufio.NewReader(c)
	if resp, body := httpRoundTrip(t, c, br, "GET /a HTTP/1.1\r\nHost: fjord.test\r\n\r\n"); resp.StatusCode != 200 || body != "web01 GET /a" {
		t.Fatalf("GET /a: %d %q", resp.StatusCode, body)
	}
	payload := strings.Repeat("0123456789abcdef", 20000) // 320 KB: some 20 records
	resp, body := httpRoundTrip(t, c, br, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: fjord.test\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
	if resp.StatusCode != 200 || body != payload {
		t.Fatalf("POST /echo: %d, %d bytes of %d back", resp.StatusCode, len(body), len(payload))
	}
	return c.ConnectionState().DidResume
}

// A TLS 1.2 client resumes its session with the ticket of a bind line,
// and HTTP goes both ways through the resumed session; with
// 'no-tls-tickets' it does not resume. TLS 1.3 alike.
func TestTLSResumptionFromConfiguration(t *testing.T) {
	web := webNode(t, "web01")
	for _, tc := range []struct {
		options string
		version uint16
		resumed bool
	}{
		{"", tls.VersionTLS12, true},
		{"no-tls-tickets", tls.VersionTLS12, false},
		{"", tls.VersionTLS13, true},
		{"no-tls-tickets", tls.VersionTLS13, false},
	} {
		t.Run(strings.TrimSpace(tls.VersionName(tc.version)+" "+tc.options), func(t *testing.T) {
			_, addr, cli := startSettingsEngine(t, httpsFrontend(t, tc.options, web))
			cli.MinVersion, cli.MaxVersion = tc.version, tc.version
			cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			for i, want := range []bool{false, tc.resumed, tc.resumed} {
				if got := exchange(t, addr, cli); got != want {
					t.Fatalf("connection %d resumed: %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// The reuse counter (SslFrontendSessionReuse_pct) counts resumed TLS
// 1.2 sessions: a full handshake and a resumed one within the same
// second make 50%. The rates are per second of the wall clock, so an
// attempt whose connections straddle a second is made again.
func TestTLS12ReuseCounted(t *testing.T) {
	web := webNode(t, "web01")
	for attempt := 0; ; attempt++ {
		e, addr, cli := startSettingsEngine(t, httpsFrontend(t, "", web))
		cli.MaxVersion = tls.VersionTLS12
		cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		start := time.Now().Unix()
		// A round trip on each: the handshake is counted before the
		// session serves anything.
		full, resumed := exchange(t, addr, cli), exchange(t, addr, cli)
		st := e.TLSStats()
		if time.Now().Unix() != start && attempt < 10 {
			continue
		}
		if full || !resumed {
			t.Fatalf("resumed: %v, then %v", full, resumed)
		}
		if st.Cumulative != 2 || st.Rate != 2 || st.FrontendKeyRate != 1 || st.FrontendReusePct != 50 {
			t.Fatalf("%+v, want 2 sessions, 1 full handshake, 50%% reused", st)
		}
		return
	}
}
