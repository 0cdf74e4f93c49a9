package stats

import (
	"bytes"
	"fmt"
	"log"
	"net"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
)

// Limits of the stats page's HTTP server (Page.ServeConn). The page needs
// small requests only; anything larger is refused by fasthttp with 431
// (head) or 413 (body) before the handler runs.
const (
	pageReadBuffer  = 8 << 10  // bytes; also the largest request head
	maxAdminBody    = 64 << 10 // bytes of an admin form: thousands of servers
	pageIdleDefault = 10 * time.Second
)

// Page is the stats page of one proxy section with "stats enable": HTML,
// CSV, JSON, Prometheus metrics and the admin form. It is safe for
// concurrent use; serving reads the counters without holding any lock
// longer than Sources.Snapshot does.
type Page struct {
	// Log receives panics and admin actions; nil means the standard
	// logger. Set it before serving.
	Log Logger

	src         *Sources
	px          *config.Proxy
	uri         string // "stats uri", matched as a prefix
	promURI     string // "stats prometheus-uri", matched exactly; "" none
	auth        *basicAuth
	admin       []*rules.Cond
	refresh     int // seconds; 0: no automatic refresh
	hideVersion bool
	registry    *prometheus.Registry
	server      *fasthttp.Server
	deny        []byte // the 401 response, whole (Unauthorized)
	challenge   []byte // its WWW-Authenticate value (Challenge)
}

// NewPage prepares the stats page of px, reading from src. It returns nil
// when px has no "stats enable" (nor any other "stats" line enabling it).
func NewPage(src *Sources, px *config.Proxy) *Page {
	st := &px.Stats
	if !st.Enabled {
		return nil
	}
	p := &Page{
		src: src, px: px,
		uri: st.URI, promURI: st.PrometheusURI,
		auth:        newBasicAuth(st),
		admin:       compileAdmin(st.Admin),
		hideVersion: st.HideVersion,
	}
	if p.uri == "" { // a hand-built config that skipped validation
		p.uri = "/haproxy?stats"
	}
	if st.Refresh > 0 {
		p.refresh = max(1, int(st.Refresh/time.Second))
	}
	p.registry = newRegistry(src, st.HideVersion)
	p.server = p.newServer()
	p.deny = p.denyResponse()
	p.challenge = []byte(p.auth.challenge)
	return p
}

// newServer is the fasthttp server ServeConn uses: the proxy's client
// timeouts (so a slow client cannot hold a goroutine forever) and small
// request limits. No idle timeout: Handler closes every connection after
// its response.
func (p *Page) newServer() *fasthttp.Server {
	t := p.px.Timeouts
	read := firstPositive(t.HTTPRequest, t.Client, pageIdleDefault)
	return &fasthttp.Server{
		Handler:                      p.Handler(),
		Name:                         "fjord",
		NoDefaultServerHeader:        true,
		ReadBufferSize:               pageReadBuffer,
		MaxRequestBodySize:           maxAdminBody,
		ReadTimeout:                  read,
		WriteTimeout:                 firstPositive(t.Client, pageIdleDefault),
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{p},
	}
}

func firstPositive(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d > 0 {
			return d
		}
	}
	return 0
}

// ServeConn serves c, a connection the engine handed over after seeing a
// request for the page, with the page's limits and timeouts. It blocks
// until c is closed: call it in its own goroutine.
func (p *Page) ServeConn(c net.Conn) error { return p.server.ServeConn(c) }

// Matches reports whether a request-target is for this page: it begins
// with "stats uri" (HAProxy's prefix match on the raw target, query
// included, so that "/haproxy?stats;csv" matches "/haproxy?stats"), or it
// is the "stats prometheus-uri". An absolute-form target is matched by
// its path, as HAProxy does.
func (p *Page) Matches(uri []byte) bool {
	r, _ := p.route(uri)
	return r != routeNone
}

type route uint8

const (
	routeNone route = iota
	routeStats
	routeMetrics
)

// route classifies a request-target; for the stats URI it also returns
// what follows the URI (the options).
func (p *Page) route(target []byte) (route, []byte) {
	if p.promURI != "" {
		if rest, ok := cutTargetPrefix(target, p.promURI); ok && (len(rest) == 0 || rest[0] == '?') {
			// Exact, but a scraper's "params" (a query) are allowed.
			return routeMetrics, nil
		}
	}
	if rest, ok := cutTargetPrefix(target, p.uri); ok {
		return routeStats, rest
	}
	return routeNone, nil
}

// cutTargetPrefix reports whether target's origin form starts with
// prefix (which starts with '/') and returns what follows it.
func cutTargetPrefix(target []byte, prefix string) ([]byte, bool) {
	path, implicitSlash := originForm(target)
	if implicitSlash {
		prefix = prefix[1:]
	}
	if len(path) < len(prefix) || string(path[:len(prefix)]) != prefix {
		return nil, false
	}
	return path[len(prefix):], true
}

// originForm returns the path and query of a request-target. For an
// absolute-form target ("http://host/p?q") that is what follows the
// authority; when the path is empty ("http://host?q") the result lacks its
// implicit leading '/', which implicitSlash reports, so that nothing is
// allocated.
func originForm(target []byte) (path []byte, implicitSlash bool) {
	if len(target) > 0 && target[0] == '/' {
		return target, false
	}
	i := bytes.Index(target, []byte("://"))
	if i <= 0 {
		return target, false // asterisk- or authority-form: never the page
	}
	rest := target[i+3:]
	j := bytes.IndexAny(rest, "/?")
	if j < 0 {
		return nil, true
	}
	if rest[j] == '?' {
		return rest[j:], true
	}
	return rest[j:], false
}

// Handler serves the page's requests. It never panics (a panic answers
// 500 and is logged) and closes the connection after each response, so
// that the browser's next request on the site goes through the engine,
// which routes each connection once, rather than to the page; and the
// engine logs each page request, with its status and size, when its
// connection is done.
func (p *Page) Handler() fasthttp.RequestHandler { return p.serve }

func (p *Page) serve(ctx *fasthttp.RequestCtx) {
	defer p.recoverPanic(ctx)
	ctx.SetConnectionClose()
	target := ctx.Request.Header.RequestURI()
	rt, rest := p.route(target)
	if rt == routeNone {
		p.fail(ctx, fasthttp.StatusNotFound, "no stats page at this URI")
		return
	}
	if !p.auth.allowed(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)) {
		p.unauthorized(ctx)
		return
	}
	method := ctx.Method()
	get := string(method) == fasthttp.MethodGet || string(method) == fasthttp.MethodHead
	if rt == routeMetrics {
		if !get {
			p.notAllowed(ctx, "GET, HEAD")
			return
		}
		p.serveMetrics(ctx)
		return
	}
	opts, err := parseURIOptions(rest)
	if err != nil {
		p.fail(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	switch {
	case get:
		p.serveGet(ctx, opts)
	case string(method) == fasthttp.MethodPost:
		p.servePost(ctx, opts)
	default:
		allow := "GET, HEAD"
		if len(p.admin) > 0 {
			allow += ", POST"
		}
		p.notAllowed(ctx, allow)
	}
}

func (p *Page) serveGet(ctx *fasthttp.RequestCtx, opts uriOptions) {
	rows := p.src.Snapshot()
	if opts.up {
		rows = hideDown(rows)
	}
	setCommonHeaders(ctx)
	switch opts.format {
	case formatCSV:
		ctx.SetContentType("text/plain; charset=utf-8")
		WriteCSV(ctx, rows)
	case formatJSON:
		ctx.SetContentType("application/json")
		ctx.SetBody(appendJSON(nil, rows))
	default:
		ctx.SetContentType("text/html; charset=utf-8")
		var b bytes.Buffer
		if err := p.renderHTML(&b, rows, opts, p.adminAllowed(ctx)); err != nil {
			panic(err) // a template bug: answered 500 and logged
		}
		ctx.SetBody(b.Bytes())
	}
}

// hideDown applies ";up". As HAProxy, it hides the servers that cannot
// take traffic because they are down or in maintenance; a draining or a
// "going down" server still works and stays. Frontends and backends stay.
func hideDown(rows []Row) []Row {
	out := rows[:0:0]
	for _, r := range rows {
		if r.Type == TypeServer && !serverRunning(&r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func serverRunning(r *Row) bool { return r.Status != "MAINT" && operationalUp(r) }

// setCommonHeaders are sent with every answer: the page must never be
// cached (it is live and may be behind credentials), and the HTML needs
// no script, no external resource and no framing, which the policy makes
// the browser enforce.
func setCommonHeaders(ctx *fasthttp.RequestCtx) {
	for _, f := range commonHeaders {
		ctx.Response.Header.Set(f[0], f[1])
	}
}

var commonHeaders = [...][2]string{
	{fasthttp.HeaderCacheControl, "no-cache, no-store"},
	{"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
	{"X-Content-Type-Options", "nosniff"},
	{"Referrer-Policy", "same-origin"},
}

const unauthorizedBody = "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"

// unauthorized is HAProxy's 401 with the "stats realm".
func (p *Page) unauthorized(ctx *fasthttp.RequestCtx) {
	setCommonHeaders(ctx)
	ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, p.auth.challenge)
	ctx.SetStatusCode(fasthttp.StatusUnauthorized)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(unauthorizedBody)
}

// Authorized reports whether the value of a request's Authorization
// header (nil when it has none) opens the page. The engine asks on the
// request head, before any body is read: a client without credentials is
// answered at once and holds nothing while it withholds a body it
// announced.
func (p *Page) Authorized(authorization []byte) bool { return p.auth.allowed(authorization) }

// Unauthorized is the whole 401 response for a request that Authorized
// refused, without a Connection field: the engine, which writes it,
// says whether the connection is kept. The caller must not modify it.
func (p *Page) Unauthorized() []byte { return p.deny }

// Challenge is the WWW-Authenticate value of Unauthorized's answer, for
// the engine to send with the proxy's own 401 page ("errorfile 401")
// instead. The caller must not modify it.
func (p *Page) Challenge() []byte { return p.challenge }

// denyResponse renders unauthorized's answer once, as raw bytes. It is
// built by hand rather than by fasthttp, which would freeze a Date header
// in it.
func (p *Page) denyResponse() []byte {
	b := []byte("HTTP/1.1 401 Unauthorized\r\nContent-Type: text/html; charset=utf-8\r\n")
	b = fmt.Appendf(b, "Content-Length: %d\r\n", len(unauthorizedBody))
	for _, f := range commonHeaders {
		b = fmt.Appendf(b, "%s: %s\r\n", f[0], f[1])
	}
	b = fmt.Appendf(b, "WWW-Authenticate: %s\r\n\r\n%s", p.auth.challenge, unauthorizedBody)
	return b
}

func (p *Page) notAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set(fasthttp.HeaderAllow, allow)
	p.fail(ctx, fasthttp.StatusMethodNotAllowed, "method "+printable(string(ctx.Method()))+" not allowed here (allowed: "+allow+")")
}

// fail answers a plain-text error naming what was wrong.
func (p *Page) fail(ctx *fasthttp.RequestCtx, code int, msg string) {
	setCommonHeaders(ctx)
	ctx.SetStatusCode(code)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(fasthttp.StatusMessage(code) + ": " + msg + "\n")
}

// recoverPanic turns a panic while serving into a logged 500, so that a
// bug in the page never takes the process down.
func (p *Page) recoverPanic(ctx *fasthttp.RequestCtx) {
	v := recover()
	if v == nil {
		return
	}
	p.logf("stats page of %s: panic serving %q: %v\n%s", p.px,
		printable(string(ctx.Request.Header.RequestURI())), v, debug.Stack())
	ctx.Response.Reset()
	ctx.SetConnectionClose()
	p.fail(ctx, fasthttp.StatusInternalServerError, "the stats page failed; the error is logged")
}

func (p *Page) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// fasthttpLogger sends fasthttp's own messages (read errors, timeouts)
// to the page's logger.
type fasthttpLogger struct{ p *Page }

func (l fasthttpLogger) Printf(format string, args ...any) { l.p.logf("stats page: "+format, args...) }

// compileAdmin compiles the "stats admin" conditions.
func compileAdmin(cs []*config.Condition) []*rules.Cond {
	cp := rules.NewCompiler()
	out := make([]*rules.Cond, len(cs))
	for i, c := range cs {
		out[i] = cp.Cond(c)
	}
	return out
}
