package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// maxCheckResponse bounds what a layer-7 check reads, as HAProxy's
// tune.chksize (16 KiB): enough for a status page, never a whole download.
const maxCheckResponse = 16 << 10

// bufPool recycles response buffers: a hundred checks a second should not
// feed the garbage collector, which shares the CPUs with the event loops.
var bufPool = sync.Pool{New: func() any { b := make([]byte, maxCheckResponse); return &b }}

// probe is one server's check: where to connect and what to ask.
type probe struct {
	network        string // "tcp", or "unix" for a server on a Unix socket
	addr           string
	layer7         bool
	request        []byte
	httpchk        bool // "option httpchk": only 2xx and 3xx pass without expect
	expect         *config.CheckExpect
	connectTimeout time.Duration
	timeout        time.Duration // the whole check
	// tls is the configuration of checks that speak TLS, nil for plain
	// ones. It comes from the caller (New), which reads the files.
	tls *tls.Config
}

// newProbe derives a server's check from its backend's settings. A plain
// "check" in mode http is a layer-7 GET / (fjord's documented difference
// from HAProxy); "option tcp-check" or mode tcp makes it layer-4.
func newProbe(px *config.Proxy, s *config.Server, network, addr string, tlsConf *tls.Config) *probe {
	p := &probe{network: network, addr: addr, tls: tlsConf}
	p.layer7 = px.HTTPCheck != nil || (px.Mode == config.ModeHTTP && !px.TCPCheck)
	if px.TCPCheck {
		p.layer7 = false
	}
	if p.layer7 {
		method, uri, version := "GET", "/", "HTTP/1.0"
		if c := px.HTTPCheck; c != nil {
			method, uri, version = c.Method, c.URI, c.Version
			p.httpchk = true
		}
		var b strings.Builder
		b.WriteString(method + " " + uri + " " + version + "\r\n")
		if strings.HasPrefix(version, "HTTP/1.1") && !strings.Contains(strings.ToLower(version), "\nhost:") {
			host := addr
			if network == "unix" {
				host = "localhost" // a path is no host name
			}
			b.WriteString("Host: " + host + "\r\n")
		}
		b.WriteString("User-Agent: fjord-check\r\nConnection: close\r\n\r\n")
		p.request = []byte(b.String())
		p.expect = px.CheckExpect
	}
	// HAProxy: with "timeout check", the connection has "timeout connect"
	// and the answer "timeout check"; without it "inter" bounds it all.
	inter := s.Inter
	if inter <= 0 {
		inter = 2 * time.Second
	}
	p.connectTimeout, p.timeout = inter, inter
	if tc := px.Timeouts.Check; tc > 0 {
		p.connectTimeout = tc
		if c := px.Timeouts.Connect; c > 0 {
			p.connectTimeout = c
		}
		p.timeout = p.connectTimeout + tc
	}
	return p
}

// run performs one check.
func (p *probe) run(ctx context.Context) Result {
	start := time.Now()
	r := p.check(ctx, start)
	r.At, r.Duration = start, time.Since(start)
	return r
}

func (p *probe) check(ctx context.Context, start time.Time) Result {
	d := net.Dialer{Timeout: p.connectTimeout}
	c, err := d.DialContext(ctx, p.network, p.addr)
	if err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			return Result{Status: StatusL4Tout, Info: "connection timeout"}
		case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
			errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
			return Result{Status: StatusL4Con, Info: errText(err)}
		case p.network == "unix" && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EAGAIN)):
			// No socket at the path, or one whose backlog is full:
			// the server does not take connections, as a refusal.
			return Result{Status: StatusL4Con, Info: errText(err)}
		}
		return Result{Status: StatusSockErr, Info: errText(err)}
	}
	defer func() { c.Close() }() // the TLS connection once there is one
	if p.tls != nil {
		tc, r := p.handshake(ctx, c, start)
		if tc == nil {
			return r
		}
		c = tc
		if !p.layer7 {
			// HAProxy's implicit connect rule passes with L6OK
			// when the connection is TLS (tcpcheck_eval_connect).
			return Result{Status: StatusL6OK}
		}
	}
	if !p.layer7 {
		return Result{Status: StatusL4OK}
	}
	c.SetDeadline(start.Add(p.timeout))
	if _, err := c.Write(p.request); err != nil {
		return p.ioFailure(err)
	}
	return p.readResponse(c)
}

// handshake runs the TLS handshake of a check over c. It has what is
// left of the connect's time, as in HAProxy, whose check expires at the
// connect timeout until the transport, TCP and TLS, is established; the
// layer-7 exchange has the check's time after it. It returns the TLS
// connection, or nil and the failed check.
func (p *probe) handshake(ctx context.Context, c net.Conn, start time.Time) (*tls.Conn, Result) {
	c.SetDeadline(start.Add(p.connectTimeout))
	tc := tls.Client(c, p.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, p.handshakeFailure(err)
	}
	return tc, Result{}
}

// handshakeFailure is a failed handshake as HAProxy reports it: L6TOUT
// for a timeout, else L6RSP with conn_err_code_str's words (its
// src/connection.c). HAProxy says "SSL handshake failure" for every
// failure of a server's handshake but a name mismatch, adding
// strerror(errno) in parentheses when there is one; fjord adds Go's
// reason there in every case, since "certificate signed by unknown
// authority" is what the operator needs to know. HAProxy's check gives
// a timeout no reason; fjord uses its words for a handshake's timeout
// (CO_ER_SSL_TIMEOUT).
func (p *probe) handshakeFailure(err error) Result {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return Result{Status: StatusL6Tout, Info: "Timeout during SSL handshake"}
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		// ssl_sock_srv_verifycbk: the name checked is the SNI sent,
		// else verifyhost's.
		if p.sentSNI() {
			return Result{Status: StatusL6Rsp, Info: "Server presented an SSL certificate different from the expected one"}
		}
		return Result{Status: StatusL6Rsp, Info: "Server presented an SSL certificate different from the configured one"}
	}
	return Result{Status: StatusL6Rsp, Info: "SSL handshake failure (" + handshakeErrText(err) + ")"}
}

// sentSNI reports whether the handshake sends a server name: crypto/tls
// sends ServerName unless it is an IP address.
func (p *probe) sentSNI() bool {
	return p.tls.ServerName != "" && net.ParseIP(p.tls.ServerName) == nil
}

// handshakeErrText is a handshake error without crypto/tls's "tls:
// failed to verify certificate: " and net's "read tcp A->B: " prefixes.
func handshakeErrText(err error) string {
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) && ve.Err != nil {
		return ve.Err.Error()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by the server"
	}
	return errText(err)
}

// readResponse reads the answer until its head is whole, and its body as
// far as the expect rule needs it.
func (p *probe) readResponse(c net.Conn) Result {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	n := 0
	var resp h1.Response
	hl := -1
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if hl < 0 && n > 0 {
			l, perr := h1.ParseResponse(buf[:n], &resp)
			switch {
			case perr == nil:
				hl = l
			case perr != h1.ErrNeedMore:
				return Result{Status: StatusL7Rsp, Info: perr.Error()}
			}
		}
		if hl >= 0 && !p.needsBody() {
			break
		}
		if hl >= 0 && resp.ContentLength >= 0 && int64(n-hl) >= resp.ContentLength {
			break
		}
		if err != nil {
			if hl >= 0 && errors.Is(err, io.EOF) {
				break // the body ends with the connection
			}
			if hl < 0 && n == 0 && errors.Is(err, io.EOF) {
				return Result{Status: StatusL7Rsp, Info: "empty response"}
			}
			if hl < 0 {
				return p.ioFailure(err)
			}
			break
		}
	}
	if hl < 0 {
		return Result{Status: StatusL7Rsp, Info: "response head too large or incomplete"}
	}
	body := buf[hl:n]
	if resp.ContentLength >= 0 && int64(len(body)) > resp.ContentLength {
		body = body[:resp.ContentLength]
	}
	return p.judge(resp.Status, string(resp.Reason), body)
}

func (p *probe) needsBody() bool {
	return p.expect != nil && p.expect.Kind.ReadsBody()
}

// judge applies "http-check expect", or the default rule: with option
// httpchk 2xx and 3xx pass (HAProxy); a plain check in mode http passes
// any status below 500, so that only a node failing with 5xx is taken out.
func (p *probe) judge(code int, reason string, body []byte) Result {
	ok := false
	if e := p.expect; e != nil {
		switch e.Kind {
		case config.ExpectStatus:
			ok = statusMatches(code, e.Pattern)
		case config.ExpectRStatus:
			ok = e.Regexp.MatchString(strconv.Itoa(code))
		case config.ExpectString:
			ok = bytes.Contains(body, []byte(e.Pattern))
		case config.ExpectRString:
			ok = e.Regexp.Match(body)
		}
		if e.Negate {
			ok = !ok
		}
	} else if p.httpchk {
		ok = code >= 200 && code < 400
	} else {
		ok = code < 500
	}
	if ok {
		return Result{Status: StatusL7OK, Code: code, Info: reason}
	}
	if p.expect != nil && p.expect.Kind.ReadsBody() {
		return Result{Status: StatusL7Rsp, Code: code, Info: "response content did not match"}
	}
	return Result{Status: StatusL7Sts, Code: code, Info: reason}
}

// statusMatches matches a status against "200", "200,204" or "200-299".
func statusMatches(code int, pattern string) bool {
	for _, item := range strings.Split(pattern, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 == nil && err2 == nil && code >= l && code <= h {
			return true
		}
	}
	return false
}

func (p *probe) ioFailure(err error) Result {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return Result{Status: StatusL7Tout, Info: "no response in time"}
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) {
		return Result{Status: StatusL7Rsp, Info: errText(err)}
	}
	return Result{Status: StatusSockErr, Info: errText(err)}
}

// errText is the error without Go's "dial tcp A->B:" prefix.
func errText(err error) string {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" {
		// crypto/tls's report of the server's alert, during the
		// handshake or after it: "remote error: tls: ..." says whose
		// error it is.
		return oe.Error()
	}
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
