package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/tls/ktls"
	"github.com/fjordlb/fjord/tls/record"
)

// Kernel TLS. Where the kernel has kTLS (Options.KernelTLS), a session's
// traffic keys go to the kernel as soon as its handshake is done: from
// then on its socket carries plaintext, and the loop reads, writes and
// splices it exactly as a plain socket's. The record layer stays with
// the session for what the kernel leaves to its owner: a record without
// application data (an alert, a KeyUpdate, a ticket) makes read fail
// with EIO and splice with EINVAL; the loop then takes it with
// ktls.ReadControl and gives it to the layer, and sends what the layer
// owes the peer with ktls.SendControl, for the kernel to seal.

// toKernel hands the session's records to the kernel where the engine
// may (Options.KernelTLS; TCP sockets only). It returns nil with the session still in user
// space when the kernel took nothing (no cipher for the suite, say), and
// the layer then forgets its raw keys; any other error leaves the socket
// unusable.
func (t *tlsConn) toKernel(e *Engine, fd int, unixSocket bool) error {
	if !e.kernelTLS || unixSocket { // kTLS is a TCP upper layer
		t.layer.ForgetKeys()
		return nil
	}
	in, out := t.layer.Material()
	err := ktls.Enable(fd, t.layer.Version(), t.layer.Suite(), in, out)
	clear(in.Key)
	clear(out.Key)
	switch {
	case err == nil:
		t.kernel = true
		// The kernel opens the server's tickets, and only their sealed
		// records make sessions (see docs/tls.md): the crypto/tls
		// connection kept for them goes.
		t.layer.SetTicketSink(nil)
		e.tlsCounters.kernel.Add(1)
		return nil
	case errors.Is(err, ktls.ErrPlain):
		t.layer.ForgetKeys()
		if e.kernelFallbackLogged.CompareAndSwap(false, true) {
			e.logf("kTLS: %v: the session stays in the user-space record layer (logged once)", err)
		}
		return nil
	}
	return err
}

// kernelRead reads (or, with peek, peeks) plaintext from a socket whose
// records the kernel opens, taking the records without data on the way.
func (t *tlsConn) kernelRead(l *loop, ep *endpoint, buf []byte, peek bool) (int, error) {
	for {
		if t.buffered() > 0 {
			n := copy(buf, t.pt[t.ptOff:])
			if !peek {
				t.ptOff += n
				t.release(&l.tls)
			}
			return n, nil
		}
		if t.eof {
			return 0, nil
		}
		if t.err != nil {
			return 0, t.err
		}
		var n int
		var err error
		if peek {
			n, err = sysPeek(ep.fd, buf)
		} else {
			n, err = sysRead(ep.fd, buf)
		}
		if err == unix.EBADMSG {
			return 0, t.badRecord(l, ep.fd)
		}
		if err != unix.EIO {
			return n, err
		}
		if err := t.control(l, ep.fd); err != nil {
			return 0, err
		}
	}
}

// badRecord ends a session whose kernel found a record that does not
// authenticate (EBADMSG): the peer is told, with bad_record_mac, as the
// user-space layer tells it.
func (t *tlsConn) badRecord(l *loop, fd int) error {
	const alertBadRecordMAC = 20 // RFC 8446, section 6.2
	t.fail(l, fd, &record.Error{Alert: alertBadRecordMAC, Detail: "a record does not authenticate (kTLS: EBADMSG)"})
	return t.err
}

// control takes the record that a read (EIO) or a splice (EINVAL) of a
// kernel TLS socket refused because it carries no application data, and
// handles it: close_notify ends the stream, a KeyUpdate gives the kernel
// the peer's next key (and ours, when asked), a fatal alert ends the
// session.
func (t *tlsConn) control(l *loop, fd int) error {
	buf := l.tls.controlBuffer()
	ctype, n, err := ktls.ReadControl(fd, buf)
	switch {
	case errors.Is(err, unix.EAGAIN):
		return unix.EAGAIN
	case err != nil:
		t.err = err
		return err
	case n == 0:
		t.eof = true
		return nil
	case ktls.IsData(ctype):
		// The refusal had another cause, and the read took data: it
		// waits in the plaintext buffer, ahead of the socket.
		if t.pt == nil {
			t.pt = l.tls.getPT()
		}
		t.pt = append(t.pt, buf[:n]...)
		clear(buf[:n])
		return nil
	}
	err = t.handleControl(l, fd, ctype, buf[:n])
	clear(buf[:n])
	return err
}

// handleControl hands a record without data, of content type ctype and
// plaintext p, to the layer, and does what it calls for: the end of the
// stream at close_notify, the peer's next key to the kernel at a
// KeyUpdate, what the layer owes the peer onto the socket. l may be nil
// off the loop: a kernel session needs no loop buffer for it.
func (t *tlsConn) handleControl(l *loop, fd int, ctype byte, p []byte) error {
	rekeyIn, err := t.layer.Handle(ctype, p)
	switch {
	case err == io.EOF:
		t.eof = true
		return nil
	case err != nil:
		t.fail(l, fd, err)
		return err
	}
	if rekeyIn {
		in, out := t.layer.Material()
		err := ktls.SetKey(fd, ktls.RX, t.layer.Version(), t.layer.Suite(), in)
		clear(in.Key)
		clear(out.Key)
		if err != nil {
			// Kernels before TLS 1.3 rekeying (6.14) refuse with EBUSY:
			// what follows cannot be opened, and the session ends.
			t.err = fmt.Errorf("the peer's KeyUpdate: %w", err)
			return t.err
		}
	}
	if t.layer.Pending() {
		return t.sendControl(fd)
	}
	return nil
}

// ctlRecord is a control record on its way to a kernel TLS socket: its
// content type and plaintext, and, for our KeyUpdate, the write key the
// kernel takes once the record has gone out.
type ctlRecord struct {
	ctype byte
	p     []byte
	rekey *record.Material
}

// sendControl queues what the layer owes the peer (a KeyUpdate's answer,
// a refusal of renegotiation), for the kernel to seal, and sends what
// the socket takes. A full socket (EAGAIN) is not an error: the rest
// goes before the next write.
func (t *tlsConn) sendControl(fd int) error {
	rekeyOut := t.layer.TakeControl(func(ctype byte, p []byte) {
		t.ctlOwed = append(t.ctlOwed, ctlRecord{ctype: ctype, p: bytes.Clone(p)})
	})
	if rekeyOut {
		// The KeyUpdate is the last record TakeControl gave; the key
		// after it is the layer's out key now.
		in, out := t.layer.Material()
		clear(in.Key)
		t.ctlOwed[len(t.ctlOwed)-1].rekey = &out
	}
	if err := t.flushControl(fd); err != nil && err != unix.EAGAIN {
		return err
	}
	return nil
}

// flushControl sends the queued control records, in order, each followed
// by the write key it brings: EAGAIN when the socket is full.
func (t *tlsConn) flushControl(fd int) error {
	for len(t.ctlOwed) > 0 {
		r := &t.ctlOwed[0]
		err := ktls.SendControl(fd, r.ctype, r.p)
		if errors.Is(err, unix.EAGAIN) {
			return unix.EAGAIN
		}
		if err == nil && r.rekey != nil {
			err = ktls.SetKey(fd, ktls.TX, t.layer.Version(), t.layer.Suite(), *r.rekey)
			clear(r.rekey.Key)
		}
		if err != nil {
			t.err = fmt.Errorf("kTLS control record: %w", err)
			return t.err
		}
		t.ctlOwed = t.ctlOwed[1:]
	}
	t.ctlOwed = nil
	return nil
}

// flushControl sends the control records the endpoint's kernel TLS
// socket owes before any other byte: nil when there are none left.
func (ep *endpoint) flushControl() error {
	if ep.tls == nil || len(ep.tls.ctlOwed) == 0 {
		return nil
	}
	return ep.tls.flushControl(ep.fd)
}

// controlBuffer is the loop's buffer for records without data: one at a
// time, and rare, so one buffer serves every session of the loop.
func (b *tlsBuffers) controlBuffer() []byte {
	if b.control == nil {
		b.control = make([]byte, record.MaxPlaintext+256)
	}
	return b.control
}

// handedKTLS is a kernel TLS client connection handed off the loop (the
// stats page, the runtime API): the socket reads and writes plaintext,
// and its records without data are taken as on the loop.
type handedKTLS struct {
	net.Conn
	raw    syscall.RawConn
	mu     sync.Mutex
	t      tlsConn // the session's layer and end of stream, off the loop
	pt     []byte  // plaintext the loop held
	buf    []byte  // a record without data, while it is handled
	closed bool
	ended  *atomic.Int64
}

// handKTLS moves what the loop holds of t to a connection of its own.
func handKTLS(conn net.Conn, t *tlsConn, b *tlsBuffers) (net.Conn, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		conn.Close()
		t.drop(b)
		return nil, errors.New("a handed-off connection without a descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		conn.Close()
		t.drop(b)
		return nil, err
	}
	h := &handedKTLS{Conn: conn, raw: raw, t: tlsConn{layer: t.layer, kernel: true, eof: t.eof}, ended: t.ended}
	t.ended = nil // the handed connection counts until it closes
	h.pt = append([]byte(nil), t.pt[t.ptOff:]...)
	t.drop(b)
	return h, nil
}

func (h *handedKTLS) Read(p []byte) (int, error) {
	for {
		h.mu.Lock()
		if len(h.pt) > 0 {
			n := copy(p, h.pt)
			h.pt = h.pt[n:]
			h.mu.Unlock()
			return n, nil
		}
		eof := h.t.eof
		h.mu.Unlock()
		if eof {
			return 0, io.EOF
		}
		n, err := h.Conn.Read(p)
		if !errors.Is(err, unix.EIO) {
			return n, err
		}
		if err := h.control(); err != nil {
			return 0, err
		}
	}
}

// control takes one record without data, waiting for the socket, and
// handles it as the loop does (tlsConn.handleControl).
func (h *handedKTLS) control() error {
	var cerr error
	err := h.raw.Read(func(fd uintptr) bool {
		// Not held across the wait: Close takes the lock too.
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.buf == nil {
			h.buf = make([]byte, record.MaxPlaintext+256)
		}
		var ctype byte
		var n int
		ctype, n, cerr = ktls.ReadControl(int(fd), h.buf)
		switch {
		case errors.Is(cerr, unix.EAGAIN):
			return false
		case cerr != nil:
		case n == 0:
			h.t.eof = true
		case ktls.IsData(ctype):
			h.pt = append(h.pt, h.buf[:n]...)
		default:
			cerr = h.t.handleControl(nil, int(fd), ctype, h.buf[:n])
			if cerr == nil && len(h.t.ctlOwed) > 0 {
				cerr = errors.New("kTLS control record: the socket is full")
			}
		}
		clear(h.buf[:n])
		return true
	})
	if err != nil {
		return err
	}
	return cerr
}

// Close says close_notify, then closes the socket.
func (h *handedKTLS) Close() error {
	h.mu.Lock()
	first := !h.closed
	h.closed = true
	if first && h.ended != nil {
		h.ended.Add(-1)
	}
	h.mu.Unlock()
	if first {
		_ = h.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = h.raw.Write(func(fd uintptr) bool {
			ctype, p := record.CloseNotify()
			return !errors.Is(ktls.SendControl(int(fd), ctype, p), unix.EAGAIN)
		})
	}
	return h.Conn.Close()
}
