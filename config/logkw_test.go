package config

import (
	"strings"
	"testing"
)

// diagnostics lists a configuration's notices and warnings as text.
func diagnostics(cfg *Config) string {
	var out []string
	for _, d := range cfg.Diagnostics {
		out = append(out, d.String())
	}
	return strings.Join(out, "\n")
}

func TestLogFormatKeyword(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		format     string // the frontend's LogFormat text, "" for none
		httplog    bool
		diag       string // a phrase of a diagnostic, or "" for none
	}{
		{"frontend", httpFE(`  log-format "%ci %{+Q}r"`), "%ci %{+Q}r", false, ""},
		{"escaped spaces", httpFE(`  log-format %ci\ %r`), "%ci %r", false, ""},
		{"from defaults", lines("defaults", "  mode http", `  log-format "%ci %HU"`) + httpFE(), "%ci %HU", false, ""},
		// The last of log-format, option httplog and option tcplog
		// decides, as in HAProxy.
		{"option after", lines("defaults", "  mode http", `  log-format "%ci"`) + httpFE("  option httplog"), "", true, ""},
		{"format after", lines("defaults", "  mode http", "  option httplog") + httpFE(`  log-format "%ci"`), "%ci", false, ""},
		{"override warning", lines("defaults", "  mode http", "  option httplog", `  log-format "%ci"`) + httpFE(),
			"%ci", false, "[test.cfg:4] : 'log-format' overrides previous 'option httplog' in 'defaults' section"},
		{"flag warning", httpFE(`  log-format "%{+Z}ci"`), "%{+Z}ci", false, "[test.cfg:5] : 'log-format': unknown flag 'Z' ignored"},
		{"tcp", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", `  log-format "%ci %ts %B"`, "backend be"), "%ci %ts %B", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.text)
			fe := cfg.Frontends()[0]
			got := ""
			if fe.LogFormat != nil {
				got = fe.LogFormat.Text
				if fe.LogFormat.Pos.File != testFile || fe.LogFormat.Pos.Line == 0 {
					t.Errorf("format position %v", fe.LogFormat.Pos)
				}
			}
			if got != tc.format || fe.HTTPLog != tc.httplog {
				t.Errorf("format %q httplog %v, want %q %v", got, fe.HTTPLog, tc.format, tc.httplog)
			}
			d := diagnostics(cfg)
			if tc.diag == "" && d != "" || !strings.Contains(d, tc.diag) {
				t.Errorf("diagnostics %q, want %q", d, tc.diag)
			}
		})
	}
}

func TestLogFormatKeywordErrors(t *testing.T) {
	for _, tc := range []errCase{
		{"no argument", httpFE("  log-format #ERR"), []string{"'log-format' expects a format string"}},
		{"two arguments", httpFE("  log-format %ci %cp #ERR"), []string{"expects only one argument, don't forget to escape spaces! (found '%cp' after the format)"}},
		{"unknown alias", httpFE(`  log-format "%ci %foo" #ERR`), []string{"failed to parse log-format: no such format variable 'foo'", "(the variables are: %B %CC", "%tsc)"}},
		{"sample expression", httpFE(`  log-format "%ci %[src]" #ERR`), []string{"'log-format': %[src]: %[...] in log-format comes with the rule language"}},
		{"in a backend", tcpBE(`  log-format "%ci" #ERR`), []string{"'log-format' is not allowed in a 'backend' section (allowed in: defaults, frontend, listen)"}},
		// An HTTP alias in a tcp frontend is reported at the format's
		// line, naming the frontend, also when a defaults section set it.
		{"http alias in tcp", lines("frontend fe", "  bind 127.0.0.1:8000", `  log-format "%ci %HU" #ERR`, "  default_backend be", "backend be"),
			[]string{"frontend 'fe': failed to parse log-format: format variable 'HU' is reserved for HTTP mode"}},
		{"http alias from defaults", lines("defaults", `  log-format "%r" #ERR`, "frontend fe", "  bind 127.0.0.1:8000", "  default_backend be", "backend be"),
			[]string{"frontend 'fe': failed to parse log-format: format variable 'r' is reserved for HTTP mode"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrors(t, nil, tc) })
	}
}
