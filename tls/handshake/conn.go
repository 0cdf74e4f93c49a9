package handshake

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"time"
)

// recordConn is the net.Conn crypto/tls handshakes over: a duplicate of
// the session's socket, read one TLS record at a time so that crypto/tls
// never reads past the handshake's last record (what follows belongs to
// the record layer, and stays in the socket), and with every record
// in both directions kept for handOver.
type recordConn struct {
	f             *os.File
	local, remote net.Addr
	cpu           *cpuTokens
	hs            *hsState // what this handshake learns beside crypto/tls's state

	// The record being read: its header, then how much of its body is
	// still to come.
	hdr    [5]byte
	hdrN   int
	remain int

	in, out recordLog

	// After the hand-over (handedOver), the socket is the loop's: reads
	// take only what feed gave, fed[fedOff:], then fail with errFed,
	// and writes are dropped.
	after  bool
	fed    []byte
	fedOff int
}

// errFed ends a read that took all that was fed. It is a temporary
// net.Error, so that crypto/tls keeps the connection usable after it.
var errFed net.Error = fedError{}

type fedError struct{}

func (fedError) Error() string   { return "handshake: nothing more was fed" }
func (fedError) Timeout() bool   { return true }
func (fedError) Temporary() bool { return true }

// handedOver ends the connection's use of the socket, which its
// descriptor (closed after the handshake) no longer reaches.
func (c *recordConn) handedOver() {
	c.after = true
	c.in, c.out = recordLog{}, recordLog{}
}

// feed gives what the next reads take, after the hand-over.
func (c *recordConn) feed(b []byte) { c.fed, c.fedOff = b, 0 }

// maxLogged bounds what a handshake may send or receive: a full
// handshake with a long chain is some KB; a peer that goes on past this
// is not doing a handshake.
const maxLogged = 256 << 10

var errTooLong = errors.New("the handshake went on past 256 KiB")

// recordLog keeps the records of one direction as they pass.
type recordLog struct {
	buf []byte
	err error
}

func (l *recordLog) add(p []byte) {
	if len(l.buf)+len(p) > maxLogged {
		l.err = errTooLong
		return
	}
	l.buf = append(l.buf, p...)
}

// records splits the log into whole records.
func (l *recordLog) records() [][]byte {
	var out [][]byte
	b := l.buf
	for len(b) >= 5 {
		n := 5 + int(binary.BigEndian.Uint16(b[3:5]))
		if len(b) < n {
			break
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func (c *recordConn) Read(p []byte) (int, error) {
	if c.after {
		if c.fedOff == len(c.fed) {
			return 0, errFed
		}
		n := copy(p, c.fed[c.fedOff:])
		c.fedOff += n
		return n, nil
	}
	if c.in.err != nil {
		return 0, c.in.err
	}
	if c.hdrN < len(c.hdr) {
		p = p[:min(len(p), len(c.hdr)-c.hdrN)]
	} else {
		p = p[:min(len(p), c.remain)]
	}
	c.cpu.release()
	n, err := c.f.Read(p)
	c.cpu.acquire()
	c.in.add(p[:n])
	if c.hdrN < len(c.hdr) {
		c.hdrN += copy(c.hdr[c.hdrN:], p[:n])
		if c.hdrN == len(c.hdr) {
			c.remain = int(binary.BigEndian.Uint16(c.hdr[3:5]))
		}
	} else {
		c.remain -= n
	}
	if c.hdrN == len(c.hdr) && c.remain == 0 {
		c.hdrN = 0
	}
	return n, err
}

func (c *recordConn) Write(p []byte) (int, error) {
	if c.after {
		return 0, errFed // an alert about a ticket: the loop has the socket
	}
	if c.out.err != nil {
		return 0, c.out.err
	}
	c.out.add(p)
	c.cpu.release()
	defer c.cpu.acquire()
	return c.f.Write(p)
}

// Close ends what waits on the duplicate (crypto/tls closes the conn
// when the context of HandshakeContext ends); run closes it.
func (c *recordConn) Close() error {
	if c.after {
		return nil
	}
	return c.f.SetDeadline(time.Unix(1, 0))
}

func (c *recordConn) LocalAddr() net.Addr                { return c.local }
func (c *recordConn) RemoteAddr() net.Addr               { return c.remote }
func (c *recordConn) SetDeadline(t time.Time) error      { return c.f.SetDeadline(t) }
func (c *recordConn) SetReadDeadline(t time.Time) error  { return c.f.SetReadDeadline(t) }
func (c *recordConn) SetWriteDeadline(t time.Time) error { return c.f.SetWriteDeadline(t) }
