package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestRecordLayerChoice(t *testing.T) {
	noKTLS := errors.New("setsockopt TCP_ULP tls: no such file or directory")
	for _, tc := range []struct {
		name      string
		mode      config.KTLSMode
		probe     error
		maxRecord int
		kernel    bool
		desc, err string
	}{
		{"auto takes the kernel's where it has kTLS", config.KTLSAuto, nil, 0, true, "kTLS", ""},
		{"auto stays in user space without it", config.KTLSAuto, noKTLS, 0, false, "the kernel has no kTLS: setsockopt TCP_ULP tls", ""},
		{"auto stays in user space under a record limit", config.KTLSAuto, nil, 1024, false, "'tune.ssl.hard-maxrecord' limits records", ""},
		{"off never asks the kernel", config.KTLSOff, nil, 0, false, "'tune.ssl.ktls off'", ""},
		{"on needs kTLS", config.KTLSOn, noKTLS, 0, false, "", "'tune.ssl.ktls on': the kernel has no kTLS"},
		{"on refuses a record limit it would not apply", config.KTLSOn, nil, 1024, false, "", "'tune.ssl.maxrecord'"},
		{"on with kTLS", config.KTLSOn, nil, 0, true, "kTLS", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(p func() error) { probeKTLS = p }(probeKTLS)
			probeKTLS = func() error { return tc.probe }
			desc, kernel, err := recordLayer(&config.Global{TuneSSLKTLS: tc.mode, TuneSSLMaxRecord: tc.maxRecord})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one that says %q", err, tc.err)
				}
				return
			}
			if err != nil || kernel != tc.kernel || !strings.Contains(desc, tc.desc) {
				t.Errorf("= %q, %v, %v; want kernel %v and words %q", desc, kernel, err, tc.kernel, tc.desc)
			}
		})
	}
}

func TestHandshakeTimeoutWarning(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		warn       bool
	}{
		{"a TLS bind without timeout client", "frontend fe\n  bind :443 ssl crt a.pem\n  default_backend be\nbackend be\n", true},
		{"a TLS bind with timeout client", "frontend fe\n  timeout client 5s\n  bind :443 ssl crt a.pem\n  default_backend be\nbackend be\n", false},
		{"a plain bind without timeout client", "frontend fe\n  bind :80\n  default_backend be\nbackend be\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("t.cfg", []byte(tc.text), config.Options{Resolver: config.NoResolver})
			if err != nil {
				t.Fatal(err)
			}
			w := handshakeTimeouts(cfg)
			if got := len(w) > 0; got != tc.warn {
				t.Fatalf("warnings %q, want one: %v", w, tc.warn)
			}
			if tc.warn && !strings.HasPrefix(w[0], "t.cfg:2: frontend 'fe': 'bind ... ssl' with no 'timeout client'") {
				t.Errorf("warning %q does not name the bind's line", w[0])
			}
		})
	}
}
