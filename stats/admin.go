package stats

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// HAProxy's admin form: checked servers in "s" (repeated), the action in
// "action", the backend in "b" ("#<iid>" as HAProxy's form sends, or a
// name).
const (
	formServer  = "s"
	formAction  = "action"
	formBackend = "b"
)

// adminActions are the actions the form offers, by their form value.
var adminActions = map[string]balancer.Admin{
	"ready": balancer.Ready,
	"drain": balancer.Drain,
	"maint": balancer.Maint,
}

// adminTxn recycles what a condition reads: an h1.Request holds a 4.8 KB
// header array, too much to allocate for every page load.
type adminTxn struct {
	req h1.Request
	msg rules.Msg
	txn rules.Txn
}

var adminTxns = sync.Pool{New: func() any { return new(adminTxn) }}

// adminAllowed evaluates the "stats admin" rules for this request, in
// order, as HAProxy: the first one whose condition holds grants admin. The
// conditions read the head as fasthttp read it, parsed again by h1 so
// that they see what the engine's would.
func (p *Page) adminAllowed(ctx *fasthttp.RequestCtx) bool {
	if len(p.admin) == 0 {
		return false
	}
	a := adminTxns.Get().(*adminTxn)
	defer adminTxns.Put(a)
	// Header() rebuilds the head (request line, fields, CRLF CRLF) from
	// what fasthttp parsed; it is valid until the handler returns.
	req := &a.req
	if _, err := h1.ParseRequest(ctx.Request.Header.Header(), req); err != nil {
		return false // a head the engine would refuse grants nothing
	}
	m := &a.msg
	m.Method, m.URI, m.Path, m.Minor = req.Method, req.URI, req.Path, req.Minor
	m.Headers = m.Headers[:0]
	for _, h := range req.Headers {
		m.Headers = append(m.Headers, rules.Header{Name: h.Name, Value: h.Value})
	}
	t := &a.txn
	t.Reset()
	t.Req = m
	if src := clientAddr(ctx); src.IsValid() {
		t.Src = netip.AddrPortFrom(src, 0)
	}
	for _, c := range p.admin {
		if c.Match(t) {
			return true
		}
	}
	return false
}

// clientAddr is the client's address as the "src" criterion sees it. A
// connection that is not TCP (a client of a Unix socket bind) yields the
// invalid address, which no network contains. Not ctx.RemoteIP, which
// gives 0.0.0.0 for it, an address 'src 0.0.0.0/0' would match.
func clientAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	ta, ok := ctx.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(ta.IP)
	return a.Unmap()
}

// servePost applies an admin form and redirects to the page with the
// outcome in ";st=", as HAProxy, so that reloading the page does not post
// the form again.
func (p *Page) servePost(ctx *fasthttp.RequestCtx, opts uriOptions) {
	if len(p.admin) == 0 {
		p.notAllowed(ctx, "GET, HEAD")
		return
	}
	if !p.adminAllowed(ctx) || crossOrigin(ctx) {
		p.redirect(ctx, opts, stDeny)
		return
	}
	ct := ctx.Request.Header.ContentType()
	if !bytes.HasPrefix(bytes.ToLower(ct), []byte("application/x-www-form-urlencoded")) {
		p.fail(ctx, fasthttp.StatusUnsupportedMediaType, "the admin form is application/x-www-form-urlencoded")
		return
	}
	if len(ctx.PostBody()) > maxAdminBody {
		// Only when served by fasthttp.ServeConn with its default limits;
		// Page.ServeConn refuses such a body before the handler runs.
		p.fail(ctx, fasthttp.StatusRequestEntityTooLarge, "the admin form is limited to "+strconv.Itoa(maxAdminBody)+" bytes")
		return
	}
	p.redirect(ctx, opts, p.applyAdmin(ctx.PostArgs(), ctx.RemoteIP().String()))
}

// crossOrigin reports a form posted from another site's page (the browser
// says so in Origin), which must not use the operator's cached
// credentials to change servers. Clients that send no Origin, such as
// curl, are not affected.
func crossOrigin(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek(fasthttp.HeaderOrigin)
	if len(origin) == 0 {
		return false
	}
	_, host, ok := bytes.Cut(origin, []byte("://"))
	return !ok || !bytes.EqualFold(host, ctx.Request.Header.Host())
}

// applyAdmin validates the whole form before changing anything: an
// unknown backend, server or action changes nothing and answers ERRP.
// (HAProxy applies the valid part and answers PART; all or nothing is
// easier to reason about when a name was mistyped.)
func (p *Page) applyAdmin(args *fasthttp.Args, who string) string {
	names := args.PeekMulti(formServer)
	action := string(args.Peek(formAction))
	if len(names) == 0 || action == "" {
		return stNone
	}
	state, ok := adminActions[action]
	if !ok {
		return stErrP
	}
	b := p.backend(string(args.Peek(formBackend)))
	if b == nil {
		return stErrP
	}
	servers := make([]*balancer.Server, 0, len(names))
	for _, n := range names {
		s := b.Server(string(n))
		if s == nil {
			return stErrP
		}
		servers = append(servers, s)
	}
	for _, s := range servers {
		s.SetAdmin(state)
		p.logf("stats page: server %s/%s set to %s by %s", b.Name, s.Name, state, who)
	}
	return stDone
}

// backend finds a backend by "#<iid>" (HAProxy's form) or by name.
func (p *Page) backend(ref string) *balancer.Backend {
	if id, ok := strings.CutPrefix(ref, "#"); ok {
		n, err := strconv.Atoi(id)
		if err != nil || n < 1 || n > len(p.src.Config.Proxies) {
			return nil
		}
		px := p.src.Config.Proxies[n-1]
		if px.Caps&config.CapBackend == 0 {
			return nil // a frontend may share a backend's name
		}
		ref = px.Name
	}
	if ref == "" {
		return nil
	}
	return p.src.Backends[ref]
}

// redirect answers 303 See Other to the page with the outcome, keeping
// the ";up" and ";norefresh" the form was posted with.
func (p *Page) redirect(ctx *fasthttp.RequestCtx, opts uriOptions, status string) {
	opts.status = status
	setCommonHeaders(ctx)
	ctx.Response.Header.Set(fasthttp.HeaderLocation, p.uri+opts.suffix(false, true))
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}
