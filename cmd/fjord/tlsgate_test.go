package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// A configuration with TLS is refused, by 'fjord -c' and by a start
// alike, with one alert per bind line and per server that has TLS, at its
// line; nothing else of the configuration is changed by the gate.
func TestRefuseTLSUntilServed(t *testing.T) {
	const tlsCfg = `frontend www
	mode http
	bind 127.0.0.1:18443,127.0.0.1:18444 ssl crt site.pem
	bind 127.0.0.1:18080
	bind fd@3 ssl crt site.pem
	default_backend web
backend web
	mode http
	server plain 127.0.0.1:18081
	server tls 127.0.0.1:18082 ssl verify none
	server checks 127.0.0.1:18083 check check-ssl verify none
`
	dir := t.TempDir()
	path := writeFile(t, dir, "tls.cfg", tlsCfg)
	want := []string{
		"[ALERT] " + path + ":3: frontend 'www': 'bind 127.0.0.1:18443 ssl': TLS termination is parsed but this build of fjord does not serve it yet",
		"[ALERT] " + path + ":5: frontend 'www': 'bind fd@3 ssl': TLS termination is parsed but this build of fjord does not serve it yet",
		"[ALERT] " + path + ":10: backend 'web': 'server tls ssl': TLS to servers is parsed but this build of fjord does not speak it yet",
		"[ALERT] " + path + ":11: backend 'web': 'server checks check-ssl': TLS health checks are parsed but this build of fjord does not run them yet",
		"[ALERT] Fatal errors found in configuration.",
	}
	for _, args := range [][]string{{"-c", "-f", path}, {"-db", "-f", path}} {
		code, stdout, stderr := runFjord(t, args...)
		if code != 1 || stdout != "" {
			t.Errorf("fjord %q: exit %d, stdout %q", args, code, stdout)
		}
		var alerts []string
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if strings.HasPrefix(l, "[ALERT]") {
				alerts = append(alerts, l)
			}
		}
		if strings.Join(alerts, "\n") != strings.Join(want, "\n") {
			t.Errorf("fjord %q: alerts\n%s\nwant\n%s", args, strings.Join(alerts, "\n"), strings.Join(want, "\n"))
		}
	}

	// The gate itself, on a configuration without TLS: silent.
	cfg, err := config.Parse("plain.cfg", []byte(validCfg), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if refuseTLSUntilServed(cfg, &out) || out.Len() != 0 {
		t.Errorf("a configuration without TLS was refused: %q", out.String())
	}
}
