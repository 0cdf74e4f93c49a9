package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// A configuration with health checks over TLS is refused, by 'fjord -c'
// and by a start alike, with one alert per server at its line; TLS on
// binds and to servers without checks passes the gate.
func TestRefuseTLSChecksUntilRun(t *testing.T) {
	const tlsCfg = `frontend www
	mode http
	bind 127.0.0.1:18080
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
		"[ALERT] " + path + ":9: backend 'web': 'server checks': health checks over TLS (check-ssl, or ssl with check) are parsed but this build of fjord does not run them yet; use 'no-check-ssl' for plain checks on another 'port', or no 'check'",
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
	cfg, err := config.Parse("plain.cfg", []byte(validCfg), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if refuseTLSChecksUntilRun(cfg, &out) || out.Len() != 0 {
		t.Errorf("a configuration without TLS checks was refused: %q", out.String())
	}
}
