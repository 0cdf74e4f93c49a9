package config

import (
	"strings"
	"testing"
)

func TestHTTPLogInTCPModeWarns(t *testing.T) {
	cfg := mustParse(t, strings.Join([]string{
		"defaults",
		"  mode tcp",
		"  option httplog",
		"listen px",
		"  bind 127.0.0.1:8000",
		"  server s 127.0.0.1:80",
	}, "\n"))
	found := false
	for _, d := range cfg.Diagnostics {
		if d.Severity == Warning && strings.Contains(d.Msg, "'option httplog' needs 'mode http'; falling back to 'option tcplog'") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for httplog in mode tcp: %v", cfg.Diagnostics)
	}
	// In mode http it is what it says.
	cfg = mustParse(t, "defaults\n  mode http\n  option httplog\nlisten px\n  bind 127.0.0.1:8000\n  server s 127.0.0.1:80\n")
	for _, d := range cfg.Diagnostics {
		if strings.Contains(d.Msg, "httplog") {
			t.Errorf("unexpected %v", d)
		}
	}
}
