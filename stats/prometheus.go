package stats

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"

	"github.com/fjordlb/fjord/health"
)

// The Prometheus exposition ("stats prometheus-uri") is built from one
// Snapshot per scrape by a custom collector, so it shows exactly what the
// CSV shows and costs nothing between scrapes. Names follow Prometheus
// conventions (base units, _total for counters) and HAProxy's exporter
// where it has a name for the same thing, with the fjord_ prefix.

// metricDef maps one CSV column to a metric.
type metricDef struct {
	name, help string
	col        string  // CSV column the value comes from; absent there, absent here
	scale      float64 // multiplier to base units; 0 means 1
	typ        prometheus.ValueType
	desc       *prometheus.Desc // fjord_<kind>_<name>, set by kindDefs
}

const (
	gauge   = prometheus.GaugeValue
	counter = prometheus.CounterValue
)

func metric(name, col string, typ prometheus.ValueType, help string) metricDef {
	return metricDef{name: name, help: help, col: col, typ: typ}
}

var (
	frontendLabels = []string{"proxy"}
	backendLabels  = []string{"proxy"}
	serverLabels   = []string{"proxy", "server"}
)

// Per-kind metric lists, in exposition order.
var (
	frontendMetrics = kindDefs("frontend", frontendLabels,
		metric("current_sessions", "scur", gauge, "Current number of active sessions."),
		metric("max_sessions", "smax", gauge, "Maximum observed number of active sessions."),
		metric("limit_sessions", "slim", gauge, "Configured session limit (maxconn)."),
		metric("sessions_total", "stot", counter, "Total number of sessions."),
		metric("bytes_in_total", "bin", counter, "Bytes received from clients."),
		metric("bytes_out_total", "bout", counter, "Bytes sent to clients."),
		metric("requests_denied_total", "dreq", counter, "Requests denied by rules."),
		metric("responses_denied_total", "dresp", counter, "Responses denied by rules."),
		metric("request_errors_total", "ereq", counter, "Invalid or timed-out requests."),
		metric("http_requests_total", "req_tot", counter, "HTTP requests received."),
	)
	backendMetrics = kindDefs("backend", backendLabels,
		metric("current_queue", "qcur", gauge, "Requests waiting for a server now."),
		metric("max_queue", "qmax", gauge, "Maximum observed queue length."),
		metric("current_sessions", "scur", gauge, "Current number of active sessions."),
		metric("max_sessions", "smax", gauge, "Maximum observed number of active sessions."),
		metric("limit_sessions", "slim", gauge, "Configured session limit (maxconn)."),
		metric("sessions_total", "stot", counter, "Total number of sessions."),
		metric("loadbalanced_total", "lbtot", counter, "Times a server of the backend was chosen by the algorithm."),
		metric("bytes_in_total", "bin", counter, "Bytes sent to servers."),
		metric("bytes_out_total", "bout", counter, "Bytes received from servers."),
		metric("requests_denied_total", "dreq", counter, "Requests denied by rules."),
		metric("responses_denied_total", "dresp", counter, "Responses denied by rules."),
		metric("connection_errors_total", "econ", counter, "Failed connection attempts to servers."),
		metric("response_errors_total", "eresp", counter, "Invalid, missing or truncated responses."),
		metric("retry_warnings_total", "wretr", counter, "Connection retries."),
		metric("redispatch_warnings_total", "wredis", counter, "Redispatches to another server."),
		metric("weight", "weight", gauge, "Total weight of the servers taking traffic."),
		metric("active_servers", "act", gauge, "Active servers taking traffic."),
		metric("backup_servers", "bck", gauge, "Backup servers taking traffic."),
		metric("downtime_seconds_total", "downtime", counter, "Time the backend had no server available."),
		metric("http_requests_total", "req_tot", counter, "HTTP requests sent to the backend."),
	)
	serverMetrics = kindDefs("server", serverLabels,
		metric("current_queue", "qcur", gauge, "Requests waiting for this server now."),
		metric("max_queue", "qmax", gauge, "Maximum observed queue length."),
		metric("queue_limit", "qlimit", gauge, "Configured queue limit (maxqueue)."),
		metric("current_sessions", "scur", gauge, "Current number of active sessions."),
		metric("max_sessions", "smax", gauge, "Maximum observed number of active sessions."),
		metric("limit_sessions", "slim", gauge, "Configured session limit (maxconn)."),
		metric("sessions_total", "stot", counter, "Total number of sessions."),
		metric("loadbalanced_total", "lbtot", counter, "Times the server was chosen by the algorithm."),
		metric("bytes_in_total", "bin", counter, "Bytes sent to the server."),
		metric("bytes_out_total", "bout", counter, "Bytes received from the server."),
		metric("connection_errors_total", "econ", counter, "Failed connection attempts."),
		metric("response_errors_total", "eresp", counter, "Invalid, missing or truncated responses."),
		metric("retry_warnings_total", "wretr", counter, "Connection retries."),
		metric("redispatch_warnings_total", "wredis", counter, "Redispatches away from this server."),
		metric("weight", "weight", gauge, "Current weight."),
		metric("check_failures_total", "chkfail", counter, "Failed health checks."),
		metric("check_up_down_total", "chkdown", counter, "UP to DOWN transitions."),
		metric("downtime_seconds_total", "downtime", counter, "Time the server was DOWN."),
		metric("check_code", "check_code", gauge, "HTTP status of the last layer-7 check."),
		withScale(metric("check_duration_seconds", "check_duration", gauge, "Duration of the last health check."), 0.001),
	)
)

func withScale(d metricDef, s float64) metricDef {
	d.scale = s
	return d
}

// kindDefs names each metric fjord_<kind>_<name> with kind's labels.
func kindDefs(kind string, labels []string, list ...metricDef) []metricDef {
	for i := range list {
		d := &list[i]
		d.desc = prometheus.NewDesc("fjord_"+kind+"_"+d.name, d.help, labels, nil)
	}
	return list
}

// The metrics that do not map to one CSV column.
var (
	descHTTPResponses = map[int]*prometheus.Desc{
		TypeFrontend: prometheus.NewDesc("fjord_frontend_http_responses_total", "HTTP responses by status class.", []string{"proxy", "code"}, nil),
		TypeBackend:  prometheus.NewDesc("fjord_backend_http_responses_total", "HTTP responses by status class.", []string{"proxy", "code"}, nil),
		TypeServer:   prometheus.NewDesc("fjord_server_http_responses_total", "HTTP responses by status class.", []string{"proxy", "server", "code"}, nil),
	}
	descBackendUp   = prometheus.NewDesc("fjord_backend_up", "1 when at least one server takes traffic.", backendLabels, nil)
	descServerUp    = prometheus.NewDesc("fjord_server_up", "1 when the server is operational (checks pass or are off), whatever its administrative state.", serverLabels, nil)
	descServerAdmin = prometheus.NewDesc("fjord_server_admin_state", "Administrative state: 1 for the current one of ready, drain, maint.", []string{"proxy", "server", "state"}, nil)
	descServerCheck = prometheus.NewDesc("fjord_server_check_status", "Status of the last health check: 1 for the current one.", []string{"proxy", "server", "state"}, nil)
	descBuildInfo   = prometheus.NewDesc("fjord_build_info", "fjord's version (absent with 'stats hide-version').", []string{"version"}, nil)

	// The process's TLS counters, named after HAProxy's exporter's
	// haproxy_process_* metrics.
	sslMetrics = []struct {
		desc *prometheus.Desc
		typ  prometheus.ValueType
		get  func(*SSLInfo) int64
	}{
		{prometheus.NewDesc("fjord_process_current_ssl_connections", "TLS sessions now, client and server side.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.CurrConns }},
		{prometheus.NewDesc("fjord_process_ssl_connections_total", "TLS sessions established since start.", nil, nil), counter, func(s *SSLInfo) int64 { return s.CumConns }},
		{prometheus.NewDesc("fjord_process_current_ssl_rate", "Client-side TLS sessions per second, over the last second.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.Rate }},
		{prometheus.NewDesc("fjord_process_max_ssl_rate", "Highest client-side TLS session rate seen.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.MaxRate }},
		{prometheus.NewDesc("fjord_process_current_frontend_ssl_key_rate", "Full client handshakes per second, over the last second.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.FrontendKeyRate }},
		{prometheus.NewDesc("fjord_process_max_frontend_ssl_key_rate", "Highest full client handshake rate seen.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.FrontendMaxKeyRate }},
		{prometheus.NewDesc("fjord_process_frontend_ssl_reuse", "Percent of client TLS sessions resumed, over the last second.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.FrontendReusePct }},
		{prometheus.NewDesc("fjord_process_current_backend_ssl_key_rate", "Full server handshakes per second, over the last second.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.BackendKeyRate }},
		{prometheus.NewDesc("fjord_process_max_backend_ssl_key_rate", "Highest full server handshake rate seen.", nil, nil), gauge, func(s *SSLInfo) int64 { return s.BackendMaxKeyRate }},
		{prometheus.NewDesc("fjord_process_ssl_handshake_failures_total", "Client TLS handshakes that failed.", nil, nil), counter, func(s *SSLInfo) int64 { return s.HandshakeFailures }},
		{prometheus.NewDesc("fjord_process_server_ssl_handshake_failures_total", "Server TLS handshakes that failed.", nil, nil), counter, func(s *SSLInfo) int64 { return s.ServerHandshakeFailures }},
	}
	hrspCodes     = [6]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	adminStates   = [...]string{"ready", "drain", "maint"}
	checkStatuses = [...]health.Status{health.StatusInit, health.StatusL4OK, health.StatusL4Tout, health.StatusL4Con, health.StatusL6OK, health.StatusL6Tout, health.StatusL6Rsp, health.StatusL7OK, health.StatusL7Sts, health.StatusL7Rsp, health.StatusL7Tout, health.StatusSockErr}
)

// collector turns a Snapshot into metrics at scrape time.
type collector struct {
	src         *Sources
	hideVersion bool
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, list := range [][]metricDef{frontendMetrics, backendMetrics, serverMetrics} {
		for _, d := range list {
			ch <- d.desc
		}
	}
	for _, d := range descHTTPResponses {
		ch <- d
	}
	for _, d := range []*prometheus.Desc{descBackendUp, descServerUp, descServerAdmin, descServerCheck, descBuildInfo} {
		ch <- d
	}
	for _, m := range sslMetrics {
		ch <- m.desc
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	emit := func(d *prometheus.Desc, typ prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, typ, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	if !c.hideVersion {
		emit(descBuildInfo, gauge, 1, c.src.Version)
	}
	if c.src.SSL != nil {
		ssl := c.src.SSL()
		for _, m := range sslMetrics {
			emit(m.desc, m.typ, float64(m.get(&ssl)))
		}
	}
	rows := c.src.Snapshot()
	for i := range rows {
		r := &rows[i]
		var list []metricDef
		labels := []string{r.PxName}
		switch r.Type {
		case TypeFrontend:
			list = frontendMetrics
		case TypeBackend:
			list = backendMetrics
			emit(descBackendUp, gauge, boolValue(r.Status != "DOWN"), labels...)
		case TypeServer:
			list = serverMetrics
			labels = append(labels, r.SvName)
			emit(descServerUp, gauge, boolValue(operationalUp(r)), labels...)
			admin := adminState(r)
			for _, st := range adminStates {
				emit(descServerAdmin, gauge, boolValue(st == admin), r.PxName, r.SvName, st)
			}
			if r.Checked {
				for _, st := range checkStatuses {
					emit(descServerCheck, gauge, boolValue(string(st) == r.CheckStatus), r.PxName, r.SvName, string(st))
				}
			}
		default:
			continue
		}
		f := r.fields()
		for _, d := range list {
			v, ok := f[d.col]
			if !ok || v == "" {
				continue
			}
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			if d.scale != 0 {
				n *= d.scale
			}
			emit(d.desc, d.typ, n, labels...)
		}
		if r.HTTP {
			for k, code := range hrspCodes {
				emit(descHTTPResponses[r.Type], counter, float64(r.HRsp[k]), append(labels[:len(labels):len(labels)], code)...)
			}
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// operationalUp is a server's state as its checks see it: "UP 1/3" is
// still up, "DOWN 1/2" still down; MAINT and DRAIN hide it in the status
// text, so it is read from the server.
func operationalUp(r *Row) bool {
	switch {
	case strings.HasPrefix(r.Status, "DOWN"):
		return false
	case r.Status == "MAINT", r.Status == "DRAIN":
		return r.srv != nil && r.srv.Up()
	}
	return true
}

// adminState reads the administrative state from the status text, which
// Snapshot derives from it first, so both agree within one scrape.
func adminState(r *Row) string {
	switch r.Status {
	case "MAINT":
		return "maint"
	case "DRAIN":
		return "drain"
	}
	return "ready"
}

// newRegistry holds fjord's collector and the standard Go runtime and
// process collectors (memory, GC, CPU, open files), which operators
// expect from any Go exporter.
func newRegistry(src *Sources, hideVersion bool) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(&collector{src: src, hideVersion: hideVersion},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics answers a scrape in the format the scraper accepts (the
// text format unless it asks for protobuf).
func (p *Page) serveMetrics(ctx *fasthttp.RequestCtx) {
	mfs, err := p.registry.Gather()
	if err != nil {
		// Gather returns what it could; a scrape with a gap beats none.
		p.logf("stats page of %s: gathering metrics: %v", p.px, err)
		if len(mfs) == 0 {
			p.fail(ctx, fasthttp.StatusInternalServerError, "gathering metrics failed; the error is logged")
			return
		}
	}
	accept := http.Header{}
	accept.Set("Accept", string(ctx.Request.Header.Peek(fasthttp.HeaderAccept)))
	format := expfmt.NegotiateAccept(accept, expfmt.FmtText, expfmt.FmtProtoDelim)
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			panic(err) // writing to a bytes.Buffer: an encoder bug
		}
	}
	if cl, ok := enc.(expfmt.Closer); ok {
		if err := cl.Close(); err != nil {
			panic(err)
		}
	}
	setCommonHeaders(ctx)
	ctx.SetContentType(string(format))
	ctx.SetBody(b.Bytes())
}
