package peers

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// haproxyStyle is the configuration fjord and HAProxy share: the same text
// for both, since fjord reads haproxy.cfg. Long client and server timeouts,
// because the idle scenario holds connections open on purpose. rulesMap,
// when not "", adds the rules-keepalive scenario's rule set (RuleSet) to
// the listen section, its map file at rulesMap, and the backend its map
// names.
func haproxyStyle(env *Env, mode Mode, port int, extraGlobal, rulesMap string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by fjord-bench.\nglobal\n  nbthread %d\n  maxconn %d\n", env.Threads, env.MaxConn)
	// Both would ask for more descriptors than the hard limit allows
	// (fjord counts two pipes per connection); ulimit-n caps the request
	// at what this machine has.
	if hard := HardNoFile(); hard > 0 {
		fmt.Fprintf(&b, "  ulimit-n %d\n", hard)
	}
	b.WriteString(extraGlobal)
	bind := ""
	if t := env.TLS; t != nil {
		// The bind defaults, so that fjord reads the same words HAProxy
		// does: TLS 1.2 at least, AEAD suites with ECDHE only, one TLS 1.3
		// suite, X25519.
		opts := "ssl-min-ver TLSv1.2"
		if t.NoResumption {
			opts += " no-tls-tickets"
		}
		fmt.Fprintf(&b, "  ssl-default-bind-options %s\n  ssl-default-bind-ciphers %s\n  ssl-default-bind-ciphersuites %s\n  ssl-default-bind-curves %s\n",
			opts, TLS12Suites, TLS13Suite, TLSCurve)
		if t.NoResumption {
			// No session cache either: every handshake is a full one.
			b.WriteString("  tune.ssl.cachesize 0\n")
		}
		bind = fmt.Sprintf(" ssl crt %s alpn http/1.1", t.Cert.Bundle)
	}
	b.WriteString("\ndefaults\n")
	if mode == HTTP {
		b.WriteString("  mode http\n  option http-keep-alive\n  timeout http-request 10s\n  timeout http-keep-alive 10m\n")
	} else {
		b.WriteString("  mode tcp\n")
	}
	fmt.Fprintf(&b, "  option splice-auto\n  maxconn %d\n  timeout connect 5s\n  timeout client 10m\n  timeout server 10m\n", env.MaxConn)
	fmt.Fprintf(&b, "\nlisten bench\n  bind 127.0.0.1:%d%s\n  balance roundrobin\n", port, bind)
	if rulesMap != "" {
		for _, l := range RuleSet(rulesMap) {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	servers := func() {
		for i, be := range env.Backends {
			fmt.Fprintf(&b, "  server web%d %s\n", i+1, be)
		}
	}
	servers()
	if rulesMap != "" {
		fmt.Fprintf(&b, "\nbackend %s\n  balance roundrobin\n", RulesBackend)
		servers()
	}
	return b.String()
}

// RulesBackend is the backend the rule set's map lookup routes every
// request of the benchmark to: the same web nodes as the listen
// section's, so that the rules are all that differs from fjord-http.
const RulesBackend = "be_web"

// RuleSet is the rules-keepalive scenario's rule set, the same text for
// fjord and HAProxy, in a listen section, mapFile being the map it looks
// the Host up in (RulesMap): a site's usual handful. A redirect ACL that
// the benchmark's requests (Host: bench) never match; five header rules,
// three on the request and two on the response; and a map lookup of the
// lower-cased Host that chooses the backend. Every rule runs for every
// request; only the redirect's action does not.
func RuleSet(mapFile string) []string {
	return []string{
		"http-request redirect scheme https if { hdr(host) -i old.example.com }",
		"http-request set-header X-Forwarded-Proto http",
		"http-request set-header X-Client-IP %[src]",
		"http-request del-header X-Debug",
		"http-response set-header Strict-Transport-Security max-age=63072000",
		"http-response del-header Server",
		"use_backend %[req.hdr(host),lower,map_str(" + mapFile + "," + RulesBackend + ")]",
	}
}

// RulesMap is the map file of RuleSet: a few host names, the benchmark's
// own ("bench", the Host the generator sends) among them, each to
// RulesBackend.
const RulesMap = `# Written by fjord-bench: the rules-keepalive scenario's Host -> backend map.
www.example.com ` + RulesBackend + `
example.com ` + RulesBackend + `
static.example.com ` + RulesBackend + `
api.example.com ` + RulesBackend + `
bench ` + RulesBackend + `
`

// RulesMapName is the file name of RulesMap in the run's directory.
const RulesMapName = "rules-hosts.map"

// configFile is where program's configuration goes in the run's
// directory: "fjord-http.cfg", "haproxy-https.cfg", or with rules
// "fjord-rules.cfg", the map (RulesMap) then written beside it and its
// path returned as rulesMap.
func configFile(env *Env, program string, mode Mode, rules bool) (path, rulesMap string, err error) {
	if !rules {
		return filepath.Join(env.Dir, program+"-"+configName(env, mode)+".cfg"), "", nil
	}
	rulesMap = filepath.Join(env.Dir, RulesMapName)
	if err := os.WriteFile(rulesMap, []byte(RulesMap), 0o644); err != nil {
		return "", "", err
	}
	return filepath.Join(env.Dir, program+"-rules.cfg"), rulesMap, nil
}

// configName names a configuration file after the mode, or "https" when
// the peer terminates TLS.
func configName(env *Env, mode Mode) string {
	if env.TLS != nil {
		return "https"
	}
	return string(mode)
}

// fjordConfig writes fjord's configuration; with rules, the rule set of
// the rules-keepalive scenario and its map.
func fjordConfig(mode Mode, rules bool) func(*Env, string, int) ([]string, []string, error) {
	return fjordConfigWith(mode, rules, "", "fjord")
}

// fjordConfigGlobal is fjordConfig without rules, with global lines
// added, in a file of its own: name, then the mode ("fjord-km-tcp.cfg").
func fjordConfigGlobal(mode Mode, name, global string) func(*Env, string, int) ([]string, []string, error) {
	return fjordConfigWith(mode, false, global, name)
}

func fjordConfigWith(mode Mode, rules bool, global, name string) func(*Env, string, int) ([]string, []string, error) {
	return func(env *Env, bin string, port int) ([]string, []string, error) {
		path, rulesMap, err := configFile(env, name, mode, rules)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(path, []byte(haproxyStyle(env, mode, port, global, rulesMap)), 0o644); err != nil {
			return nil, nil, err
		}
		return []string{bin, "-f", path}, []string{"GOMAXPROCS=" + strconv.Itoa(env.Threads)}, nil
	}
}

// haproxyConfig writes HAProxy's configuration; with rules, the rule set
// of the rules-keepalive scenario and its map.
func haproxyConfig(mode Mode, rules bool) func(*Env, string, int) ([]string, []string, error) {
	return func(env *Env, bin string, port int) ([]string, []string, error) {
		// HAProxy sizes its descriptors as 2 per connection plus its
		// pipes (maxpipes, a quarter of maxconn by default) and refuses
		// nothing when the hard limit is lower, but then fails accepts
		// at random. Bound maxpipes so that the sum fits the hard limit.
		var extra string
		if hard := HardNoFile(); hard > 0 {
			pipes := max(16, (int(hard)-2*env.MaxConn-200)/2)
			if pipes < env.MaxConn/4 {
				extra = fmt.Sprintf("  maxpipes %d\n", pipes)
			}
		}
		path, rulesMap, err := configFile(env, "haproxy", mode, rules)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(path, []byte(haproxyStyle(env, mode, port, extra, rulesMap)), 0o644); err != nil {
			return nil, nil, err
		}
		// -db: stay in the foreground, so that stopping it is a signal
		// to one known process.
		return []string{bin, "-db", "-f", path}, nil, nil
	}
}

// nginxStreamModule is where Debian's libnginx-mod-stream puts the module.
const nginxStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

func nginxStream(env *Env) (string, error) {
	bin, err := inPath("nginx")(env)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(nginxStreamModule); err != nil {
		return "", fmt.Errorf("%w: %s is missing (make bench-deps installs libnginx-mod-stream)", ErrNotInstalled, nginxStreamModule)
	}
	return bin, nil
}

func nginxConfig(mode Mode) func(*Env, string, int) ([]string, []string, error) {
	return func(env *Env, bin string, port int) ([]string, []string, error) {
		name := "nginx-" + map[Mode]string{TCP: "stream", HTTP: configName(env, HTTP)}[mode]
		prefix := filepath.Join(env.Dir, name)
		if err := os.MkdirAll(prefix, 0o755); err != nil {
			return nil, nil, err
		}
		var b strings.Builder
		b.WriteString("# Written by fjord-bench.\n")
		if mode == TCP {
			fmt.Fprintf(&b, "load_module %s;\n", nginxStreamModule)
		}
		if os.Geteuid() == 0 {
			// Workers stay root so that they can use the prefix directory
			// the harness (root) created.
			b.WriteString("user root;\n")
		}
		fmt.Fprintf(&b, "daemon off;\nmaster_process on;\nworker_processes %d;\npid %s/nginx.pid;\nerror_log stderr warn;\n", env.Threads, prefix)
		if hard := HardNoFile(); hard > 0 {
			fmt.Fprintf(&b, "worker_rlimit_nofile %d;\n", hard)
		}
		// A connection through the proxy is two of nginx's connections.
		fmt.Fprintf(&b, "events {\n  worker_connections %d;\n}\n", 2*env.MaxConn+64)
		servers := func(indent string) {
			for _, be := range env.Backends {
				fmt.Fprintf(&b, "%sserver %s;\n", indent, be)
			}
		}
		if mode == TCP {
			b.WriteString("stream {\n  upstream web {\n")
			servers("    ")
			fmt.Fprintf(&b, "  }\n  server {\n    listen 127.0.0.1:%d reuseport;\n    proxy_pass web;\n    proxy_timeout 10m;\n  }\n}\n", port)
		} else {
			ssl := ""
			if env.TLS != nil {
				ssl = " ssl"
			}
			fmt.Fprintf(&b, "http {\n  access_log off;\n  keepalive_timeout 10m;\n  keepalive_requests 1000000000;\n"+
				"  client_body_temp_path %[1]s/body;\n  proxy_temp_path %[1]s/proxy;\n  fastcgi_temp_path %[1]s/fastcgi;\n"+
				"  uwsgi_temp_path %[1]s/uwsgi;\n  scgi_temp_path %[1]s/scgi;\n  upstream web {\n", prefix)
			servers("    ")
			// keepalive: idle server connections kept per worker, as
			// fjord's and HAProxy's keep-alive do; nginx closes a
			// connection after keepalive_requests (default 1000) unless
			// told otherwise, which would add connects to the keep-alive
			// scenario.
			fmt.Fprintf(&b, "    keepalive 256;\n    keepalive_requests 1000000000;\n    keepalive_timeout 10m;\n  }\n"+
				"  server {\n    listen 127.0.0.1:%d%s reuseport;\n%s    location / {\n      proxy_pass http://web;\n"+
				"      proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n"+
				// Large responses are passed on from memory, never
				// spooled to a temporary file.
				"      proxy_max_temp_file_size 0;\n      proxy_read_timeout 10m;\n    }\n  }\n}\n", port, ssl, nginxTLS(env.TLS))
		}
		path := prefix + ".conf"
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return nil, nil, err
		}
		return []string{bin, "-p", prefix, "-e", "stderr", "-c", path}, nil, nil
	}
}

// nginxTLS is the server block's TLS: the same versions, suites and
// curve as HAProxy's (the TLS 1.3 suite through OpenSSL's own
// Ciphersuites command, which nginx has no directive for).
func nginxTLS(t *TLS) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "    ssl_certificate %s;\n    ssl_certificate_key %s;\n", t.Cert.Cert, t.Cert.Key)
	fmt.Fprintf(&b, "    ssl_protocols TLSv1.2 TLSv1.3;\n    ssl_ciphers %s;\n    ssl_conf_command Ciphersuites %s;\n    ssl_ecdh_curve %s;\n",
		TLS12Suites, TLS13Suite, TLSCurve)
	if t.NoResumption {
		b.WriteString("    ssl_session_tickets off;\n    ssl_session_cache off;\n")
	}
	return b.String()
}

func iocopyConfig(env *Env, bin string, port int) ([]string, []string, error) {
	return []string{bin, "-listen", "127.0.0.1:" + strconv.Itoa(port), "-backend", strings.Join(env.Backends, ",")},
		[]string{"GOMAXPROCS=" + strconv.Itoa(env.Threads)}, nil
}

// hopConfig runs bench/hop with the loop design named: as many loops as
// fjord's (nbthread), balancing per client connection over the web nodes.
func hopConfig(loop string) func(*Env, string, int) ([]string, []string, error) {
	return func(env *Env, bin string, port int) ([]string, []string, error) {
		return []string{bin, "-listen", "127.0.0.1:" + strconv.Itoa(port), "-backend", strings.Join(env.Backends, ","),
				"-loop", loop, "-threads", strconv.Itoa(env.Threads)},
			[]string{"GOMAXPROCS=" + strconv.Itoa(env.Threads)}, nil
	}
}

// HardNoFile is the hard RLIMIT_NOFILE, the most descriptors any process
// here can have; 0 when unknown.
func HardNoFile() uint64 {
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil {
		return 0
	}
	return r.Max
}
