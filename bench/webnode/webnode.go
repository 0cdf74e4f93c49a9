// Package webnode is the web server that the demo and the benchmark harness
// put behind the proxies: a fasthttp handler that says which node answered,
// serves bodies of known sizes from memory, echoes, waits, answers any
// status, and can be told to fail so that health checks have something to
// notice.
//
// Every response carries "X-Served-By: <name>", so a client of the proxy can
// see where each request went without reading the body.
package webnode

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

const (
	// DefaultBodySize is the size of the /body answer: a small response, the
	// case where a proxy's per-request cost dominates.
	DefaultBodySize = 64
	// DefaultLargeSize is the size of the /large answer: big enough that a
	// transfer is dominated by moving bytes, not by request handling.
	DefaultLargeSize = 64 << 20

	// MaxSlow caps /slow so that a typo cannot hold a connection for hours.
	MaxSlow = 60 * time.Second

	// maxRequestBody bounds what /echo buffers. Above the default large
	// object, so that /large can be sent back through /echo.
	maxRequestBody = 256 << 20
)

// Options are the sizes of the bodies a node serves. The zero value serves
// empty bodies; the command's flags default to DefaultBodySize and
// DefaultLargeSize.
type Options struct {
	BodySize  int // bytes answered on /body
	LargeSize int // bytes answered on /large
}

// Node is one named web node. Its only state is whether it has been put down
// through /admin/down; it is safe for concurrent use.
type Node struct {
	name  string
	small []byte
	large []byte
	down  atomic.Bool

	slowWaiting func() // tests: called when /slow starts waiting
}

// New returns a node called name. The bodies are generated here, once, and
// shared with every other node of the process that has the same sizes, so
// that three nodes in one process hold one large object, not three.
func New(name string, opts Options) *Node {
	return &Node{
		name:  name,
		small: shared("small", opts.BodySize, smallBody),
		large: shared("large", opts.LargeSize, Object),
	}
}

// Handler returns the request handler of a new node called name.
func Handler(name string, opts Options) fasthttp.RequestHandler {
	return New(name, opts).Handler()
}

// Name returns the node's name, as sent in X-Served-By.
func (n *Node) Name() string { return n.name }

// SetDown puts the node down (every request but /admin/* answers 503) or
// back up. /admin/down and /admin/up do the same over HTTP.
func (n *Node) SetDown(down bool) { n.down.Store(down) }

// Handler returns the node's request handler.
func (n *Node) Handler() fasthttp.RequestHandler { return n.serve }

// Server returns a fasthttp server for the node, configured for the demo and
// the benchmarks: no idle timeout (benchmarks hold idle keep-alive
// connections on purpose), a request-head buffer as large as fjord's default
// tune.bufsize, and request bodies taken as they come so /echo can return
// them unchanged. Stop it with Shutdown or ShutdownWithContext.
func (n *Node) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      n.serve,
		Name:                         "fjord-webnode",
		ReadBufferSize:               16 << 10,
		MaxRequestBodySize:           maxRequestBody,
		DisablePreParseMultipartForm: true,
		// Shutdown waits for requests in flight; tell keep-alive clients
		// that the connection ends so they do not send another one.
		CloseOnShutdown: true,
	}
}

// Serve serves a new node called name on ln until ctx is cancelled; see
// Node.Serve.
func Serve(ctx context.Context, ln net.Listener, name string, opts Options, grace time.Duration) error {
	return New(name, opts).Serve(ctx, ln, grace)
}

// Serve serves the node on ln until ctx is cancelled, then shuts the server
// down, giving requests in flight up to grace to finish (a /slow request
// answers at once when the server shuts down). It returns nil after a
// shutdown and the listener's error otherwise.
func (n *Node) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := n.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	// A request still running after grace is abandoned: the caller is on
	// its way out and the connection dies with the process.
	_ = srv.ShutdownWithContext(sctx)
	return <-errc
}

func (n *Node) serve(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("X-Served-By", n.name)
	p := string(ctx.Path())

	if rest, ok := strings.CutPrefix(p, "/admin/"); ok {
		n.admin(ctx, rest)
		return
	}
	if n.down.Load() {
		// Every path fails, not only /health: a node whose application is
		// broken behind a live web server is the case the seed article's
		// health checks are for, and fjord's default check asks for GET /.
		n.text(ctx, fasthttp.StatusServiceUnavailable,
			fmt.Sprintf("%s is down (GET /admin/up on this node brings it back)\n", n.name))
		return
	}

	switch {
	case p == "/health":
		n.text(ctx, fasthttp.StatusOK, "ok\n")
	case p == "/body":
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.Response.SetBodyRaw(n.small)
	case p == "/large":
		ctx.SetContentType("application/octet-stream")
		// Raw: the object is shared and must not be copied per request.
		ctx.Response.SetBodyRaw(n.large)
	case p == "/echo":
		n.echo(ctx)
	case p == "/slow":
		n.slow(ctx)
	case strings.HasPrefix(p, "/status/"):
		n.status(ctx, strings.TrimPrefix(p, "/status/"))
	case isStatic(p):
		ctx.SetContentType(staticType(p))
		ctx.SetBodyString(fmt.Sprintf("fake static file %s from %s\n", p, n.name))
	default:
		n.text(ctx, fasthttp.StatusOK,
			fmt.Sprintf("served by %s: %s %s\n", n.name, ctx.Method(), ctx.RequestURI()))
	}
}

func (n *Node) text(ctx *fasthttp.RequestCtx, status int, body string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBodyString(body)
}

// admin answers /admin/up and /admin/down. Any method works, so that a plain
// curl or a browser can do it; the node is a test fixture, not a service.
func (n *Node) admin(ctx *fasthttp.RequestCtx, what string) {
	switch what {
	case "down":
		n.down.Store(true)
		n.text(ctx, fasthttp.StatusOK, n.name+" is down: every request but /admin/* now answers 503\n")
	case "up":
		n.down.Store(false)
		n.text(ctx, fasthttp.StatusOK, n.name+" is up\n")
	default:
		n.text(ctx, fasthttp.StatusNotFound, "unknown admin action; use /admin/down or /admin/up\n")
	}
}

func (n *Node) echo(ctx *fasthttp.RequestCtx) {
	ct := ctx.Request.Header.ContentType()
	if len(ct) == 0 {
		ct = []byte("application/octet-stream")
	}
	ctx.Response.Header.SetContentTypeBytes(ct)
	// The request body lives in ctx until the response is written, so the
	// response can point at it instead of copying it.
	ctx.Response.SetBodyRaw(ctx.PostBody())
}

func (n *Node) slow(ctx *fasthttp.RequestCtx) {
	ms, err := strconv.Atoi(string(ctx.QueryArgs().Peek("ms")))
	if err != nil || ms < 0 {
		n.text(ctx, fasthttp.StatusBadRequest, "/slow needs ms=N, a whole number of milliseconds\n")
		return
	}
	d := min(time.Duration(ms)*time.Millisecond, MaxSlow)
	t := time.NewTimer(d)
	defer t.Stop()
	if n.slowWaiting != nil {
		n.slowWaiting()
	}
	select {
	case <-t.C:
	case <-ctx.Done(): // the server is shutting down: answer now
	}
	n.text(ctx, fasthttp.StatusOK, fmt.Sprintf("served by %s after %d ms\n", n.name, d.Milliseconds()))
}

// status answers with the status the path names. 1xx is refused: a 1xx is
// not a final response, and a client or proxy would wait for the real one.
func (n *Node) status(ctx *fasthttp.RequestCtx, code string) {
	s, err := strconv.Atoi(code)
	if err != nil || len(code) != 3 || s < 200 || s > 599 {
		n.text(ctx, fasthttp.StatusBadRequest, "/status/NNN needs a status from 200 to 599\n")
		return
	}
	n.text(ctx, s, fmt.Sprintf("status %d from %s\n", s, n.name))
}

// staticDirs are the prefixes of the seed article's url_static ACL.
var staticDirs = []string{"/images", "/stylesheets", "/javascripts"}

func isStatic(p string) bool {
	for _, d := range staticDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// staticType picks the Content-Type from the extension, and when there is
// none that it knows, from the directory.
func staticType(p string) string {
	switch strings.ToLower(path.Ext(p)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".svg":
		return "image/svg+xml"
	case ".ico":
		return "image/x-icon"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "application/javascript"
	}
	switch {
	case strings.HasPrefix(p, "/stylesheets"):
		return "text/css; charset=utf-8"
	case strings.HasPrefix(p, "/javascripts"):
		return "application/javascript"
	}
	return "application/octet-stream"
}

// Object returns the n-byte large object: a fixed pseudo-random sequence, so
// that a client can check what it received byte for byte, and so that no
// layer between server and client can shrink it by compressing runs.
func Object(n int) []byte {
	n = max(n, 0)
	b := make([]byte, n+7)
	// xorshift64 with a fixed seed: the same bytes on every platform.
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < n; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(b[i:], x)
	}
	return b[:n:n]
}

// smallBody is printable so a human can curl /body.
func smallBody(n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return b
}

type bodyKey struct {
	kind string
	size int
}

var (
	bodiesMu sync.Mutex
	bodies   = map[bodyKey][]byte{}
)

// shared returns gen(size), generating it once per process for each kind.
func shared(kind string, size int, gen func(int) []byte) []byte {
	size = max(size, 0)
	k := bodyKey{kind: kind, size: size}
	bodiesMu.Lock()
	defer bodiesMu.Unlock()
	if b, ok := bodies[k]; ok {
		return b
	}
	b := gen(size)
	bodies[k] = b
	return b
}
