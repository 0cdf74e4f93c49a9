package peers

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestRulesConfigs: fjord-rules and haproxy-rules are given the same
// text, fjord-http's with the rule set in its listen section and the
// backend the map names, and the map is written beside them.
func TestRulesConfigs(t *testing.T) {
	env := &Env{Threads: 2, Backends: []string{"127.0.0.1:1", "127.0.0.1:2"}, MaxConn: 1000, Dir: t.TempDir()}
	fj := render(t, RulesFjord, env)
	hap := render(t, RulesHAProxy, env)
	plain := render(t, RulesBaseline, env)

	var noPipes []string
	for _, l := range strings.Split(hap, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "maxpipes ") {
			noPipes = append(noPipes, l)
		}
	}
	if strings.Join(noPipes, "\n") != fj {
		t.Errorf("fjord's rules are not HAProxy's:\n%s\n---\n%s", fj, hap)
	}

	mapFile := filepath.Join(env.Dir, RulesMapName)
	rules := RuleSet(mapFile)
	if len(rules) != 7 {
		t.Fatalf("%d rules", len(rules))
	}
	// The rule set, in order, right after the listen section's balance
	// line, and nothing else but the backend at the end.
	want := strings.Replace(plain, "  balance roundrobin\n", "  balance roundrobin\n  "+strings.Join(rules, "\n  ")+"\n", 1) +
		"\nbackend be_web\n  balance roundrobin\n  server web1 127.0.0.1:1\n  server web2 127.0.0.1:2\n"
	if fj != want {
		t.Errorf("fjord-rules' configuration:\n%s\nwant fjord-http's with the rules:\n%s", fj, want)
	}
	for _, l := range rules {
		if strings.Count(fj, "\n  "+l+"\n") != 1 {
			t.Errorf("%q is not in the listen section once", l)
		}
	}
	var kinds = map[string]int{}
	for _, l := range rules {
		f := strings.Fields(l)
		switch {
		case f[0] == "use_backend":
			kinds["map"]++
			if !strings.Contains(l, ",lower,map_str("+mapFile+",be_web)") {
				t.Errorf("the map lookup %q does not name %s", l, mapFile)
			}
		case f[1] == "redirect":
			kinds["redirect"]++
			if !strings.Contains(l, " if ") {
				t.Errorf("the redirect %q has no condition", l)
			}
		case f[1] == "set-header" || f[1] == "del-header":
			kinds[f[0]]++
		}
	}
	if kinds["http-request"]+kinds["http-response"] != 5 || kinds["http-response"] == 0 || kinds["redirect"] != 1 || kinds["map"] != 1 {
		t.Errorf("the rule set is %v; want five header rules (some on the response), a redirect and a map lookup", kinds)
	}

	data, err := os.ReadFile(mapFile)
	if err != nil || string(data) != RulesMap {
		t.Fatalf("map file: %q, %v", data, err)
	}
	// The generator's Host is in the map.
	if !strings.Contains("\n"+RulesMap, "\nbench be_web\n") {
		t.Errorf("the map does not route the generator's Host (bench):\n%s", RulesMap)
	}
	// Check and Start write their own files: fjord-http's is not
	// touched.
	if _, err := os.Stat(filepath.Join(env.Dir, "fjord-rules.cfg")); err != nil {
		t.Error(err)
	}
	if data, err := os.ReadFile(filepath.Join(env.Dir, "fjord-http.cfg")); err != nil || string(data) != plain {
		t.Errorf("fjord-http.cfg: %v", err)
	}
}

// checkRules has peer p check its configuration with the rule set:
// HAProxy must accept it; fjord too, but for a converter it does not
// have yet, which skips the test with fjord's message.
func checkRules(t *testing.T, p *Peer, env *Env) {
	t.Helper()
	warnings, err := p.Check(context.Background(), env)
	var ref *Refusal
	if p.Name == RulesFjord && errors.As(err, &ref) && strings.Contains(ref.Error(), "unknown converter") {
		t.Skipf("fjord does not run the rule set yet: %v", ref)
	}
	if err != nil {
		t.Fatalf("%s refuses the rule set: %v", p.Name, err)
	}
	for _, w := range warnings {
		t.Logf("%s warns: %s", p.Name, w)
	}
}

// rulesApplied checks that the response rules ran on resp.
func rulesApplied(t *testing.T, peer string, resp *fasthttp.Response) {
	t.Helper()
	if v := string(resp.Header.Peek("Strict-Transport-Security")); v != "max-age=63072000" {
		t.Errorf("through %s: Strict-Transport-Security %q", peer, v)
	}
	if v := resp.Header.Peek("Server"); v != nil {
		t.Errorf("through %s: Server %q, want none", peer, v)
	}
}

// rulesRedirect checks that a request for the old host is redirected to
// https, and one for the generator's host is not.
func rulesRedirect(t *testing.T, peer, addr string) {
	t.Helper()
	for _, host := range []string{"old.example.com", "OLD.example.com", "bench"} {
		var req fasthttp.Request
		var resp fasthttp.Response
		req.SetRequestURI("http://" + addr + "/body")
		req.UseHostHeader = true
		req.Header.SetHost(host)
		req.SetConnectionClose()
		if err := fasthttp.DoTimeout(&req, &resp, 5*time.Second); err != nil {
			t.Fatalf("through %s, Host %s: %v", peer, host, err)
		}
		loc := string(resp.Header.Peek("Location"))
		if host == "bench" {
			if resp.StatusCode() != 200 || loc != "" {
				t.Errorf("through %s, Host %s: status %d, Location %q; want 200", peer, host, resp.StatusCode(), loc)
			}
			continue
		}
		if resp.StatusCode() != 302 || loc != "https://"+host+"/body" {
			t.Errorf("through %s, Host %s: status %d, Location %q; want 302 to https://%s/body", peer, host, resp.StatusCode(), loc, host)
		}
	}
}
