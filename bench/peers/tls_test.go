package peers

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/load"
	"github.com/fjordlb/fjord/bench/proc"
)

// tlsEnv is an Env whose TLS peers terminate TLS with a certificate of
// kind.
func tlsEnv(t *testing.T, env *Env, kind certs.Kind, noResumption bool) *Env {
	t.Helper()
	c, err := certs.Write(t.TempDir(), kind)
	if err != nil {
		t.Fatal(err)
	}
	e := *env
	e.TLS = &TLS{Cert: c, NoResumption: noResumption}
	return &e
}

// render writes peer's configuration for env and returns its text.
func render(t *testing.T, name string, env *Env) string {
	t.Helper()
	argv, _, err := byName(name).config(env, "/usr/bin/true", 8443)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(argv[len(argv)-1])
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func lines(text string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(text, "\n") {
		m[strings.TrimSpace(l)] = true
	}
	return m
}

// TestTLSConfigs checks the key lines of each peer's HTTPS configuration:
// the same versions, suites and curve everywhere; tickets and the session
// cache off only where asked; fjord's file the same as HAProxy's but for
// HAProxy's own maxpipes.
func TestTLSConfigs(t *testing.T) {
	base := &Env{Threads: 2, Backends: []string{"127.0.0.1:1", "127.0.0.1:2"}, MaxConn: 1000, Dir: t.TempDir()}
	for _, noRes := range []bool{false, true} {
		env := tlsEnv(t, base, certs.RSA, noRes)
		hap := render(t, "haproxy-http", env)
		fj := render(t, "fjord-http", env)
		ng := render(t, "nginx-http", env)

		stripPipes := func(s string) string {
			var out []string
			for _, l := range strings.Split(s, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(l), "maxpipes ") {
					out = append(out, l)
				}
			}
			return strings.Join(out, "\n")
		}
		if stripPipes(hap) != fj {
			t.Errorf("fjord's configuration is not HAProxy's:\n%s\n---\n%s", fj, hap)
		}
		opts := "ssl-default-bind-options ssl-min-ver TLSv1.2"
		if noRes {
			opts += " no-tls-tickets"
		}
		hl := lines(hap)
		for _, want := range []string{
			opts,
			"ssl-default-bind-ciphers " + TLS12Suites,
			"ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256",
			"ssl-default-bind-curves X25519",
			"bind 127.0.0.1:8443 ssl crt " + env.TLS.Cert.Bundle + " alpn http/1.1",
			"mode http", "nbthread 2",
		} {
			if !hl[want] {
				t.Errorf("no-resumption %v: HAProxy's configuration has no line %q:\n%s", noRes, want, hap)
			}
		}
		if hl["tune.ssl.cachesize 0"] != noRes {
			t.Errorf("no-resumption %v: tune.ssl.cachesize 0 is there: %v", noRes, !noRes)
		}
		nl := lines(ng)
		for _, want := range []string{
			"listen 127.0.0.1:8443 ssl reuseport;",
			"ssl_certificate " + env.TLS.Cert.Cert + ";",
			"ssl_certificate_key " + env.TLS.Cert.Key + ";",
			"ssl_protocols TLSv1.2 TLSv1.3;",
			"ssl_ciphers " + TLS12Suites + ";",
			"ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;",
			"ssl_ecdh_curve X25519;",
			"worker_processes 2;",
		} {
			if !nl[want] {
				t.Errorf("no-resumption %v: nginx's configuration has no line %q:\n%s", noRes, want, ng)
			}
		}
		if nl["ssl_session_tickets off;"] != noRes || nl["ssl_session_cache off;"] != noRes {
			t.Errorf("no-resumption %v: nginx's tickets and cache lines:\n%s", noRes, ng)
		}
		for _, s := range strings.Split(TLS12Suites, ":") {
			if !strings.HasPrefix(s, "ECDHE-") || !(strings.Contains(s, "GCM") || strings.Contains(s, "CHACHA20-POLY1305")) {
				t.Errorf("TLS 1.2 suite %s is not ECDHE with an AEAD", s)
			}
		}
	}
	// Without TLS, nothing of it.
	for _, n := range []string{"haproxy-http", "fjord-http", "nginx-http"} {
		if s := render(t, n, base); strings.Contains(s, "ssl") {
			t.Errorf("%s's plain configuration speaks of ssl:\n%s", n, s)
		}
	}
	if _, err := byName("haproxy-tcp").Start(tlsEnv(t, base, certs.ECDSA, false)); err == nil || !strings.Contains(err.Error(), "does not terminate TLS") {
		t.Errorf("haproxy-tcp with TLS: %v", err)
	}
}

func TestRefusalMessages(t *testing.T) {
	for _, tt := range []struct {
		out   string
		first string
		n     int
	}{
		{"[NOTICE] parsing [/w/fjord-https.cfg:16] : 'option splice-auto' is accepted and changes nothing\n" +
			"[ALERT] parsing [/w/fjord-https.cfg:3] : unknown keyword 'ssl-default-bind-options' in 'global' section\n" +
			"[ALERT] parsing [/w/fjord-https.cfg:22] : bind option 'ssl': TLS termination is not supported by fjord\n" +
			"[ALERT] Fatal errors found in configuration.\n",
			"fjord-https.cfg:3: unknown keyword 'ssl-default-bind-options' in 'global' section (and 1 more error)", 3},
		{"[NOTICE]   (4711) : haproxy version is 2.6.12-1+deb12u4\n[NOTICE]   (4711) : path to executable is /usr/sbin/haproxy\n" +
			"[ALERT]    (4711) : config : parsing [/w/haproxy-https.cfg:14] : 'bind 127.0.0.1:8443' in section 'listen': unknown keyword 'alpnx'; did you mean 'alpn' maybe ?\n" +
			"[ALERT]    (4711) : config : Error(s) found in configuration file : /w/haproxy-https.cfg\n[ALERT]    (4711) : config : Fatal errors found in configuration.\n",
			"haproxy-https.cfg:14: 'bind 127.0.0.1:8443' in section 'listen': unknown keyword 'alpnx'; did you mean 'alpn' maybe ?", 3},
		// fjord with TLS configuration, before it serves TLS.
		{"[WARNING] parsing [/w/fjord-https.cfg:8] : 'ssl-default-bind-ciphersuites' is not honored\n" +
			"[ALERT] /w/run/fjord-https.cfg:23: listen 'bench': 'bind 127.0.0.1:35071 ssl': TLS termination is parsed but this build of fjord does not serve it yet\n[ALERT] Fatal errors found in configuration.\n",
			"fjord-https.cfg:23: listen 'bench': 'bind 127.0.0.1:35071 ssl': TLS termination is parsed but this build of fjord does not serve it yet", 2},
		{"nginx: [emerg] unknown directive \"ssl_foo\" in /w/nginx-https.conf:30\nnginx: configuration file /w/nginx-https.conf test failed\n",
			`unknown directive "ssl_foo" in /w/nginx-https.conf:30`, 1},
	} {
		r := refusal("p", "cmd", []byte(tt.out))
		if r.First() != tt.first || len(r.Lines) != tt.n {
			t.Errorf("%q:\ngot  %q (%d lines)\nwant %q (%d)", tt.out, r.First(), len(r.Lines), tt.first, tt.n)
		}
	}
}

// TestRefusal: a peer that refuses its configuration says so, with its
// messages, the first without its prefixes.
func TestRefusal(t *testing.T) {
	g, err := proc.NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(2 * time.Second)
	env := testEnv(t, g)
	env.BinDir = t.TempDir()
	script := "#!/bin/sh\n[ \"$1\" = -c ] || exit 3\necho \"[ALERT]    (1) : parsing [$3:5] : bind option 'ssl': not supported\" >&2\necho '[ALERT]    (1) : Fatal errors found in configuration.' >&2\nexit 1\n"
	if err := os.WriteFile(env.BinDir+"/fjord", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = byName("fjord-http").Check(context.Background(), tlsEnv(t, env, certs.ECDSA, false))
	var r *Refusal
	if !errors.Is(err, ErrRefused) || !errors.As(err, &r) {
		t.Fatalf("got %v; want a refusal", err)
	}
	if len(r.Lines) != 1 || r.First() != "fjord-https.cfg:5: bind option 'ssl': not supported" {
		t.Errorf("refusal %q, first %q", r.Lines, r.First())
	}
	if _, err := byName("iocopy").Check(context.Background(), env); err != nil {
		t.Errorf("a peer without a check: %v", err)
	}
	// Accepted, with a warning: the warning comes back.
	script = "#!/bin/sh\necho \"[WARNING] parsing [$3:8] : 'ssl-default-bind-ciphersuites' is not honored\" >&2\n" +
		"echo '[NOTICE] a notice' >&2\necho 'Configuration file is valid'\n"
	if err := os.WriteFile(env.BinDir+"/fjord", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	ws, err := byName("fjord-http").Check(context.Background(), tlsEnv(t, env, certs.ECDSA, false))
	if err != nil || len(ws) != 1 || ws[0] != "fjord-https.cfg:8: 'ssl-default-bind-ciphersuites' is not honored" {
		t.Errorf("accepted with a warning: %q, %v", ws, err)
	}
}

// TestEveryTLSPeerTerminates checks, starts and sends HTTPS through each
// TLS peer that is installed, with each certificate: it must negotiate
// what the rows compare, and never resume a session when resumption is
// off (HAProxy and nginx resume one by default). A peer that refuses its
// configuration (fjord, until its TLS lands) is skipped with its
// refusal; HAProxy and nginx must accept.
func TestEveryTLSPeerTerminates(t *testing.T) {
	g, err := proc.NewGroup()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close(2 * time.Second)
	base := testEnv(t, g)
	for _, p := range All {
		if !p.TLS {
			continue
		}
		for _, kind := range certs.Kinds {
			for _, noRes := range []bool{false, true} {
				name := p.Name + "/" + string(kind)
				if noRes {
					name += "/no-resumption"
				}
				t.Run(name, func(t *testing.T) {
					if err := p.Missing(base); err != nil {
						if errors.Is(err, ErrNotInstalled) {
							t.Skip(err)
						}
						t.Fatal(err)
					}
					env := tlsEnv(t, base, kind, noRes)
					if _, err := p.Check(context.Background(), env); err != nil {
						var r *Refusal
						if errors.As(err, &r) && strings.HasPrefix(p.Name, "fjord") {
							t.Skipf("fjord refuses the TLS configuration: %s", r.First())
						}
						t.Fatal(err)
					}
					in, err := p.Start(env)
					if err != nil {
						t.Fatal(err)
					}
					defer in.Stop()
					res, err := load.Run(context.Background(), load.Config{
						Addrs: in.Addrs, Conns: 2, Duration: 200 * time.Millisecond, KeepAlive: false,
						RespSize: 64, TLS: load.ClientTLS(env.TLS.Cert.DER, certs.ServerName),
					})
					if err != nil {
						t.Fatal(err)
					}
					if res.Requests == 0 || res.Errors != 0 {
						t.Fatalf("%d answered, %d failed (%v)\n%s", res.Requests, res.Errors, res.FirstError, output(in))
					}
					want := "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ALPN http/1.1"
					if len(res.TLS) != 1 || res.TLS[want] == 0 {
						t.Errorf("negotiated %v, want %s", res.TLS, want)
					}
					r, err := load.ProbeResumption(in.Addrs[0], "/body", load.ClientTLS(env.TLS.Cert.DER, certs.ServerName), 5*time.Second)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%d tickets after a full handshake; resumed: %v", r.Tickets, r.Resumed)
					if noRes && r.Resumed {
						t.Errorf("resumption off, and a session was resumed")
					}
					if !noRes && !r.Resumed && !strings.HasPrefix(p.Name, "fjord") {
						t.Errorf("%s's defaults did not resume a session", p.Name)
					}
				})
			}
		}
	}
}

func TestTLSLibrary(t *testing.T) {
	haproxyVV := "HAProxy version 2.6.12-1+deb12u4 2026/10/17\nBuilt with OpenSSL version : OpenSSL 3.0.22 25 Aug 2026\nRunning on OpenSSL version : OpenSSL 3.0.19 27 Jan 2026\n"
	nginxV := "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.19 27 Jan 2026)\nTLS SNI support enabled\n"
	nginxSame := "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.19 27 Jan 2026\n"
	for _, tt := range []struct{ out, prefix, want string }{
		{haproxyVV, "Running on OpenSSL version : ", "OpenSSL 3.0.19 27 Jan 2026"},
		{nginxV, "running with ", "OpenSSL 3.0.19 27 Jan 2026"},
		{nginxSame, "running with ", "OpenSSL 3.0.19 27 Jan 2026"},
		{"no TLS here\n", "running with ", ""},
	} {
		if got := OpenSSLVersion(tt.out, tt.prefix); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.out, got, tt.want)
		}
	}
	if lib := byName("fjord-http").TLSLibrary(&Env{BinDir: binDir}); !strings.HasPrefix(lib, "Go 1.") || !strings.HasSuffix(lib, "crypto/tls") {
		t.Errorf("fjord's TLS library %q", lib)
	}
	if lib := byName("iocopy").TLSLibrary(&Env{BinDir: binDir}); lib != "" {
		t.Errorf("iocopy has a TLS library: %q", lib)
	}
}
