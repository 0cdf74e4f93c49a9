package main

import (
	"errors"
	"strings"
	"testing"
)

// 'tune.sockmap on' is valid only where the sockmap program loads; 'auto'
// and 'off' are valid everywhere.
func TestCheckSockmap(t *testing.T) {
	real := probeKernel
	t.Cleanup(func() { probeKernel = real })
	refused := errors.New("sockmap: load the verdict program: operation not permitted")
	for _, tc := range []struct {
		name, mode string
		probe      error
		alert      string // "" for a valid configuration
	}{
		{"on where it loads", "on", nil, ""},
		{"on where it is refused", "on", refused, "[ALERT] global: 'tune.sockmap on': sockmap: load the verdict program: operation not permitted; use 'auto' or 'off'"},
		{"auto where it is refused", "auto", refused, ""},
		{"off", "off", refused, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probed := false
			probeKernel = func() error { probed = true; return tc.probe }
			cfg := strings.Replace(validCfg, "global\n", "global\n\ttune.sockmap "+tc.mode+"\n", 1)
			path := writeFile(t, t.TempDir(), "sockmap.cfg", cfg)
			code, stdout, stderr := runFjord(t, "-c", "-f", path)
			if tc.alert == "" {
				if code != 0 || stdout != "Configuration file is valid\n" {
					t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
				}
			} else if code != 1 || !strings.Contains(stderr, tc.alert) {
				t.Fatalf("exit %d, stderr:\n%s\nwant %q", code, stderr, tc.alert)
			}
			if want := tc.mode == "on"; probed != want {
				t.Errorf("probed %v, want %v", probed, want)
			}
		})
	}
}
