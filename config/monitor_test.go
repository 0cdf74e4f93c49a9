package config

import (
	"reflect"
	"testing"
)

func TestMonitor(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults",
		"  mode http",
		"  monitor-uri /alive",
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  monitor fail if site_dead",
		"  monitor fail unless { src 127.0.0.0/8 } || site_dead",
		"  acl site_dead path_beg /never", // declared after its use
		"  default_backend be",
		"frontend fe2",
		"  bind 127.0.0.1:8001",
		"  monitor-uri http://lb.example.com/health",
		"  default_backend be",
		"backend be",
		"listen l",
		"  bind 127.0.0.1:8002",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	if fe.MonitorURI != "/alive" {
		t.Errorf("fe: MonitorURI %q, want the defaults' /alive", fe.MonitorURI)
	}
	var conds []string
	for _, c := range fe.MonitorFail {
		conds = append(conds, condString(c))
	}
	if want := []string{"if site_dead", "unless {src 127.0.0.0/8} || site_dead"}; !reflect.DeepEqual(conds, want) {
		t.Errorf("fe: MonitorFail %q, want %q", conds, want)
	}
	if fe.MonitorFail[0].Pos != at(6) {
		t.Errorf("fe: monitor fail at %v", fe.MonitorFail[0].Pos)
	}
	if fe2 := proxy(t, cfg, "frontend", "fe2"); fe2.MonitorURI != "http://lb.example.com/health" || fe2.MonitorFail != nil {
		t.Errorf("fe2: %q %v", fe2.MonitorURI, fe2.MonitorFail)
	}
	if l := proxy(t, cfg, "listen", "l"); l.MonitorURI != "/alive" {
		t.Errorf("listen: MonitorURI %q", l.MonitorURI)
	}
	if be := proxy(t, cfg, "backend", "be"); be.MonitorURI != "" {
		t.Errorf("backend: MonitorURI %q, want none: backends have no clients", be.MonitorURI)
	}
	if len(cfg.Diagnostics) != 0 {
		t.Errorf("diagnostics: %v", cfg.Diagnostics)
	}
}

func TestMonitorErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		{"no URI", httpFE("  monitor-uri #ERR"), []string{"'monitor-uri' expects a URI"}},
		{"empty URI", httpFE(`  monitor-uri "" #ERR`), []string{"'monitor-uri' expects a URI"}},
		{"two URIs", httpFE("  monitor-uri /a /b #ERR"), []string{"'monitor-uri' expects a URI"}},
		{"monitor-uri in a backend", httpFE() + lines("  monitor-uri /a #ERR"), []string{"'monitor-uri' is not allowed in a 'backend' section (allowed in: defaults, frontend, listen)"}},
		{"monitor alone", httpFE("  monitor-uri /a", "  monitor #ERR"), []string{"'monitor' expects 'fail if|unless CONDITION'"}},
		{"monitor net", httpFE("  monitor-uri /a", "  monitor net 10.0.0.0/8 #ERR"), []string{"'monitor' expects 'fail if|unless CONDITION' (found 'net')"}},
		{"monitor fail alone", httpFE("  monitor-uri /a", "  monitor fail #ERR"), []string{"'monitor fail' expects 'if CONDITION' or 'unless CONDITION'"}},
		{"monitor fail without if", httpFE("  monitor-uri /a", "  monitor fail TRUE #ERR"), []string{"'monitor fail': expected 'if' or 'unless' before the condition, found 'TRUE'"}},
		{"monitor fail with an empty condition", httpFE("  monitor-uri /a", "  monitor fail if #ERR"), []string{"missing condition after 'if'"}},
		{"monitor fail with a bad ACL", httpFE("  monitor-uri /a", "  monitor fail if { nope 1 } #ERR"), []string{"unknown sample fetch 'nope'"}},
		{"monitor fail with an undefined ACL", httpFE("  monitor-uri /a", "  monitor fail if down #ERR"), []string{"condition refers to undefined ACL 'down'"}},
		{"monitor fail in defaults", lines("defaults", "  monitor fail if TRUE #ERR") + okTail, []string{"'monitor' is not allowed in a 'defaults' section (allowed in: frontend, listen)"}},
		{"monitor fail in a backend", httpFE() + lines("  monitor fail if TRUE #ERR"), []string{"'monitor' is not allowed in a 'backend' section"}},
		{"monitor-uri in a mode tcp frontend", lines("frontend fe", "  bind 127.0.0.1:8000", "  monitor-uri /a #ERR", "  default_backend be", "backend be"),
			[]string{"frontend 'fe' is in mode tcp: 'monitor-uri' answers HTTP requests and needs 'mode http'"}},
		{"monitor fail in a mode tcp listen", lines("listen l", "  bind 127.0.0.1:8000", "  monitor fail if TRUE #ERR"),
			[]string{"listen 'l' is in mode tcp: 'monitor fail' needs 'mode http'"}},
	})
}

func TestMonitorDiagnostics(t *testing.T) {
	cfg, errs := parse(t, lines(
		"defaults",
		"  monitor-uri /alive",
		"frontend fe", // 3: mode tcp, and the defaults' monitor-uri
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"backend be",
	))
	if errs != nil {
		t.Fatal(errs)
	}
	want := []Diagnostic{{Warning, at(3), "frontend 'fe' is in mode tcp: the 'monitor-uri' of its defaults section (at test.cfg:2) is ignored, as in HAProxy"}}
	if got := diags(cfg, "monitor"); !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n got %v\nwant %v", got, want)
	}
	if fe := proxy(t, cfg, "frontend", "fe"); fe.MonitorURI != "" {
		t.Errorf("mode tcp frontend keeps MonitorURI %q", fe.MonitorURI)
	}

	cfg = mustParse(t, httpFE("  monitor fail if TRUE"))
	want = []Diagnostic{{Warning, at(5), "frontend 'fe': 'monitor fail' has no effect without 'monitor-uri'"}}
	if got := diags(cfg, "monitor"); !reflect.DeepEqual(got, want) {
		t.Errorf("diagnostics:\n got %v\nwant %v", got, want)
	}
}
