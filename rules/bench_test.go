package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// The typical rule set of issue 19, the same as the rules-keepalive
// scenario of make bench (bench/peers.RuleSet): a redirect ACL that
// the request does not match, five header rules (three on the request,
// two on the response), and a map lookup choosing the backend. Run on a
// request and its response as the engine runs them
// (engine/httprules.go, engine/match.go): the request's rules, the
// routing, the response's rules. They must allocate nothing.

// typicalRules are the rules before the map lookup: what fjord runs
// today.
var typicalRules = []string{
	"http-request redirect scheme https if { hdr(host) -i old.example.com }",
	"http-request set-header X-Forwarded-Proto http",
	"http-request set-header X-Client-IP %[src]",
	"http-request del-header X-Debug",
	"http-response set-header Strict-Transport-Security max-age=63072000",
	"http-response del-header Server",
}

// typicalMapLookup is the rule set's map lookup.
const typicalMapLookup = "use_backend %[req.hdr(host),lower,map_str(testdata/typical.map,be_web)]"

// The request and response of make bench's load, as the generator
// and the web nodes send them.
const (
	typicalRequest  = "GET /body HTTP/1.1\r\nHost: bench\r\nUser-Agent: fjord-bench\r\n\r\n"
	typicalResponse = "HTTP/1.1 200 OK\r\nServer: fjord-webnode\r\nDate: Mon, 07 Dec 2026 17:00:00 GMT\r\nContent-Type: text/plain\r\nContent-Length: 64\r\nX-Served-By: web1\r\n\r\n"
)

// typicalSet is the rule set compiled, with the request and response
// parsed.
type typicalSet struct {
	req, res *HTTPRules
	route    []typicalRoute
	def      string
	byName   map[string]string // the backends, by name

	request  *h1.Request
	response *h1.Response
}

// typicalRoute is a use_backend rule as the engine's router holds it.
type typicalRoute struct {
	cond *Cond
	name *Format // dynamic: the backend's name
	be   string
}

// compileTypical parses the rules (and the map lookup when withMap) in a
// listen section as the benchmark's, and compiles them. A map lookup
// fjord cannot parse yet (a converter it lacks) skips the caller.
func compileTypical(tb testing.TB, withMap bool) *typicalSet {
	tb.Helper()
	lines := typicalRules
	if withMap {
		lines = append(lines[:len(lines):len(lines)], typicalMapLookup)
	}
	text := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"listen bench\n  bind 127.0.0.1:8080\n  balance roundrobin\n  " + strings.Join(lines, "\n  ") +
		"\n  server web1 127.0.0.1:8081\n\nbackend be_web\n  server web1 127.0.0.1:8081\n"
	cfg, err := config.Parse("typical.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		if withMap && strings.Contains(err.Error(), "unknown converter") {
			tb.Skipf("the map lookup needs converters fjord does not have yet: %v", err)
		}
		tb.Fatalf("config: %v\n%s", err, text)
	}
	px := cfg.Frontends()[0]
	cp := NewCompiler()
	ts := &typicalSet{
		req: cp.HTTPRules(px.HTTPRequest), res: cp.HTTPRules(px.HTTPResponse),
		def: px.Name, byName: map[string]string{},
	}
	for _, b := range cfg.Backends() {
		ts.byName[b.Name] = b.Name
	}
	if ts.req.Len() != 4 || ts.res.Len() != 2 {
		tb.Fatalf("%d request rules, %d response rules; want 4 and 2", ts.req.Len(), ts.res.Len())
	}
	for _, ub := range px.UseBackends {
		r := typicalRoute{cond: cp.Cond(ub.Cond), be: ub.Backend}
		if ub.Dynamic != nil {
			r.name = cp.Format(ub.Dynamic)
		}
		ts.route = append(ts.route, r)
	}
	if withMap && len(ts.route) != 1 {
		tb.Fatalf("%d use_backend rules, want 1", len(ts.route))
	}
	ts.request = mustRequest(tb, typicalRequest)
	ts.response = new(h1.Response)
	if _, err := h1.ParseResponse([]byte(typicalResponse), ts.response); err != nil {
		tb.Fatal(err)
	}
	return ts
}

// run is one request and its response through the rule set, as the
// engine runs them; it returns the backend chosen and the two verdicts.
func (ts *typicalSet) run(t *Txn, req, res *Msg) (backend string, rv, sv Verdict) {
	// The request: the engine's txn and fillMsg.
	fillTxn(t, req, v4Client, ts.request)
	req.Room = config.DefaultBufSize // the engine's rewriteRoom for a request without a body
	t.Frontend, t.Now = "bench", time.Unix(1796662800, 0)
	rv = ts.req.Run(t, t.Req)
	// The routing: the engine's router.backend.
	backend = ts.def
	for _, r := range ts.route {
		if !r.cond.Match(t) {
			continue
		}
		if r.name == nil {
			backend = r.be
		} else if be, ok := ts.byName[string(r.name.Render(t))]; ok {
			backend = be
		}
		break
	}
	// The response: the engine's runResponseRules and fillResMsg.
	t.Reset()
	t.Src = netip.AddrPortFrom(v4Client, 40000)
	t.Frontend, t.Backend, t.Server = "bench", backend, "web1"
	res.Method, res.URI, res.Path = nil, nil, nil
	res.Status, res.Reason, res.Minor, res.Edited = ts.response.Status, nil, ts.response.Minor, false
	res.Headers = res.Headers[:0]
	for _, h := range ts.response.Headers {
		res.Headers = append(res.Headers, Header{Name: h.Name, Value: h.Value})
	}
	res.Room = config.DefaultBufSize - 64 // its 64-byte body came with the head
	t.Res, t.Response = res, true
	sv = ts.res.Run(t, t.Res)
	return backend, rv, sv
}

// TestTypicalRules: the rule set does what it says on the benchmark's
// request and response, and allocates nothing per request.
func TestTypicalRules(t *testing.T) {
	for _, withMap := range []bool{false, true} {
		name := "rules"
		if withMap {
			name = "rules and map"
		}
		t.Run(name, func(t *testing.T) {
			ts := compileTypical(t, withMap)
			var tx Txn
			var req, res Msg
			be, rv, sv := ts.run(&tx, &req, &res)
			if rv.Outcome != Continue || sv.Outcome != Continue || !req.Edited || !res.Edited {
				t.Fatalf("verdicts %+v, %+v; edited %v, %v", rv, sv, req.Edited, res.Edited)
			}
			wantBe := "bench"
			if withMap {
				wantBe = "be_web"
			}
			if be != wantBe {
				t.Errorf("backend %q, want %q", be, wantBe)
			}
			hdr := func(m *Msg, name string) string {
				var vs []string
				for _, h := range m.Headers {
					if strings.EqualFold(string(h.Name), name) {
						vs = append(vs, string(h.Value))
					}
				}
				return strings.Join(vs, ",")
			}
			for name, want := range map[string]string{"X-Forwarded-Proto": "http", "X-Client-IP": "127.0.0.1", "Host": "bench"} {
				if got := hdr(&req, name); got != want {
					t.Errorf("request %s: %q, want %q", name, got, want)
				}
			}
			if got := hdr(&res, "Server"); got != "" {
				t.Errorf("response Server: %q, want none", got)
			}
			if got := hdr(&res, "Strict-Transport-Security"); got != "max-age=63072000" {
				t.Errorf("response Strict-Transport-Security: %q", got)
			}
			allocs := testing.AllocsPerRun(1000, func() { ts.run(&tx, &req, &res) })
			if allocs != 0 {
				t.Errorf("%v allocations per request", allocs)
			}
		})
	}
}

// BenchmarkTypicalRules runs the rule set on one request and its
// response: go test -run '^$' -bench TypicalRules -benchmem ./rules/
// ("rules and map" is skipped while fjord lacks the map lookup's
// converters).
func BenchmarkTypicalRules(b *testing.B) {
	for _, withMap := range []bool{false, true} {
		name := "rules"
		if withMap {
			name = "rules_and_map"
		}
		b.Run(name, func(b *testing.B) {
			ts := compileTypical(b, withMap)
			var tx Txn
			var req, res Msg
			b.ReportAllocs()
			for b.Loop() {
				ts.run(&tx, &req, &res)
			}
		})
	}
}
