package logging

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

func record(kind engine.RecordKind, req string) *engine.AccessRecord {
	r := &engine.AccessRecord{
		Kind: kind, Frontend: "http-in", Backend: "static", Server: "srv1",
		Client: netip.MustParseAddrPort("10.0.1.2:33317"),
		Accept: time.Date(2009, time.February, 6, 12, 14, 14, 655e6, time.Local),
		Tq:     10, Tw: 0, Tc: 30, Tr: 69, Tt: 109, Status: 200, Bytes: 2750,
		Term: [2]byte{'-', '-'}, ActConn: 1, FeConn: 1, BeConn: 1, SrvConn: 1,
	}
	r.RequestLen = copy(r.Request[:], req)
	return r
}

func TestAppendRecord(t *testing.T) {
	redisp := record(engine.RecordHTTP, "GET /a HTTP/1.1")
	redisp.Retries, redisp.Redispatched = 3, true
	bad := record(engine.RecordHTTP, "")
	bad.Backend, bad.Server, bad.Status, bad.Term = "http-in", "<NOSRV>", 408, [2]byte{'c', 'R'}
	bad.Tq, bad.Tw, bad.Tc, bad.Tr = -1, -1, -1, -1
	esc := record(engine.RecordHTTP, "GET /\"q\"#\x7f HTTP/1.1")
	tcp := record(engine.RecordTCP, "")
	tcp.Frontend, tcp.Backend, tcp.Server, tcp.Tw, tcp.Tc, tcp.Tt, tcp.Bytes = "fnt", "bck", "srv1", 0, 0, 5007, 212
	tcp.ActConn, tcp.FeConn, tcp.BeConn, tcp.SrvConn, tcp.Retries = 0, 0, 0, 0, 3
	conn := &engine.AccessRecord{Kind: engine.RecordConnect, Frontend: "www", HTTPMode: true,
		Client: netip.MustParseAddrPort("10.0.1.2:33312"), Local: netip.MustParseAddrPort("10.0.3.31:8012")}
	connErr := record(engine.RecordConnError, "")
	connErr.Frontend, connErr.Bind, connErr.Error = "https-in", "1", "SSL handshake failure"
	v6 := record(engine.RecordTCP, "")
	v6.Client = netip.MustParseAddrPort("[2001:db8::1]:4000")
	// A client of a Unix socket has no address: HAProxy writes "unix"
	// and the listener's id (its %ci and %cp).
	unixHTTP := record(engine.RecordHTTP, "GET / HTTP/1.1")
	unixHTTP.Client, unixHTTP.Listener = netip.AddrPort{}, 2
	unixTCP := record(engine.RecordTCP, "")
	unixTCP.Client, unixTCP.Listener = netip.AddrPort{}, 1
	unixConn := &engine.AccessRecord{Kind: engine.RecordConnect, Frontend: "www", Listener: 3}
	unixErr := record(engine.RecordConnError, "")
	unixErr.Client, unixErr.Listener, unixErr.Frontend, unixErr.Bind, unixErr.Error = netip.AddrPort{}, 1, "ssl-lst", "1", "SSL handshake failure"
	for _, tc := range []struct {
		name string
		r    *engine.AccessRecord
		want string
	}{
		// HAProxy's documentation example (doc/configuration.txt 8.2.3),
		// less the captures fjord has none of.
		{"httplog", record(engine.RecordHTTP, "GET /index.html HTTP/1.1"),
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /index.html HTTP/1.1"`},
		{"redispatched", redisp,
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/+3 0/0 "GET /a HTTP/1.1"`},
		{"badreq", bad,
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in http-in/<NOSRV> -1/-1/-1/-1/109 408 2750 - - cR-- 1/1/1/1/0 0/0 "<BADREQ>"`},
		{"escaped", esc,
			`10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET /#22q#22#23#7F HTTP/1.1"`},
		// doc/configuration.txt 8.2.2.
		{"tcplog", tcp, `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] fnt bck/srv1 0/0/5007 212 -- 0/0/0/0/3 0/0`},
		{"connect", conn, `Connect from 10.0.1.2:33312 to 10.0.3.31:8012 (www/HTTP)`},
		// HAProxy's line for a failed TLS handshake.
		{"handshake failure", connErr, `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] https-in/1: SSL handshake failure`},
		{"ipv6", v6, `2001:db8::1:4000 [06/Feb/2009:12:14:14.655] http-in static/srv1 0/30/109 2750 -- 1/1/1/1/0 0/0`},
		{"httplog unix", unixHTTP, `unix:2 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"`},
		{"tcplog unix", unixTCP, `unix:1 [06/Feb/2009:12:14:14.655] http-in static/srv1 0/30/109 2750 -- 1/1/1/1/0 0/0`},
		// src/frontend.c: "Connect to unix:%d (%s/%s)".
		{"connect unix", unixConn, `Connect to unix:3 (www/TCP)`},
		{"handshake failure unix", unixErr, `unix:1 [06/Feb/2009:12:14:14.655] ssl-lst/1: SSL handshake failure`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendRecord(nil, tc.r, nil)); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// "option logasap" marks the total time and the bytes with a '+', in
// every line of the frontend, as HAProxy's doc/configuration.txt shows.
func TestAppendRecordLogASAP(t *testing.T) {
	// The example under "option logasap": the line written once the
	// response head of a download was forwarded.
	http := record(engine.RecordHTTP, "GET /image.iso HTTP/1.0")
	http.Tq, http.Tw, http.Tc, http.Tr, http.Tt, http.Bytes = 9, 10, 7, 14, 30, 243
	http.ActConn, http.SrvQueue, http.ASAP = 3, 1, true
	// The example of 8.2.2 (tcplog), written as logasap writes it at the
	// server's connection.
	tcp := record(engine.RecordTCP, "")
	tcp.Client = netip.MustParseAddrPort("10.0.1.2:33313")
	tcp.Accept = time.Date(2009, time.February, 6, 12, 12, 51, 443e6, time.Local)
	tcp.Frontend, tcp.Backend, tcp.Tw, tcp.Tc, tcp.Tt, tcp.Bytes = "fnt", "bck", 0, 0, 5007, 212
	tcp.ActConn, tcp.FeConn, tcp.BeConn, tcp.SrvConn, tcp.Retries, tcp.ASAP = 0, 0, 0, 0, 3, true
	// A request fjord answered itself, logged at its end: '+' all the
	// same, as in HAProxy, where the mark is the frontend's.
	failed := record(engine.RecordHTTP, "GET / HTTP/1.1")
	failed.Server, failed.Status, failed.Term, failed.Tc, failed.Tr, failed.Bytes, failed.ASAP = "<NOSRV>", 503, [2]byte{'S', 'C'}, -1, -1, 217, true
	for _, tc := range []struct {
		name string
		r    *engine.AccessRecord
		want string
	}{
		{"httplog", http, `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 9/10/7/14/+30 200 +243 - - ---- 3/1/1/1/0 1/0 "GET /image.iso HTTP/1.0"`},
		{"tcplog", tcp, `10.0.1.2:33313 [06/Feb/2009:12:12:51.443] fnt bck/srv1 0/0/+5007 +212 -- 0/0/0/0/3 0/0`},
		{"httplog at the end", failed, `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/<NOSRV> 10/0/-1/-1/+109 503 +217 - - SC-- 1/1/1/1/0 0/0 "GET / HTTP/1.1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendRecord(nil, tc.r, nil)); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			tc.r.ASAP = false
			if got := string(AppendRecord(nil, tc.r, nil)); strings.Contains(got, "+") {
				t.Errorf("without logasap: %s", got)
			}
		})
	}
	// JSON keeps numbers numbers, and says that they may be partial.
	var m map[string]any
	if err := json.Unmarshal(newJSONEncoder().record(nil, &engine.AccessRecord{Kind: engine.RecordTCP, Tt: 5, Bytes: 7, ASAP: true}, nil), &m); err != nil {
		t.Fatal(err)
	}
	if m["tt"] != 5.0 || m["bytes"] != 7.0 || m["logasap"] != true {
		t.Errorf("JSON: tt %v bytes %v logasap %v, want 5 7 true", m["tt"], m["bytes"], m["logasap"])
	}
	m = nil
	if err := json.Unmarshal(newJSONEncoder().record(nil, &engine.AccessRecord{Kind: engine.RecordTCP}, nil), &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["logasap"]; ok {
		t.Errorf("JSON without logasap has the field: %v", m)
	}
}

func TestAppendRecordAllocs(t *testing.T) {
	r := record(engine.RecordHTTP, "GET /index.html HTTP/1.1")
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = AppendRecord(buf[:0], r, nil) }); n != 0 {
		t.Errorf("%v allocations per line", n)
	}
}

func TestJSONRecord(t *testing.T) {
	r := record(engine.RecordHTTP, "GET /index.html HTTP/1.1")
	r.Retries, r.Redispatched = 1, true
	a := NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)
	out := newJSONEncoder().record(nil, r, a)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"type": "http", "client_ip": "10.0.1.0", "client_port": 33317.0, "frontend": "http-in",
		"backend": "static", "server": "srv1", "tq": 10.0, "tw": 0.0, "tc": 30.0, "tr": 69.0, "tt": 109.0,
		"status": 200.0, "bytes": 2750.0, "termination_state": "----", "actconn": 1.0, "feconn": 1.0,
		"beconn": 1.0, "srv_conn": 1.0, "retries": 1.0, "redispatched": true, "srv_queue": 0.0,
		"backend_queue": 0.0, "request": "GET /index.html HTTP/1.1", "level": "info",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v (%T), want %v", k, m[k], m[k], v)
		}
	}
	if ts, _ := m["time"].(string); !strings.HasPrefix(ts, "2009-02-06T") {
		t.Errorf("time %q", m["time"])
	}

	// A Unix socket's client: "unix" and the listener's id, never
	// anonymised (there is nothing personal in it).
	r.Client, r.Listener = netip.AddrPort{}, 4
	m = nil
	if err := json.Unmarshal(newJSONEncoder().record(nil, r, a), &m); err != nil {
		t.Fatal(err)
	}
	if m["client_ip"] != "unix" || m["client_port"] != 4.0 {
		t.Errorf("unix client: client_ip %v client_port %v, want unix 4", m["client_ip"], m["client_port"])
	}
}

func TestFrame(t *testing.T) {
	at := time.Date(2026, time.March, 5, 7, 8, 9, 123456e3, time.UTC)
	h := &header{pid: "42", hostname: "lb1"}
	msg := []byte("hello")
	for _, tc := range []struct {
		conf  config.LogTarget
		level int
		want  string
	}{
		{config.LogTarget{Kind: config.LogUDP, Facility: 16, Format: config.LogRFC3164}, levelInfo, "<134>Mar  5 07:08:09 fjord[42]: hello\n"},
		{config.LogTarget{Kind: config.LogUDP, Facility: 16, Format: config.LogRFC3164}, levelNotice, "<133>Mar  5 07:08:09 fjord[42]: hello\n"},
		{config.LogTarget{Kind: config.LogUDP, Facility: 1, Format: config.LogRFC3164}, levelAlert, "<9>Mar  5 07:08:09 fjord[42]: hello\n"},
		{config.LogTarget{Kind: config.LogStdout, Facility: 16, Format: config.LogRFC5424}, levelInfo, "<134>1 2026-03-05T07:08:09.123456Z lb1 fjord 42 - - hello\n"},
		{config.LogTarget{Kind: config.LogStdout, Facility: 16, Format: config.LogShort}, levelInfo, "<6>hello\n"},
		{config.LogTarget{Kind: config.LogStderr, Facility: 16, Format: config.LogRaw}, levelInfo, "hello\n"},
		{config.LogTarget{Kind: config.LogFile, Facility: -1, Format: config.LogRFC3164}, levelInfo, "Mar  5 07:08:09 fjord[42]: hello\n"},
		{config.LogTarget{Kind: config.LogFile, Facility: -1, Format: config.LogJSON}, levelInfo, "hello\n"},
		{config.LogTarget{Kind: config.LogUDP, Facility: 16, Format: config.LogJSON}, levelInfo, "<134>Mar  5 07:08:09 fjord[42]: hello\n"},
		{config.LogTarget{Kind: config.LogUDP, Facility: 16, Format: config.LogRFC3164, MaxLen: 30}, levelInfo, "<134>Mar  5 07:08:09 fjord[42\n"},
	} {
		tg := &target{conf: tc.conf}
		if got := string(tg.frame(nil, h, at, tc.level, msg, tc.conf.Format == config.LogJSON, nil)); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.conf, got, tc.want)
		}
	}
	// log-format-sd: the structured data in place of the second "-".
	tg := &target{conf: config.LogTarget{Kind: config.LogUDP, Facility: 16, Format: config.LogRFC5424}}
	if got, want := string(tg.frame(nil, h, at, levelInfo, msg, false, []byte(`[ex@1 b="2"]`))), "<134>1 2026-03-05T07:08:09.123456Z lb1 fjord 42 - [ex@1 b=\"2\"] hello\n"; got != want {
		t.Errorf("structured data: got %q, want %q", got, want)
	}
}

func TestAccepts(t *testing.T) {
	for _, tc := range []struct {
		level, min, msg, sent int
		ok                    bool
	}{
		{levelDebug, levelEmerg, levelInfo, levelInfo, true},
		{levelNotice, levelEmerg, levelInfo, 0, false}, // less severe than LEVEL: dropped
		{levelNotice, levelEmerg, levelAlert, levelAlert, true},
		{levelDebug, levelNotice, levelAlert, levelNotice, true}, // raised to MINLEVEL
	} {
		tg := &target{conf: config.LogTarget{Level: tc.level, MinLevel: tc.min}}
		sent, ok := tg.accepts(tc.msg)
		if ok != tc.ok || (ok && sent != tc.sent) {
			t.Errorf("%+v: got %d %v", tc, sent, ok)
		}
	}
}
