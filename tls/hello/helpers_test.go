package hello

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/fjordlb/fjord/tls/testcert"
)

// captureConn is a net.Conn for a crypto/tls endpoint that records what
// the endpoint writes and gives it in to read (then EOF), so that a
// handshake's first flight is captured without a peer.
type captureConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *captureConn) Read(p []byte) (int, error) {
	if c.in == nil {
		return 0, io.EOF
	}
	return c.in.Read(p)
}
func (c *captureConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *captureConn) Close() error                { return nil }
func (c *captureConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443}
}
func (c *captureConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *captureConn) SetDeadline(time.Time) error      { return nil }
func (c *captureConn) SetReadDeadline(time.Time) error  { return nil }
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

// clientHello is the first flight of a crypto/tls client with cfg.
func clientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c := &captureConn{}
	if err := tls.Client(c, cfg).Handshake(); err == nil {
		t.Fatal("a handshake without a server succeeded")
	}
	if c.out.Len() == 0 {
		t.Fatal("the client wrote nothing")
	}
	return c.out.Bytes()
}

// serverHello is the first flight of a crypto/tls server answering the
// ClientHello in hello.
func serverHello(t testing.TB, hello []byte) []byte {
	t.Helper()
	c := &captureConn{in: bytes.NewReader(hello)}
	if err := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{mustCert(t)}}).Handshake(); err == nil {
		t.Fatal("a handshake without a client succeeded")
	}
	if c.out.Len() == 0 {
		t.Fatal("the server wrote nothing")
	}
	return c.out.Bytes()
}

// resumingHello is the ClientHello of a TLS 1.2 client resuming, with a
// session ticket, the session of a first handshake over net.Pipe.
func resumingHello(t testing.TB) []byte {
	t.Helper()
	cache := tls.NewLRUClientSessionCache(1)
	cfg := &tls.Config{ServerName: "fjord.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, ClientSessionCache: cache}
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{mustCert(t)}})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake() }()
	if err := tls.Client(cc, cfg).Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return clientHello(t, cfg)
}

// spec builds a ClientHello field by field, for hellos crypto/tls does
// not send: each field left zero takes a valid value.
type spec struct {
	version   uint16 // 0x0303 when zero
	sessionID []byte
	suites    []uint16 // TLS_AES_128_GCM_SHA256 when nil
	methods   []byte   // null compression when nil
	noExts    bool     // no extensions block at all
	exts      []ext
	rawExts   []byte // the extensions block's content as is, length lies included
	trailer   []byte // bytes after the extensions block
}

type ext struct {
	typ  uint16
	data []byte
}

// body is the ClientHello's body, without the handshake header.
func (s spec) body() []byte {
	var b cryptobyte.Builder
	v := s.version
	if v == 0 {
		v = 0x0303
	}
	b.AddUint16(v)
	b.AddBytes(make([]byte, 32))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(s.sessionID) })
	suites := s.suites
	if suites == nil {
		suites = []uint16{tls.TLS_AES_128_GCM_SHA256}
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, c := range suites {
			b.AddUint16(c)
		}
	})
	methods := s.methods
	if methods == nil {
		methods = []byte{0}
	}
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(methods) })
	if !s.noExts {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range s.exts {
				b.AddUint16(e.typ)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
			}
			b.AddBytes(s.rawExts)
		})
	}
	b.AddBytes(s.trailer)
	return b.BytesOrPanic()
}

// message is the handshake message: header and body.
func (s spec) message() []byte { return handshake(1, s.body()) }

// stream is the message in one record, as a client sends it.
func (s spec) stream() []byte { return record(recordHandshake, 0x0301, s.message()) }

func handshake(typ uint8, body []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(body) })
	return b.BytesOrPanic()
}

func record(typ uint8, version uint16, frag []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint16(version)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(frag) })
	return b.BytesOrPanic()
}

// fragment splits the stream's first handshake message into handshake
// records of the sizes given (the last one takes the rest), keeping the
// first record's version, and leaves what follows the message as is.
func fragment(t testing.TB, stream []byte, sizes ...int) []byte {
	t.Helper()
	s := cryptobyte.String(stream)
	var typ uint8
	var version uint16
	var frag, msgLen cryptobyte.String
	if !s.ReadUint8(&typ) || !s.ReadUint16(&version) || !s.ReadUint16LengthPrefixed(&frag) {
		t.Fatal("fragment: not a record")
	}
	msg := cryptobyte.String(frag)
	if !msg.Skip(1) || !msg.ReadUint24LengthPrefixed(&msgLen) || !msg.Empty() {
		t.Fatal("fragment: not one whole message in one record")
	}
	var out []byte
	rest := []byte(frag)
	for _, n := range sizes {
		out = append(out, record(recordHandshake, version, rest[:n])...)
		rest = rest[n:]
	}
	out = append(out, record(recordHandshake, version, rest)...)
	return append(out, s...)
}

// even splits the stream's first handshake message into records of n
// bytes each.
func even(t testing.TB, stream []byte, n int) []byte {
	t.Helper()
	var sizes []int
	for total := int(stream[3])<<8 | int(stream[4]); total > n; total -= n {
		sizes = append(sizes, n)
	}
	return fragment(t, stream, sizes...)
}

func sniExt(names ...string) ext {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, n := range names {
			b.AddUint8(0)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
		}
	})
	return ext{extServerName, b.BytesOrPanic()}
}

func alpnExt(protos ...string) ext {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, p := range protos {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
		}
	})
	return ext{extALPN, b.BytesOrPanic()}
}

// sslv2 is an SSLv2 CLIENT-HELLO with a two-byte header (a three-byte one
// with padding when pad > 0) offering version, with the given lengths of
// cipher specs, session id and challenge.
func sslv2(version uint16, ciphers, session, challenge, pad int) []byte {
	var body cryptobyte.Builder
	body.AddUint8(1)
	body.AddUint16(version)
	body.AddUint16(uint16(ciphers))
	body.AddUint16(uint16(session))
	body.AddUint16(uint16(challenge))
	body.AddBytes(bytes.Repeat([]byte{0x07}, ciphers+session+challenge))
	m := body.BytesOrPanic()
	if pad == 0 {
		return append([]byte{0x80 | byte(len(m)>>8), byte(len(m))}, m...)
	}
	out := append([]byte{byte(len(m) >> 8), byte(len(m)), byte(pad)}, m...)
	return append(out, make([]byte, pad)...)
}

// sameResult reports whether two results of Parse are the same answer.
func sameResult(h1 Hello, err1 error, h2 Hello, err2 error) bool {
	if (err1 == nil) != (err2 == nil) {
		return false
	}
	if err1 != nil {
		return err1.Error() == err2.Error()
	}
	return equalHello(h1, h2)
}

func equalHello(a, b Hello) bool { return reflect.DeepEqual(a, b) }

// checkPrefixes fails unless every proper prefix of stream gives
// ErrNeedMore, for a stream Parse accepts.
func checkPrefixes(t *testing.T, stream []byte) {
	t.Helper()
	for n := range len(stream) {
		if h, err := Parse(stream[:n]); err != ErrNeedMore { // unwrapped, so that callers may compare
			t.Fatalf("a prefix of %d of %d bytes gave %+v, %v; want ErrNeedMore", n, len(stream), h, err)
		}
	}
}

func mustCert(t testing.TB) tls.Certificate {
	c, _ := testcert.SelfSigned(t, "fjord.test")
	return c
}
