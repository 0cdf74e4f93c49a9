package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/ktls"
	"github.com/fjordlb/fjord/tls/record"
)

// TLS termination. A connection accepted on a bind with TLS is handed to
// the handshake pool (package handshake) before anything else, on a
// duplicate of its socket and out of the loop's epoll set, so that the
// loop neither sees its events nor waits for it. The result comes back
// through the loop's inbox; the session returns to the epoll set with
// its traffic keys in a record layer (package record), and from then on
// its client endpoint reads, peeks and writes plaintext through that
// layer: the rest of the engine works as for a plain socket, except
// that a TLS endpoint's bytes are never spliced (the kernel would move
// ciphertext as if it were the stream), and a short read proves nothing
// about the socket (the layer may hold more).

// tlsConn is a TLS endpoint's record layer and the bytes it holds.
// Its buffers are taken from the loop only while they hold something, so
// that an idle keep-alive connection costs no buffer.
type tlsConn struct {
	layer *record.Layer
	ct    []byte // ciphertext read and not opened yet (a partial record)
	pt    []byte // plaintext opened and not taken yet: pt[ptOff:]
	ptOff int
	eof   bool  // the peer's close_notify (or FIN) came: nothing more to read
	err   error // the record stream failed; the session ends
	// drained: the last read from the socket was short, which proves it
	// empty (as for a plain socket), so no read is spent on an EAGAIN
	// until the next readiness edge.
	drained bool
	// owed are records the layer sent while reading (a KeyUpdate's
	// answer) that the socket did not take: they go before anything else.
	owed      []byte
	closeSent bool
	// kernel: the kernel seals and opens the records (kTLS; see
	// ktls.go): the socket carries plaintext for reads, writes and
	// splices, and the layer only handles the records without data.
	kernel bool
	// ctlOwed are the control records a kernel TLS socket did not take
	// (EAGAIN), in order: they go before anything else is written.
	ctlOwed []ctlRecord
	info    TLSInfo
	sni     string // a server connection's SNI, its idle pool key (idleKey)
	// ended is the count of current TLS sessions, decremented once when
	// the session's layer is dropped.
	ended *atomic.Int64
}

// TLSInfo is what a TLS session negotiated, for ACLs and logs.
type TLSInfo struct {
	Version     uint16
	CipherSuite uint16
	ServerName  string // SNI, "" when the client sent none
	ALPN        string
	Resumed     bool
	// PeerCertificate is the client's certificate (nil: none was sent),
	// and VerifyResult OpenSSL's verification code for it: 0 when it
	// verified or none was sent, else the error 'ca-ignore-err' or
	// 'crt-ignore-err' let pass (handshake.Result.Verify).
	PeerCertificate *x509.Certificate
	VerifyResult    int64
}

// subjectDN is the client certificate's subject in OpenSSL's one-line
// form, as HAProxy's ssl_c_s_dn gives it: "/C=FR/O=Example/CN=client".
func (i *TLSInfo) subjectDN() string {
	var b strings.Builder
	for _, atv := range i.PeerCertificate.Subject.Names {
		name, ok := dnShortNames[atv.Type.String()]
		if !ok {
			name = atv.Type.String()
		}
		fmt.Fprintf(&b, "/%s=%v", name, atv.Value)
	}
	return b.String()
}

// dnShortNames are OpenSSL's short names of the usual DN attributes.
var dnShortNames = map[string]string{
	"2.5.4.6": "C", "2.5.4.8": "ST", "2.5.4.7": "L", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.3": "CN", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

// protocolName is OpenSSL's name of a TLS version, as ssl_fc_protocol
// gives it.
func protocolName(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// opensslSuiteName is OpenSSL's name of a suite, as ssl_fc_cipher gives
// it: the suites fjord's record layer carries.
func opensslSuiteName(id uint16) string {
	switch id {
	case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-ECDSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		return "ECDHE-RSA-AES128-GCM-SHA256"
	case tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-ECDSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		return "ECDHE-RSA-AES256-GCM-SHA384"
	case tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-ECDSA-CHACHA20-POLY1305"
	case tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		return "ECDHE-RSA-CHACHA20-POLY1305"
	}
	return tls.CipherSuiteName(id) // TLS 1.3's names are OpenSSL's too
}

// dropTLS ends the endpoint's TLS session, if any: its buffers go back to
// the loop and it no longer counts as current.
func (ep *endpoint) dropTLS() {
	if ep.tls != nil {
		ep.tls.drop(&ep.s.l.tls)
		ep.tls = nil
	}
}

// tlsInfo is the endpoint's TLS session, or nil.
func (ep *endpoint) tlsInfo() *TLSInfo {
	if ep.tls == nil {
		return nil
	}
	return &ep.tls.info
}

// maxRecordWire is the longest record on the wire: TLS 1.2 allows 2048
// bytes of expansion.
const maxRecordWire = 5 + record.MaxPlaintext + 2048

// tlsBuffers are a loop's spare record buffers.
type tlsBuffers struct {
	ct, pt  [][]byte
	out     []byte // sealed records on their way to a socket
	control []byte // a record without data from a kTLS socket
}

// tlsBufferSpare bounds the spare buffers a loop keeps: beyond, a buffer
// that empties is left to the garbage collector.
const tlsBufferSpare = 64

func (b *tlsBuffers) getCT() []byte {
	if n := len(b.ct); n > 0 {
		buf := b.ct[n-1]
		b.ct = b.ct[:n-1]
		return buf
	}
	return make([]byte, 0, maxRecordWire)
}

func (b *tlsBuffers) getPT() []byte {
	if n := len(b.pt); n > 0 {
		buf := b.pt[n-1]
		b.pt = b.pt[:n-1]
		return buf
	}
	// Room for a head of tune.bufsize that ends in a record's first
	// byte, and that record.
	return make([]byte, 0, 2*record.MaxPlaintext)
}

func (b *tlsBuffers) putCT(buf []byte) {
	if len(b.ct) < tlsBufferSpare {
		b.ct = append(b.ct, buf[:0])
	}
}

func (b *tlsBuffers) putPT(buf []byte) {
	if len(b.pt) < tlsBufferSpare {
		clear(buf) // the plaintext it held does not outlive its session
		b.pt = append(b.pt, buf[:0])
	}
}

// release gives the buffers back once they are empty.
func (t *tlsConn) release(b *tlsBuffers) {
	if t.ct != nil && len(t.ct) == 0 {
		b.putCT(t.ct)
		t.ct = nil
	}
	if t.pt != nil && t.ptOff >= len(t.pt) {
		b.putPT(t.pt)
		t.pt, t.ptOff = nil, 0
	}
}

// drop gives every buffer back, full or not: the session ends.
func (t *tlsConn) drop(b *tlsBuffers) {
	if t.ended != nil {
		t.ended.Add(-1)
		t.ended = nil
	}
	if t.ct != nil {
		b.putCT(t.ct)
		t.ct = nil
	}
	if t.pt != nil {
		b.putPT(t.pt)
		t.pt, t.ptOff = nil, 0
	}
}

func (t *tlsConn) buffered() int { return len(t.pt) - t.ptOff }

// fill opens records into pt: those already read, then what the socket
// gives, until pt holds want bytes or the socket is drained (EAGAIN). It
// returns nil when it opened plaintext or reached the end of the stream:
// records that carry none (a ticket, a KeyUpdate) are no progress, or a
// reader would take them for the end of the stream.
func (t *tlsConn) fill(l *loop, ep *endpoint, want int) error {
	fd := ep.fd
	progress := false
	if ep.readable {
		t.drained = false // an edge came since
	}
	for t.buffered() < want && !t.eof && t.err == nil {
		if t.ct == nil {
			t.ct = l.tls.getCT()
		}
		if t.pt == nil {
			t.pt = l.tls.getPT()
		}
		if t.ptOff > 0 && t.ptOff == len(t.pt) {
			clear(t.pt) // taken: it does not wait in the buffer
			t.pt, t.ptOff = t.pt[:0], 0
		}
		if cap(t.pt)-len(t.pt) < record.MaxPlaintext {
			if t.ptOff == 0 {
				break // full: the caller takes from it first
			}
			n := copy(t.pt, t.pt[t.ptOff:])
			clear(t.pt[n:])
			t.pt, t.ptOff = t.pt[:n], 0
		}
		n, data, err := t.layer.Open(t.ct)
		if n > 0 {
			t.pt = append(t.pt, data...)
			t.ct = t.ct[:copy(t.ct, t.ct[n:])]
			progress = progress || len(data) > 0
			if t.layer.Pending() {
				t.sendOwed(l, fd, t.layer.AppendControl(nil))
			}
		}
		switch {
		case err == io.EOF:
			t.eof = true
			continue
		case err != nil:
			t.fail(l, fd, err)
			continue
		case n > 0:
			continue
		}
		// Not a whole record: read more of it, unless the last read
		// showed the socket empty.
		if t.drained {
			if progress {
				return nil
			}
			return unix.EAGAIN
		}
		space := cap(t.ct) - len(t.ct)
		r, err := sysRead(fd, t.ct[len(t.ct):cap(t.ct)])
		if err == nil && r > 0 && r < space && !ep.hup {
			t.drained = true
		}
		switch {
		case err == unix.EAGAIN:
			t.release(&l.tls)
			if progress {
				return nil
			}
			return unix.EAGAIN
		case err != nil:
			t.err = err
		case r == 0:
			// A FIN without close_notify: a truncation attack or a
			// careless client. HTTP framing still tells a whole
			// message from a cut one, so it ends the stream as a FIN.
			t.eof = true
		default:
			t.ct = t.ct[:len(t.ct)+r]
		}
	}
	t.release(&l.tls)
	return nil
}

// fail ends the record stream on err, with the alert it calls for when
// fjord found the fault.
func (t *tlsConn) fail(l *loop, fd int, err error) {
	t.err = err
	var re *record.Error
	if errors.As(err, &re) && !re.Remote && !t.closeSent {
		t.closeSent = true
		if t.kernel {
			ctype, p := record.FatalAlert(re.Alert)
			_ = ktls.SendControl(fd, ctype, p)
			return
		}
		_, _ = sysWrite(fd, t.layer.AppendAlert(l.tls.out[:0], re.Alert))
	}
}

// sendOwed writes control records the layer owes, keeping what the
// socket does not take for the next write.
func (t *tlsConn) sendOwed(l *loop, fd int, recs []byte) {
	if len(t.owed) == 0 {
		n, err := sysWrite(fd, recs)
		if err == nil && n == len(recs) {
			return
		}
		if n < 0 {
			n = 0
		}
		recs = recs[n:]
	}
	t.owed = append(t.owed, recs...)
}

// read takes plaintext into buf: 0 with no error at the end of the
// stream, EAGAIN when the socket is drained and nothing is held.
func (t *tlsConn) read(l *loop, ep *endpoint, buf []byte) (int, error) {
	if t.buffered() == 0 {
		if err := t.fill(l, ep, 1); err != nil {
			return 0, err
		}
	}
	if t.buffered() == 0 {
		if t.err != nil {
			return 0, t.err
		}
		return 0, nil // eof
	}
	n := copy(buf, t.pt[t.ptOff:])
	t.ptOff += n
	t.release(&l.tls)
	return n, nil
}

// peek is read without taking: HTTP heads are looked at before they are
// consumed.
func (t *tlsConn) peek(l *loop, ep *endpoint, buf []byte) (int, error) {
	if err := t.fill(l, ep, len(buf)); err != nil && t.buffered() == 0 {
		return 0, err
	}
	if t.buffered() == 0 {
		if t.err != nil {
			return 0, t.err
		}
		return 0, nil
	}
	return copy(buf, t.pt[t.ptOff:]), nil
}

// seal returns the records that carry b, after any the socket still
// owes, in the loop's output buffer (valid until the next seal).
func (t *tlsConn) seal(l *loop, b []byte) []byte {
	return t.afterOwed(l, func(out []byte) []byte { return t.layer.Seal(out, b) })
}

// afterOwed returns, in the loop's output buffer (valid until its next
// use), the records the socket still owes, then those add appends.
func (t *tlsConn) afterOwed(l *loop, add func(out []byte) []byte) []byte {
	out := add(append(l.tls.out[:0], t.owed...))
	t.owed = t.owed[:0]
	l.tls.out = out[:0]
	return out
}

// closeNotify says close_notify, once, best effort: it goes out before
// the FIN, and a socket whose buffer is full has had its stash drained
// before a flow shuts it down.
func (t *tlsConn) closeNotify(l *loop, fd int) bool {
	if t.err != nil {
		return true
	}
	if t.kernel {
		// The kernel's socket may be full: the alert then waits, with
		// the FIN behind it, for the next EPOLLOUT.
		if !t.closeSent {
			t.closeSent = true
			ctype, p := record.CloseNotify()
			t.ctlOwed = append(t.ctlOwed, ctlRecord{ctype: ctype, p: p})
		}
		return t.flushControl(fd) != unix.EAGAIN
	}
	if t.closeSent {
		return true
	}
	t.closeSent = true
	_, _ = sysWrite(fd, t.afterOwed(l, t.layer.AppendClose))
	return true
}

// read takes bytes from the endpoint: plaintext through its record layer
// for TLS.
func (ep *endpoint) read(buf []byte) (int, error) {
	switch {
	case ep.tls == nil:
		return sysRead(ep.fd, buf)
	case ep.tls.kernel:
		return ep.tls.kernelRead(ep.s.l, ep, buf, false)
	}
	return ep.tls.read(ep.s.l, ep, buf)
}

// peek looks at the endpoint's next bytes without taking them.
func (ep *endpoint) peek(buf []byte) (int, error) {
	switch {
	case ep.tls == nil:
		return sysPeek(ep.fd, buf)
	case ep.tls.kernel:
		return ep.tls.kernelRead(ep.s.l, ep, buf, true)
	}
	return ep.tls.peek(ep.s.l, ep, buf)
}

// send writes b to the endpoint. n is how much of b it took, rest what
// the socket did not take in the form it must reach the socket (the tail
// of b, or of the records that seal b), for the caller to stash and
// splice later. err is EAGAIN when the socket is full.
func (ep *endpoint) send(b []byte) (n int, rest []byte, err error) {
	if err := ep.flushControl(); err != nil {
		return 0, b, err
	}
	if ep.splices() {
		n, err = sysWrite(ep.fd, b)
		if n < 0 {
			n = 0
		}
		return n, b[n:], err
	}
	recs := ep.tls.seal(ep.s.l, b)
	w, err := sysWrite(ep.fd, recs)
	if w < 0 {
		w = 0
	}
	return len(b), recs[w:], err
}

// shutWrite ends what the endpoint sends: close_notify, then a FIN. It
// reports false when a full kernel TLS socket did not take the
// close_notify: call it again at the next EPOLLOUT.
func (ep *endpoint) shutWrite() bool {
	if ep.tls != nil && !ep.tls.closeNotify(ep.s.l, ep.fd) {
		return false
	}
	_ = unix.Shutdown(ep.fd, unix.SHUT_WR)
	return true
}

// drainedBy reports whether a read that returned n of asked bytes leaves
// the endpoint with nothing to read until the next readiness edge: a
// short read of a plain socket; through a record layer, a short read of
// the socket with nothing left in the layer.
func (ep *endpoint) drainedBy(n, asked int) bool {
	if ep.hup {
		return false
	}
	if ep.tls == nil {
		return n < asked
	}
	t := ep.tls
	if t.kernel {
		return n < asked && t.buffered() == 0
	}
	return t.drained && t.buffered() == 0 && !wholeRecord(t.ct)
}

// wholeRecord reports whether b begins with a whole TLS record.
func wholeRecord(b []byte) bool {
	return len(b) >= 5 && len(b) >= 5+(int(b[3])<<8|int(b[4]))
}

// splices reports whether the endpoint's socket carries the stream's
// own bytes, which can be spliced: a plain socket, or one whose records
// the kernel seals and opens.
func (ep *endpoint) splices() bool { return ep.tls == nil || ep.tls.kernel }

// holds reports whether the endpoint has bytes read from its socket that
// its reader has not taken: no readiness edge will announce them.
func (ep *endpoint) holds() bool { return ep.tls != nil && ep.tls.buffered() > 0 }

// tlsDone is a handshake's outcome on its way to the loop. gen tells it
// from the outcome of an earlier attempt that the session gave up on.
type tlsDone struct {
	res *handshake.Result
	err error
	gen uint32
	sni string // a server handshake's SNI
}

// startHandshake hands the client connection to the handshake pool. The
// socket leaves the loop's epoll set until the handshake is done.
func (s *session) startHandshake() {
	l := s.l
	fd := s.cli.fd
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		l.eng.logf("%s: client %s: fcntl F_DUPFD_CLOEXEC: %v", s.fe.conf, s.src(), err)
		s.close(false)
		return
	}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.byFD[fd] = nil
	s.state = stHandshake
	s.hsStart = l.now
	s.rearm()
	ctx, cancel := context.WithCancel(context.Background())
	s.hsCancel = cancel
	local, remote := net.TCPAddrFromAddrPort(s.dst()), net.TCPAddrFromAddrPort(s.src())
	deadline := time.Now().Add(s.fe.conf.Timeouts.Client)
	if s.fe.conf.Timeouts.Client <= 0 {
		deadline = time.Time{}
	}
	eng, pool, cfg := l.eng, l.eng.handshakes, s.ln.tls
	s.hsGen++
	gen := s.hsGen
	go func() {
		res, err := pool.Server(ctx, dup, local, remote, cfg, deadline)
		if err == nil {
			eng.handshakeDone(true, res.State.DidResume, time.Now())
		}
		l.postHandshake(s, tlsDone{res: res, err: err, gen: gen})
	}()
}

// handshaken runs on the loop when the handshake is done.
func (s *session) handshaken(d tlsDone) {
	if s.hsCancel != nil {
		s.hsCancel()
		s.hsCancel = nil
	}
	if d.gen != s.hsGen || s.state != stHandshake && s.state != stServerHandshake {
		// The session ended, or gave this attempt up, while it ran.
		if d.res != nil {
			d.res.Wipe()
		}
		return
	}
	if s.state == stServerHandshake {
		s.serverHandshaken(d)
		return
	}
	l := s.l
	if d.err != nil {
		s.handshakeFailed(d.err)
		return
	}
	st := d.res.State
	info := TLSInfo{
		Version: st.Version, CipherSuite: st.CipherSuite, ServerName: st.ServerName,
		ALPN: st.NegotiatedProtocol, Resumed: st.DidResume, VerifyResult: int64(d.res.Verify),
	}
	if len(st.PeerCertificates) > 0 {
		info.PeerCertificate = st.PeerCertificates[0]
	}
	if err := s.cli.startTLS(record.Server, d); err != nil {
		s.handshakeFailed(err)
		return
	}
	s.cli.tls.info = info
	if err := l.register(s.cli.fd, &s.cli); err != nil {
		l.eng.logf("%s: register client: %v", s.fe.conf, err)
		s.close(false)
		return
	}
	// Whatever came behind the handshake is in the socket, and the edge
	// that announced it went to no one.
	s.cli.readable, s.cli.writable = true, true
	s.lastCli = l.now
	s.state = stRouting
	s.begin()
}

// startTLS gives the endpoint the record layer of its finished
// handshake, in user space or in the kernel (toKernel), and counts the
// session as current. An error ends the session as a failed handshake.
func (ep *endpoint) startTLS(role record.Role, d tlsDone) error {
	e := ep.s.l.eng
	layer, err := record.New(role, d.res.Keys)
	d.res.Wipe()
	if err != nil {
		return err
	}
	layer.SetMaxRecord(e.maxRecord)
	if d.res.Tickets != nil {
		layer.SetTicketSink(d.res.Tickets) // TLS 1.3 resumption: see tls/handshake
	}
	ep.tls = &tlsConn{layer: layer, ended: &e.tlsCounters.current, sni: d.sni}
	e.tlsCounters.current.Add(1)
	if err := ep.tls.toKernel(e, ep.fd, ep.unix); err != nil {
		return fmt.Errorf("kTLS: %w", err)
	}
	return nil
}

// handshakeFailed ends a session whose handshake failed, as HAProxy
// does: no response, a log line for the connection.
func (s *session) handshakeFailed(err error) {
	s.l.eng.tlsCounters.failures.Add(1)
	if s.logsTraffic() {
		s.logConnError(haproxyHandshakeError(err))
	} else {
		s.l.eng.logf("%s: client %s: SSL handshake failure: %v", s.fe.conf, s.src(), handshakeReason(err))
	}
	s.setTerm('C', 'R')
	s.close(false)
}

// haproxyHandshakeError is HAProxy's wording of a failed handshake in its
// connection error line (conn_err_code_str).
func haproxyHandshakeError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "Timeout during SSL handshake"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Connection closed during SSL handshake"
	}
	return "SSL handshake failure"
}

// handshakeReason says why a handshake failed in a line, without Go's
// wrapping of the syscall.
func handshakeReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout client"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the client closed the connection"
	}
	var re tls.RecordHeaderError
	if errors.As(err, &re) {
		return "not a TLS handshake (plain HTTP on a TLS port?)"
	}
	return err.Error()
}

// handedTLS is a TLS client connection handed off the loop (the stats
// page, the runtime API): its goroutine reads and writes through the
// session's record layer, on the connection duplicated for it.
type handedTLS struct {
	net.Conn // the socket: addresses, deadlines
	mu       sync.Mutex
	layer    *record.Layer
	in       []byte // ciphertext not opened yet
	pt       []byte // plaintext not read yet
	eof      bool
	closed   bool
	ended    *atomic.Int64 // the current TLS sessions, until Close
}

// handTLS moves what the loop holds of t (the head it peeked, in
// plaintext) to a connection of its own.
func handTLS(conn net.Conn, t *tlsConn, b *tlsBuffers) *handedTLS {
	h := &handedTLS{Conn: conn, layer: t.layer, eof: t.eof, ended: t.ended}
	t.ended = nil // the handed connection counts until it closes
	h.pt = append([]byte(nil), t.pt[t.ptOff:]...)
	h.in = append(make([]byte, 0, maxRecordWire), t.ct...)
	if len(t.owed) > 0 {
		_, _ = conn.Write(t.owed)
	}
	t.drop(b)
	return h
}

func (h *handedTLS) Read(p []byte) (int, error) {
	for {
		h.mu.Lock()
		if len(h.pt) > 0 {
			n := copy(p, h.pt)
			h.pt = h.pt[n:]
			h.mu.Unlock()
			return n, nil
		}
		if h.eof {
			h.mu.Unlock()
			return 0, io.EOF
		}
		n, data, err := h.layer.Open(h.in)
		var owed []byte
		if n > 0 {
			h.pt = append(h.pt[:0], data...)
			h.in = h.in[:copy(h.in, h.in[n:])]
			if h.layer.Pending() {
				owed = h.layer.AppendControl(nil)
			}
		}
		h.mu.Unlock()
		if owed != nil {
			if _, err := h.Conn.Write(owed); err != nil {
				return 0, err
			}
		}
		switch {
		case err == io.EOF:
			h.mu.Lock()
			h.eof = true
			h.mu.Unlock()
			continue
		case err != nil:
			return 0, err
		case n > 0:
			continue
		}
		r, err := h.Conn.Read(h.in[len(h.in):cap(h.in)])
		h.in = h.in[:len(h.in)+r]
		if err != nil && r == 0 {
			return 0, err
		}
	}
}

func (h *handedTLS) Write(p []byte) (int, error) {
	h.mu.Lock()
	recs := h.layer.Seal(nil, p)
	h.mu.Unlock()
	if _, err := h.Conn.Write(recs); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close says close_notify, then closes the socket.
func (h *handedTLS) Close() error {
	h.mu.Lock()
	var bye []byte
	if !h.closed {
		h.closed = true
		bye = h.layer.AppendClose(nil)
		if h.ended != nil {
			h.ended.Add(-1)
		}
	}
	h.mu.Unlock()
	if bye != nil {
		_ = h.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = h.Conn.Write(bye)
	}
	return h.Conn.Close()
}

// startServerHandshake hands the new server connection to the handshake
// pool, as startHandshake does the client's. It runs under "timeout
// connect", which began with the connection.
func (s *session) startServerHandshake(st *ServerTLS) {
	l := s.l
	fd := s.svr.fd
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		l.eng.logf("%s, server '%s': fcntl F_DUPFD_CLOEXEC: %v", s.be.Conf, s.srv.Name, err)
		s.dropServer()
		s.connectFailed()
		return
	}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.byFD[fd] = nil
	s.state = stServerHandshake
	s.rearm()
	cfg := st.Config
	sni := s.serverSNI(s.srv)
	if sni != cfg.ServerName {
		cfg = cfg.Clone()
		cfg.ServerName = sni
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.hsCancel = cancel
	addr := s.serverAddr(s.srv)
	remote := net.TCPAddrFromAddrPort(addr)
	var deadline time.Time
	if c := s.be.Conf.Timeouts.Connect; c > 0 {
		deadline = s.connStart.Add(c)
	}
	eng, pool := l.eng, l.eng.handshakes
	s.hsGen++
	gen := s.hsGen
	go func() {
		res, err := pool.Client(ctx, dup, nil, remote, cfg, deadline)
		if err == nil {
			eng.handshakeDone(false, res.State.DidResume, time.Now())
		}
		l.postHandshake(s, tlsDone{res: res, err: err, gen: gen, sni: sni})
	}()
}

// serverHandshaken runs on the loop when the server handshake is done.
func (s *session) serverHandshaken(d tlsDone) {
	l := s.l
	if d.err != nil {
		s.serverHandshakeFailed(d.err)
		return
	}
	if err := s.svr.startTLS(record.Client, d); err != nil {
		s.serverHandshakeFailed(err)
		return
	}
	if err := l.register(s.svr.fd, &s.svr); err != nil {
		l.eng.logf("%s: register server socket: %v", s.be.Conf, err)
		s.close(true)
		return
	}
	s.svr.readable, s.svr.writable = true, true
	s.state = stEstablished
	s.lastSrv = l.now
	s.serverReady()
}

// serverHandshakeFailed counts a failed server handshake as a failed
// connection: retried, redispatched, or a 503, as HAProxy does.
func (s *session) serverHandshakeFailed(err error) {
	if s.hsCancel != nil {
		s.hsCancel()
		s.hsCancel = nil
	}
	s.l.eng.logf("%s, server '%s': SSL handshake failure: %v", s.be.Conf, s.srv.Name, handshakeReason(err))
	s.l.eng.tlsCounters.serverFailures.Add(1)
	// Back in the epoll set's absence, the socket only needs closing.
	s.dropServer()
	s.state = stConnecting
	s.connectFailed()
}

// hostName is a Host field's host, without its port: an SNI name.
func hostName(host []byte) string {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		host = host[:i]
	}
	if len(host) > 0 && host[0] == '[' {
		return "" // an IP literal names no server (RFC 6066, section 3)
	}
	return string(host)
}
