package stats

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/health"
)

// pageCfg has three stats pages: "stats" with credentials, refresh,
// Prometheus and admin for loopback clients; "stats_deny" whose admin
// rule never holds for loopback; "stats_open" without credentials or
// admin, with its version hidden.
const pageCfg = `global
  maxconn 1000
defaults
  mode http
  timeout client 5s
frontend fe
  bind 127.0.0.1:8080
  default_backend web
backend web
  balance roundrobin
  server web01 127.0.0.1:9001 check
  server web02 127.0.0.1:9002 check weight 5 maxqueue 7
  server web03 127.0.0.1:9003 backup
backend db
  mode tcp
  server db1 127.0.0.1:9004
listen stats
  bind 127.0.0.1:8081
  stats enable
  stats uri /haproxy?stats
  stats auth admin:secret
  stats auth ops:pa:ss
  stats refresh 10s
  stats prometheus-uri /metrics
  acl local src 127.0.0.0/8
  stats admin if local
listen stats_deny
  bind 127.0.0.1:8082
  stats uri /deny
  acl far src 10.0.0.0/8
  stats admin if far
listen stats_open
  bind 127.0.0.1:8083
  stats uri /open
  stats realm Fjord
  stats hide-version
`

// evilName is a server name no configuration allows, set on web03 to
// check that every output escapes names.
const evilName = `<script>`

// fakeChecks is a CheckSource with fixed answers.
type fakeChecks struct {
	mu    sync.Mutex
	st    map[*balancer.Server]health.ServerStatus
	panic atomic.Bool // the next Status call panics
}

func (f *fakeChecks) Status(s *balancer.Server) (health.ServerStatus, bool) {
	if f.panic.CompareAndSwap(true, false) {
		panic("injected failure")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.st[s]
	return st, ok
}

// pageLog collects what the page logs.
type pageLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *pageLog) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *pageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

type pageEnv struct {
	src      *Sources
	backends map[string]*balancer.Backend
	fe       *balancer.Counters
	checks   *fakeChecks
	log      *pageLog
	pages    map[string]*Page
	addrs    map[string]string // page name -> 127.0.0.1:port
}

// newPageEnv builds Sources from pageCfg with known counters and serves
// each page on its own loopback listener. viaPackageServeConn serves as
// the engine hand-off may, with fasthttp.ServeConn and the page's
// Handler, instead of Page.ServeConn.
func newPageEnv(t *testing.T, viaPackageServeConn bool) *pageEnv {
	t.Helper()
	cfg, err := config.Parse("stats.cfg", []byte(pageCfg), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	env := &pageEnv{
		backends: map[string]*balancer.Backend{},
		fe:       &balancer.Counters{},
		checks:   &fakeChecks{st: map[*balancer.Server]health.ServerStatus{}},
		log:      &pageLog{},
		pages:    map[string]*Page{},
		addrs:    map[string]string{},
	}
	for _, px := range cfg.Backends() {
		env.backends[px.Name] = balancer.New(px)
	}
	web := env.backends["web"]
	web.Servers[2].Name = evilName

	// Known counters.
	w1 := web.Servers[0]
	w1.Counters.BytesIn.Add(1234)
	w1.Counters.BytesOut.Add(5678)
	w1.Counters.TotSessions.Add(42)
	w1.Counters.CurSessions.Add(3)
	w1.Counters.MaxSessions.Add(9)
	w1.Counters.Selected.Add(40)
	w1.Counters.ConnErrors.Add(2)
	w1.Counters.Responses[4].Add(7) // 5xx
	w1.Counters.Responses[1].Add(30)
	web.Counters.Responses[4].Add(11)
	web.Counters.BytesIn.Add(100000)
	env.fe.CurSessions.Add(5)
	env.fe.TotSessions.Add(77)
	env.fe.Requests.Add(88)
	for i, s := range web.Servers[:2] {
		env.checks.st[s] = health.ServerStatus{
			Last:   health.Result{Status: health.StatusL7OK, Code: 200, Duration: time.Duration(3+i) * time.Millisecond},
			Health: 4, Rise: 2, Fall: 3, Up: true, Layer7: true, Failed: int64(2 + i), Downs: 1,
		}
	}

	frontends := map[string]*balancer.Counters{"fe": env.fe}
	env.src = &Sources{
		Config:    cfg,
		Frontends: func(name string) *balancer.Counters { return frontends[name] },
		Backends:  env.backends,
		Checks:    env.checks,
		Started:   time.Now().Add(-2*time.Hour - 3*time.Minute),
		Version:   "1.2.3-test",
		SSL: func() SSLInfo {
			return SSLInfo{CurrConns: 4, CumConns: 40, Rate: 9, MaxRate: 12, FrontendKeyRate: 3, FrontendReusePct: 66, HandshakeFailures: 5}
		},
	}
	for _, px := range cfg.Proxies {
		p := NewPage(env.src, px)
		if p == nil {
			continue
		}
		p.Log = env.log
		env.pages[px.Name] = p
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				if viaPackageServeConn {
					go fasthttp.ServeConn(c, p.Handler())
				} else {
					go p.ServeConn(c)
				}
			}
		}()
		env.addrs[px.Name] = ln.Addr().String()
	}
	if len(env.pages) != 3 {
		t.Fatalf("%d pages, want 3", len(env.pages))
	}
	return env
}

type pageReq struct {
	method, target string
	user, pass     string // basic auth when user != ""
	header         map[string]string
	form           url.Values
}

type pageResp struct {
	code   int
	header http.Header
	body   string
}

var pageClient = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (env *pageEnv) do(t *testing.T, page string, r pageReq) pageResp {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequest(r.method, "http://"+env.addrs[page]+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = r.target // sent as is: "?" and ";" stay raw
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := pageClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return pageResp{resp.StatusCode, resp.Header, string(b)}
}

// get fetches target from the main page with valid credentials.
func (env *pageEnv) get(t *testing.T, target string) pageResp {
	t.Helper()
	return env.do(t, "stats", pageReq{target: target, user: "admin", pass: "secret"})
}

// raw sends bytes as they are and returns the whole answer.
func (env *pageEnv) raw(t *testing.T, page, request string) string {
	t.Helper()
	c, err := net.Dial("tcp", env.addrs[page])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(bufio.NewReader(c))
	return string(b)
}

func TestPageAuth(t *testing.T) {
	env := newPageEnv(t, false)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, page, target, auth string
		want                     int
	}{
		{"no credentials", "stats", "/haproxy?stats", "", 401},
		{"wrong user", "stats", "/haproxy?stats", "Basic " + b64("root:secret"), 401},
		{"wrong password", "stats", "/haproxy?stats", "Basic " + b64("admin:secreT"), 401},
		{"other user's password", "stats", "/haproxy?stats", "Basic " + b64("admin:pa:ss"), 401},
		{"password prefix", "stats", "/haproxy?stats", "Basic " + b64("admin:secre"), 401},
		{"malformed base64", "stats", "/haproxy?stats", "Basic !!!not-base64", 401},
		{"no colon", "stats", "/haproxy?stats", "Basic " + b64("adminsecret"), 401},
		{"empty", "stats", "/haproxy?stats", "Basic ", 401},
		{"other scheme", "stats", "/haproxy?stats", "Bearer " + b64("admin:secret"), 401},
		{"CSV needs credentials", "stats", "/haproxy?stats;csv", "", 401},
		{"metrics need credentials", "stats", "/metrics", "", 401},
		{"bad options still 401 first", "stats", "/haproxy?stats;bogus", "", 401},
		{"first credential", "stats", "/haproxy?stats", "Basic " + b64("admin:secret"), 200},
		{"second credential, ':' in password", "stats", "/haproxy?stats", "Basic " + b64("ops:pa:ss"), 200},
		{"scheme is case-insensitive", "stats", "/haproxy?stats", "basic " + b64("admin:secret"), 200},
		{"metrics", "stats", "/metrics", "Basic " + b64("ops:pa:ss"), 200},
		{"open page", "stats_open", "/open", "", 200},
		{"open page ignores credentials", "stats_open", "/open", "Basic " + b64("x:y"), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := pageReq{target: tt.target}
			if tt.auth != "" {
				req.header = map[string]string{"Authorization": tt.auth}
			}
			r := env.do(t, tt.page, req)
			if r.code != tt.want {
				t.Fatalf("status %d, want %d: %s", r.code, tt.want, r.body)
			}
			if tt.want == 401 {
				if got := r.header.Get("WWW-Authenticate"); got != `Basic realm="HAProxy Statistics"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
				if strings.Contains(r.body, "web01") {
					t.Error("401 leaks statistics")
				}
			}
		})
	}
}

// csvRecords parses a CSV answer; the header's "# " prefix is removed.
func csvRecords(t *testing.T, body string) (cols map[string]int, rows [][]string) {
	t.Helper()
	rd := csv.NewReader(strings.NewReader(body))
	rd.FieldsPerRecord = -1
	recs, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	cols = map[string]int{}
	for i, c := range recs[0] {
		cols[strings.TrimPrefix(c, "# ")] = i
	}
	return cols, recs[1:]
}

func findRecord(rows [][]string, cols map[string]int, px, sv string) []string {
	for _, r := range rows {
		if r[cols["pxname"]] == px && r[cols["svname"]] == sv {
			return r
		}
	}
	return nil
}

func TestPageCSV(t *testing.T) {
	env := newPageEnv(t, false)
	r := env.get(t, "/haproxy?stats;csv")
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %q", r.code, r.header.Get("Content-Type"))
	}
	if first, _, _ := strings.Cut(r.body, "\n"); first+"\n" != CSVHeader() {
		t.Fatalf("header line\n%q\nwant\n%q", first, CSVHeader())
	}
	cols, rows := csvRecords(t, r.body)
	w1 := findRecord(rows, cols, "web", "web01")
	if w1 == nil {
		t.Fatalf("no web/web01 row:\n%s", r.body)
	}
	want := map[string]string{
		"pxname": "web", "svname": "web01", "type": "2", "iid": "2", "sid": "1",
		"bin": "1234", "bout": "5678", "stot": "42", "scur": "3", "smax": "9",
		"lbtot": "40", "econ": "2", "hrsp_5xx": "7", "hrsp_2xx": "30", "hrsp_1xx": "0",
		"status": "UP", "weight": "1", "act": "1", "bck": "0",
		"check_status": "L7OK", "check_code": "200", "check_duration": "3",
		"chkfail": "2", "chkdown": "1", "qlimit": "",
	}
	for col, v := range want {
		i, ok := cols[col]
		if !ok {
			t.Fatalf("no column %q", col)
		}
		if w1[i] != v {
			t.Errorf("web01 %s = %q, want %q", col, w1[i], v)
		}
	}
	w2 := findRecord(rows, cols, "web", "web02")
	if w2[cols["qlimit"]] != "7" || w2[cols["weight"]] != "5" || w2[cols["chkfail"]] != "3" {
		t.Errorf("web02 qlimit/weight/chkfail = %s/%s/%s", w2[cols["qlimit"]], w2[cols["weight"]], w2[cols["chkfail"]])
	}
	if fe := findRecord(rows, cols, "fe", "FRONTEND"); fe == nil || fe[cols["scur"]] != "5" || fe[cols["req_tot"]] != "88" {
		t.Errorf("frontend row %v", fe)
	}
	if be := findRecord(rows, cols, "web", "BACKEND"); be == nil || be[cols["hrsp_5xx"]] != "11" || be[cols["bin"]] != "100000" {
		t.Errorf("backend row %v", be)
	}
	if findRecord(rows, cols, "web", evilName) == nil {
		t.Error("the CSV lost the server with an odd name")
	}
}

func TestPageUpFilter(t *testing.T) {
	env := newPageEnv(t, false)
	web := env.backends["web"]
	web.Servers[1].SetAdmin(balancer.Maint) // web02: MAINT
	web.Servers[2].SetUp(false)             // <script>: DOWN
	db := env.backends["db"].Servers[0]
	db.SetAdmin(balancer.Drain) // still up: DRAIN stays

	for _, target := range []string{
		"/haproxy?stats;up;csv", "/haproxy?stats;csv;up", "/haproxy?stats;norefresh;up;csv",
		"/haproxy?stats;csv;norefresh;up", "/haproxy?stats;up;;csv;",
	} {
		t.Run(target, func(t *testing.T) {
			r := env.get(t, target)
			if r.code != 200 {
				t.Fatalf("%d %s", r.code, r.body)
			}
			cols, rows := csvRecords(t, r.body)
			for _, gone := range []string{"web02", evilName} {
				if findRecord(rows, cols, "web", gone) != nil {
					t.Errorf("%s shown with ;up", gone)
				}
			}
			for _, kept := range [][2]string{{"web", "web01"}, {"web", "BACKEND"}, {"fe", "FRONTEND"}, {"db", "db1"}} {
				if findRecord(rows, cols, kept[0], kept[1]) == nil {
					t.Errorf("%s/%s hidden with ;up", kept[0], kept[1])
				}
			}
		})
	}
	all := env.get(t, "/haproxy?stats;csv")
	cols, rows := csvRecords(t, all.body)
	if r := findRecord(rows, cols, "web", "web02"); r == nil || r[cols["status"]] != "MAINT" {
		t.Errorf("without ;up web02 = %v", r)
	}
	html := env.get(t, "/haproxy?stats;up").body
	if strings.Contains(html, ">web02<") || !strings.Contains(html, "web01") {
		t.Error("HTML ;up does not hide web02")
	}
	if !strings.Contains(html, `href="/haproxy?stats"`) || !strings.Contains(html, "Show all servers") {
		t.Error("HTML ;up has no link back to all servers")
	}
}

func TestPageHTML(t *testing.T) {
	env := newPageEnv(t, false)
	env.backends["web"].Servers[0].Counters.LastChange.Store(time.Now().Add(-2*time.Hour - 3*time.Minute - 5*time.Second).UnixNano())
	tests := []struct {
		name, page, target string
		want, notWant      []string
	}{
		{"refresh", "stats", "/haproxy?stats",
			[]string{`<meta http-equiv="refresh" content="10">`, `name="viewport"`, "fjord 1.2.3-test", "uptime 0d 2h03m", "UP 2h3m",
				"L7OK/200 in 3ms", `class="up"`, "web01", "db1", "HTTP responses", "Set state to MAINT",
				"SSL: current 4 · total 40 · 9/s (max 12)", "reused 66%", "failed handshakes 5"},
			[]string{"<script>", "<script ", "http://", "https://"}},
		{"norefresh", "stats", "/haproxy?stats;norefresh", []string{"Enable refresh"}, []string{`http-equiv="refresh"`}},
		{"norefresh with up", "stats", "/haproxy?stats;up;norefresh", nil, []string{`http-equiv="refresh"`}},
		{"escaped name", "stats", "/haproxy?stats", []string{"&lt;script&gt;"}, []string{evilName}},
		{"status message", "stats", "/haproxy?stats;st=DONE", []string{"Action processed successfully."}, nil},
		{"denied message", "stats", "/haproxy?stats;st=DENY", []string{"Action denied."}, nil},
		{"hide-version", "stats_open", "/open", []string{"pid "}, []string{"1.2.3-test", "Set state to", `http-equiv="refresh"`}},
		{"no admin rights", "stats_deny", "/deny", []string{"web01"}, []string{`type="checkbox"`, "<form"}},
		{"prefix match", "stats_open", "/open/anything", []string{"web01"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := pageReq{target: tt.target}
			if tt.page == "stats" {
				req.user, req.pass = "admin", "secret"
			}
			r := env.do(t, tt.page, req)
			if r.code != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%d %q: %s", r.code, r.header.Get("Content-Type"), r.body)
			}
			for _, s := range tt.want {
				if !strings.Contains(r.body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(r.body, s) {
					t.Errorf("page has %q", s)
				}
			}
		})
	}
	r := env.get(t, "/haproxy?stats")
	if !strings.Contains(r.body, `<input type="checkbox" name="s" value="web01">`) || !strings.Contains(r.body, `name="b" value="#2"`) {
		t.Error("admin form missing for a loopback client")
	}
	if r.header.Get("Cache-Control") == "" || !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("headers %v", r.header)
	}
}

func TestPageJSON(t *testing.T) {
	env := newPageEnv(t, false)
	r := env.get(t, "/haproxy?stats;json;up")
	if r.code != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q", r.code, r.header.Get("Content-Type"))
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.body), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	var w1, evil map[string]any
	for _, row := range rows {
		switch {
		case row["pxname"] == "web" && row["svname"] == "web01":
			w1 = row
		case row["svname"] == evilName:
			evil = row
		}
	}
	if w1 == nil || evil == nil {
		t.Fatalf("rows %v", rows)
	}
	if w1["bin"] != 1234.0 || w1["hrsp_5xx"] != 7.0 || w1["status"] != "UP" || w1["check_status"] != "L7OK" {
		t.Errorf("web01 %v", w1)
	}
	if _, ok := w1["qlimit"]; ok {
		t.Error("absent field present")
	}
	if strings.Contains(r.body, evilName) {
		t.Error("JSON carries a raw <script>")
	}
}

func TestPagePrometheus(t *testing.T) {
	env := newPageEnv(t, false)
	env.backends["web"].Servers[1].SetAdmin(balancer.Maint)
	env.backends["web"].Servers[2].SetUp(false)
	r := env.get(t, "/metrics")
	if r.code != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%d %q\n%s", r.code, r.header.Get("Content-Type"), r.body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		mf := mfs[name]
		if mf == nil {
			return 0, false
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue(), true
			case m.Gauge != nil:
				return m.Gauge.GetValue(), true
			}
		}
		return 0, false
	}
	w1 := map[string]string{"proxy": "web", "server": "web01"}
	w2 := map[string]string{"proxy": "web", "server": "web02"}
	evil := map[string]string{"proxy": "web", "server": evilName}
	with := func(m map[string]string, k, v string) map[string]string {
		c := map[string]string{k: v}
		for a, b := range m {
			c[a] = b
		}
		return c
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"fjord_server_bytes_in_total", w1, 1234},
		{"fjord_server_bytes_out_total", w1, 5678},
		{"fjord_server_sessions_total", w1, 42},
		{"fjord_server_current_sessions", w1, 3},
		{"fjord_server_loadbalanced_total", w1, 40},
		{"fjord_server_connection_errors_total", w1, 2},
		{"fjord_server_check_failures_total", w1, 2},
		{"fjord_server_check_up_down_total", w1, 1},
		{"fjord_server_check_duration_seconds", w1, 0.003},
		{"fjord_server_check_code", w1, 200},
		{"fjord_server_check_status", with(w1, "state", "L7OK"), 1},
		{"fjord_server_check_status", with(w1, "state", "L4CON"), 0},
		{"fjord_server_http_responses_total", with(w1, "code", "5xx"), 7},
		{"fjord_server_up", w1, 1},
		{"fjord_server_up", w2, 1}, // in MAINT, but its checks pass
		{"fjord_server_up", evil, 0},
		{"fjord_server_admin_state", with(w2, "state", "maint"), 1},
		{"fjord_server_admin_state", with(w2, "state", "ready"), 0},
		{"fjord_server_admin_state", with(w1, "state", "ready"), 1},
		{"fjord_server_weight", w2, 5},
		{"fjord_server_queue_limit", w2, 7},
		{"fjord_backend_http_responses_total", map[string]string{"proxy": "web", "code": "5xx"}, 11},
		{"fjord_backend_bytes_in_total", map[string]string{"proxy": "web"}, 100000},
		{"fjord_backend_active_servers", map[string]string{"proxy": "web"}, 1},
		{"fjord_backend_up", map[string]string{"proxy": "web"}, 1},
		{"fjord_frontend_current_sessions", map[string]string{"proxy": "fe"}, 5},
		{"fjord_frontend_sessions_total", map[string]string{"proxy": "fe"}, 77},
		{"fjord_frontend_http_requests_total", map[string]string{"proxy": "fe"}, 88},
		{"fjord_build_info", map[string]string{"version": "1.2.3-test"}, 1},
		{"fjord_process_current_ssl_connections", nil, 4},
		{"fjord_process_ssl_connections_total", nil, 40},
		{"fjord_process_current_ssl_rate", nil, 9},
		{"fjord_process_max_ssl_rate", nil, 12},
		{"fjord_process_current_frontend_ssl_key_rate", nil, 3},
		{"fjord_process_frontend_ssl_reuse", nil, 66},
		{"fjord_process_ssl_handshake_failures_total", nil, 5},
	}
	for _, tt := range tests {
		got, ok := value(tt.name, tt.labels)
		if !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if _, ok := value("fjord_server_queue_limit", w1); ok {
		t.Error("queue limit of a server without maxqueue")
	}
	if _, ok := value("fjord_server_http_responses_total", map[string]string{"proxy": "db", "server": "db1"}); ok {
		t.Error("HTTP responses of a tcp backend")
	}
	if mfs["go_goroutines"] == nil {
		t.Error("no Go runtime metrics")
	}
	if r := env.do(t, "stats", pageReq{method: "POST", target: "/metrics", user: "admin", pass: "secret", form: url.Values{}}); r.code != 405 {
		t.Errorf("POST /metrics: %d", r.code)
	}
}

func TestPageAdmin(t *testing.T) {
	tests := []struct {
		name      string
		page      string
		target    string
		form      url.Values
		header    map[string]string
		code      int
		location  string
		wantAdmin [3]balancer.Admin // web01, web02, <script> afterwards
	}{
		{"maint two servers", "stats", "/haproxy?stats", url.Values{"s": {"web01", "web02"}, "action": {"maint"}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;st=DONE", [3]balancer.Admin{balancer.Maint, balancer.Maint, balancer.Ready}},
		{"drain by backend name", "stats", "/haproxy?stats", url.Values{"s": {"web02"}, "action": {"drain"}, "b": {"web"}},
			nil, 303, "/haproxy?stats;st=DONE", [3]balancer.Admin{balancer.Ready, balancer.Drain, balancer.Ready}},
		{"odd name, options kept", "stats", "/haproxy?stats;norefresh;up;st=DONE", url.Values{"s": {evilName}, "action": {"maint"}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;up;norefresh;st=DONE", [3]balancer.Admin{balancer.Ready, balancer.Ready, balancer.Maint}},
		{"same origin", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {"drain"}, "b": {"#2"}},
			map[string]string{"Origin": "http://HOST"}, 303, "/haproxy?stats;st=DONE", [3]balancer.Admin{balancer.Drain, balancer.Ready, balancer.Ready}},
		{"nothing checked", "stats", "/haproxy?stats", url.Values{"action": {"maint"}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;st=NONE", [3]balancer.Admin{}},
		{"no action chosen", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {""}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;st=NONE", [3]balancer.Admin{}},
		{"unknown server changes nothing", "stats", "/haproxy?stats", url.Values{"s": {"web01", "web99"}, "action": {"maint"}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;st=ERRP", [3]balancer.Admin{}},
		{"unknown backend", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {"maint"}, "b": {"nope"}},
			nil, 303, "/haproxy?stats;st=ERRP", [3]balancer.Admin{}},
		{"frontend id", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {"maint"}, "b": {"#1"}},
			nil, 303, "/haproxy?stats;st=ERRP", [3]balancer.Admin{}},
		{"bad id", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {"maint"}, "b": {"#99"}},
			nil, 303, "/haproxy?stats;st=ERRP", [3]balancer.Admin{}},
		{"unknown action", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {"shutdown"}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;st=ERRP", [3]balancer.Admin{}},
		{"server of another backend", "stats", "/haproxy?stats", url.Values{"s": {"db1"}, "action": {"maint"}, "b": {"#2"}},
			nil, 303, "/haproxy?stats;st=ERRP", [3]balancer.Admin{}},
		{"cross-site form", "stats", "/haproxy?stats", url.Values{"s": {"web01"}, "action": {"maint"}, "b": {"#2"}},
			map[string]string{"Origin": "https://evil.example"}, 303, "/haproxy?stats;st=DENY", [3]balancer.Admin{}},
		{"condition false", "stats_deny", "/deny", url.Values{"s": {"web01"}, "action": {"maint"}, "b": {"#2"}},
			nil, 303, "/deny;st=DENY", [3]balancer.Admin{}},
		{"no stats admin", "stats_open", "/open", url.Values{"s": {"web01"}, "action": {"maint"}, "b": {"#2"}},
			nil, 405, "", [3]balancer.Admin{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newPageEnv(t, false)
			req := pageReq{method: "POST", target: tt.target, form: tt.form, header: map[string]string{}}
			if tt.page == "stats" {
				req.user, req.pass = "admin", "secret"
			}
			for k, v := range tt.header {
				req.header[k] = strings.ReplaceAll(v, "HOST", env.addrs[tt.page])
			}
			r := env.do(t, tt.page, req)
			if r.code != tt.code || r.header.Get("Location") != tt.location {
				t.Fatalf("%d Location %q, want %d %q: %s", r.code, r.header.Get("Location"), tt.code, tt.location, r.body)
			}
			for i, s := range env.backends["web"].Servers {
				if s.Admin() != tt.wantAdmin[i] {
					t.Errorf("%s is %v, want %v", s.Name, s.Admin(), tt.wantAdmin[i])
				}
			}
			if tt.location == "/haproxy?stats;st=DONE" && !strings.Contains(env.log.String(), "set to") {
				t.Errorf("admin action not logged: %s", env.log)
			}
		})
	}

	t.Run("maint then ready", func(t *testing.T) {
		env := newPageEnv(t, true)
		w1 := env.backends["web"].Servers[0]
		for _, action := range []string{"maint", "drain", "ready"} {
			r := env.do(t, "stats", pageReq{method: "POST", target: "/haproxy?stats", user: "ops", pass: "pa:ss",
				form: url.Values{"s": {"web01"}, "action": {action}, "b": {"#2"}}})
			if r.code != 303 || r.header.Get("Location") != "/haproxy?stats;st=DONE" {
				t.Fatalf("%s: %d %q", action, r.code, r.header.Get("Location"))
			}
			if got := strings.ToLower(w1.Admin().String()); got != action {
				t.Fatalf("after %s: %s", action, got)
			}
			cols, rows := csvRecords(t, env.get(t, "/haproxy?stats;csv").body)
			want := map[string]string{"maint": "MAINT", "drain": "DRAIN", "ready": "UP"}[action]
			if st := findRecord(rows, cols, "web", "web01")[cols["status"]]; st != want {
				t.Errorf("CSV status %q after %s", st, action)
			}
		}
	})
}

func TestPageBadRequests(t *testing.T) {
	env := newPageEnv(t, false)
	auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("admin:secret")) + "\r\n"
	tests := []struct {
		name, page, request string
		status              string // the answer's status line starts with it
		contains            string
	}{
		{"unknown method", "stats", "BREW /haproxy?stats HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", "HTTP/1.1 405", "Allow: GET, HEAD, POST"},
		{"PUT without admin", "stats_open", "PUT /open HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405", "Allow: GET, HEAD"},
		{"unknown option", "stats", "GET /haproxy?stats;bogus HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", "HTTP/1.1 400", "unknown stats option ';bogus'"},
		{"csv and json", "stats", "GET /haproxy?stats;csv;json HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", "HTTP/1.1 400", "cannot be combined"},
		{"unknown st", "stats", "GET /haproxy?stats;st=<b> HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", "HTTP/1.1 400", "unknown action status"},
		{"garbage request line", "stats", "GET\r\n\r\n", "HTTP/1.1 400", ""},
		{"not the page", "stats", "GET /elsewhere HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", "HTTP/1.1 404", ""},
		{"oversized head", "stats", "GET /haproxy?stats HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n", "HTTP/1.1 431", ""},
		{"form not urlencoded", "stats", "POST /haproxy?stats HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\nx", "HTTP/1.1 415", ""},
		{"absolute-form target", "stats", "GET http://example.test/haproxy?stats;csv HTTP/1.1\r\nHost: example.test\r\n" + auth + "\r\n", "HTTP/1.1 200", "# pxname,svname"},
		{"HEAD", "stats", "HEAD /haproxy?stats HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", "HTTP/1.1 200", "Connection: close"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := env.raw(t, tt.page, tt.request)
			if !strings.HasPrefix(out, tt.status) || !strings.Contains(out, tt.contains) {
				t.Fatalf("answer:\n%.600s", out)
			}
			if tt.name == "HEAD" && strings.Contains(out, "<html") {
				t.Error("HEAD answered with a body")
			}
		})
	}
}

func TestPageRecoversFromPanic(t *testing.T) {
	env := newPageEnv(t, true)
	env.checks.panic.Store(true)
	r := env.get(t, "/haproxy?stats")
	if r.code != 500 {
		t.Fatalf("%d: %s", r.code, r.body)
	}
	if !strings.Contains(env.log.String(), "injected failure") {
		t.Errorf("panic not logged: %s", env.log)
	}
	if r := env.get(t, "/haproxy?stats"); r.code != 200 {
		t.Fatalf("after the panic: %d", r.code)
	}
}

func TestPageMatches(t *testing.T) {
	env := newPageEnv(t, false)
	p := env.pages["stats"]
	tests := []struct {
		target string
		want   bool
	}{
		{"/haproxy?stats", true},
		{"/haproxy?stats;csv;norefresh", true},
		{"/haproxy?stats&x=1", true}, // a prefix, as HAProxy
		{"/haproxy?statsfoo", true},
		{"/haproxy?stat", false},
		{"/haproxy", false},
		{"/", false},
		{"", false},
		{"*", false},
		{"/metrics", true},
		{"/metrics?x=1", true},
		{"/metricsx", false},
		{"/metrics/x", false},
		{"http://h/haproxy?stats;csv", true},
		{"HTTP://h:80/metrics", true},
		{"http://h", false},
		{"http://h?stats", false},
		{"example.com:443", false},
	}
	for _, tt := range tests {
		if got := p.Matches([]byte(tt.target)); got != tt.want {
			t.Errorf("Matches(%q) = %v, want %v", tt.target, got, tt.want)
		}
	}
	// The engine may call Matches for every request of the frontend.
	target := []byte("http://example.test/haproxy?stats;csv")
	if n := testing.AllocsPerRun(100, func() { p.Matches(target) }); n != 0 {
		t.Errorf("Matches allocates %v times", n)
	}
	if NewPage(env.src, env.src.Config.Proxies[0]) != nil {
		t.Error("a page for a proxy without stats")
	}
}

// TestPageConcurrentLoads loads every output 50 times at once while
// servers change state and counters move; run with -race.
func TestPageConcurrentLoads(t *testing.T) {
	env := newPageEnv(t, true)
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() {
		defer churn.Done()
		s := env.backends["web"].Servers[1]
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s.SetAdmin(balancer.Admin(i % 3))
			s.Counters.BytesIn.Add(1)
			env.fe.SessionStart()
			env.fe.SessionEnd()
			time.Sleep(100 * time.Microsecond)
		}
	}()
	targets := []string{"/haproxy?stats", "/haproxy?stats;csv", "/haproxy?stats;json", "/metrics", "/haproxy?stats;up"}
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := targets[i%len(targets)]
			req, _ := http.NewRequest("GET", "http://"+env.addrs["stats"]+"/", nil)
			req.URL.Opaque = target
			req.SetBasicAuth("admin", "secret")
			resp, err := pageClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || !strings.Contains(string(b), "web01") {
				errs <- fmt.Sprintf("%s: %d %v", target, resp.StatusCode, err)
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The "src" of a stats page's client: its TCP address, or for a client of
// a Unix socket bind none, which no network contains ('src 0.0.0.0/0'
// must not grant a Unix client admin).
func TestClientAddr(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want netip.Addr
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 80}, netip.MustParseAddr("192.0.2.7")},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 80}, netip.MustParseAddr("2001:db8::1")},
		{&net.UnixAddr{Name: "@", Net: "unix"}, netip.Addr{}},
	} {
		var ctx fasthttp.RequestCtx
		ctx.Init(&fasthttp.Request{}, tc.addr, nil)
		if got := clientAddr(&ctx); got != tc.want {
			t.Errorf("%v: clientAddr %v, want %v", tc.addr, got, tc.want)
		}
	}
}
