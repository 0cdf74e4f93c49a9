package record

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"testing"
)

// testKeys are keys for suite as a handshake would hand them over: the
// same for both ends.
func testKeys(version, suite uint16) Keys {
	k := Keys{Version: version, Suite: suite}
	if version == tls.VersionTLS13 {
		k.ClientSecret = bytes.Repeat([]byte{1}, suites[suite].hash().Size())
		k.ServerSecret = bytes.Repeat([]byte{2}, suites[suite].hash().Size())
	} else {
		k.MasterSecret = bytes.Repeat([]byte{3}, 48)
		k.ClientRandom = bytes.Repeat([]byte{4}, 32)
		k.ServerRandom = bytes.Repeat([]byte{5}, 32)
		k.ClientSeq, k.ServerSeq = 1, 1 // past the Finished messages
	}
	return k
}

var allSuites = []struct {
	name           string
	version, suite uint16
}{
	{"TLS1.3/AES-128-GCM", tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256},
	{"TLS1.3/AES-256-GCM", tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384},
	{"TLS1.3/ChaCha20", tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256},
	{"TLS1.2/AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	{"TLS1.2/AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	{"TLS1.2/ChaCha20", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
}

// pair is both ends of one session.
func pair(t testing.TB, version, suite uint16) (server, client *Layer) {
	t.Helper()
	var err error
	if server, err = New(Server, testKeys(version, suite)); err != nil {
		t.Fatal(err)
	}
	if client, err = New(Client, testKeys(version, suite)); err != nil {
		t.Fatal(err)
	}
	return server, client
}

// openAll opens every record of wire and returns the data they carry,
// and the first error.
func openAll(l *Layer, wire []byte) ([]byte, error) {
	var out []byte
	for len(wire) > 0 {
		n, data, err := l.Open(wire)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, io.ErrUnexpectedEOF
		}
		out = append(out, data...)
		wire = wire[n:]
	}
	return out, nil
}

func TestSealOpen(t *testing.T) {
	for _, s := range allSuites {
		t.Run(s.name, func(t *testing.T) {
			srv, cli := pair(t, s.version, s.suite)
			for _, size := range []int{1, 100, MaxPlaintext, MaxPlaintext + 1, 5*MaxPlaintext - 3} {
				msg := bytes.Repeat([]byte{byte(size)}, size)
				wire := cli.Seal(nil, msg)
				if want := (size + MaxPlaintext - 1) / MaxPlaintext; countRecords(wire) != want {
					t.Errorf("%d bytes in %d records, want %d", size, countRecords(wire), want)
				}
				if got, err := openAll(srv, wire); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("client to server, %d bytes: %v", size, err)
				}
				wire = srv.Seal(nil, msg)
				if got, err := openAll(cli, wire); err != nil || !bytes.Equal(got, msg) {
					t.Fatalf("server to client, %d bytes: %v", size, err)
				}
			}
		})
	}
}

func countRecords(wire []byte) int {
	n := 0
	for len(wire) >= headerLen {
		wire = wire[headerLen+(int(wire[3])<<8|int(wire[4])):]
		n++
	}
	return n
}

// A record that has not all arrived is not opened: Open asks for more,
// and takes it whole when it has come.
func TestOpenWaitsForAWholeRecord(t *testing.T) {
	srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	wire := cli.Seal(nil, []byte("hello"))
	for i := range len(wire) {
		if n, data, err := srv.Open(wire[:i]); n != 0 || data != nil || err != nil {
			t.Fatalf("with %d of %d bytes: %d, %q, %v", i, len(wire), n, data, err)
		}
	}
	if n, data, err := srv.Open(wire); n != len(wire) || string(data) != "hello" || err != nil {
		t.Fatalf("whole: %d, %q, %v", n, data, err)
	}
}

// wantFault checks that err is the layer's own fault with alert.
func wantFault(t *testing.T, err error, alert uint8) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Remote || e.Alert != alert {
		t.Fatalf("err = %v, want the layer to find %s", err, tls.AlertError(alert))
	}
}

func TestBadRecords(t *testing.T) {
	for _, s := range allSuites {
		t.Run(s.name, func(t *testing.T) {
			t.Run("a changed byte", func(t *testing.T) {
				srv, cli := pair(t, s.version, s.suite)
				wire := cli.Seal(nil, []byte("hello"))
				wire[len(wire)-1] ^= 1
				_, _, err := srv.Open(wire)
				wantFault(t, err, alertBadRecordMAC)
			})
			t.Run("a record replayed", func(t *testing.T) {
				srv, cli := pair(t, s.version, s.suite)
				wire := cli.Seal(nil, []byte("hello"))
				replay := bytes.Clone(wire)
				if _, err := openAll(srv, wire); err != nil {
					t.Fatal(err)
				}
				_, _, err := srv.Open(replay)
				wantFault(t, err, alertBadRecordMAC)
			})
			t.Run("too long", func(t *testing.T) {
				srv, _ := pair(t, s.version, s.suite)
				_, _, err := srv.Open([]byte{typeApplicationData, 3, 3, 0xff, 0xff})
				wantFault(t, err, alertRecordOverflow)
			})
			t.Run("not TLS", func(t *testing.T) {
				srv, _ := pair(t, s.version, s.suite)
				_, _, err := srv.Open([]byte("GET / HTTP/1.1\r\n"))
				wantFault(t, err, alertDecodeError)
			})
			t.Run("too short to be sealed", func(t *testing.T) {
				srv, _ := pair(t, s.version, s.suite)
				_, _, err := srv.Open([]byte{typeApplicationData, 3, 3, 0, 3, 1, 2, 3})
				wantFault(t, err, alertBadRecordMAC)
			})
		})
	}
}

func TestTLS13InnerContent(t *testing.T) {
	t.Run("an unprotected record", func(t *testing.T) {
		srv, _ := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, _, err := srv.Open([]byte{typeHandshake, 3, 3, 0, 1, 0})
		wantFault(t, err, alertUnexpectedMessage)
	})
	t.Run("padding only", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		// A type of 0 is what padding looks like: no content type.
		_, _, err := srv.Open(cli.seal(nil, 0, []byte{0, 0}))
		wantFault(t, err, alertUnexpectedMessage)
	})
	t.Run("padded data", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		// "hi", its type, then padding, sealed as application data.
		wire := cli.seal(nil, 0, []byte{'h', 'i', typeApplicationData, 0, 0, 0})
		if _, data, err := srv.Open(wire); err != nil || string(data) != "hi" {
			t.Fatalf("%q, %v", data, err)
		}
	})
	t.Run("a change cipher spec after the handshake", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, _, err := srv.Open(cli.seal(nil, typeChangeCipherSpec, []byte{1}))
		wantFault(t, err, alertUnexpectedMessage)
	})
}

func TestAlerts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  uint16
		alert    []byte
		wantEOF  bool
		wantPeer uint8 // 0: none
	}{
		{name: "close_notify", version: tls.VersionTLS13, alert: []byte{levelWarning, alertCloseNotify}, wantEOF: true},
		{name: "close_notify 1.2", version: tls.VersionTLS12, alert: []byte{levelWarning, alertCloseNotify}, wantEOF: true},
		{name: "user_canceled", version: tls.VersionTLS13, alert: []byte{levelWarning, alertUserCanceled}},
		{name: "a TLS 1.2 warning", version: tls.VersionTLS12, alert: []byte{levelWarning, alertNoRenegotiation}},
		{name: "a TLS 1.3 warning is fatal", version: tls.VersionTLS13, alert: []byte{levelWarning, alertNoRenegotiation}, wantPeer: alertNoRenegotiation},
		{name: "fatal", version: tls.VersionTLS12, alert: []byte{levelFatal, alertDecodeError}, wantPeer: alertDecodeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			suite := uint16(tls.TLS_AES_128_GCM_SHA256)
			if tc.version == tls.VersionTLS12 {
				suite = tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
			}
			srv, cli := pair(t, tc.version, suite)
			_, _, err := srv.Open(cli.seal(nil, typeAlert, tc.alert))
			var e *Error
			switch {
			case tc.wantEOF && err != io.EOF:
				t.Fatalf("err = %v, want io.EOF", err)
			case tc.wantPeer != 0 && (!errors.As(err, &e) || !e.Remote || e.Alert != tc.wantPeer):
				t.Fatalf("err = %v, want the peer's %s", err, tls.AlertError(tc.wantPeer))
			case !tc.wantEOF && tc.wantPeer == 0 && err != nil:
				t.Fatalf("err = %v, want the alert passed over", err)
			}
		})
	}
	t.Run("malformed", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, _, err := srv.Open(cli.seal(nil, typeAlert, []byte{1, 0, 0}))
		wantFault(t, err, alertDecodeError)
	})
	t.Run("close_notify sent", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		if _, err := openAll(cli, srv.AppendClose(nil)); err != io.EOF {
			t.Fatalf("err = %v, want io.EOF", err)
		}
	})
	t.Run("fatal alert sent", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
		_, err := openAll(cli, srv.AppendAlert(nil, alertBadRecordMAC))
		var e *Error
		if !errors.As(err, &e) || !e.Remote || e.Alert != alertBadRecordMAC {
			t.Fatalf("err = %v", err)
		}
	})
}

// KeyUpdate: either end renews its keys, asks the other to, and both
// go on; the message may come in pieces, but not run across the key
// change.
func TestKeyUpdate(t *testing.T) {
	for _, s := range allSuites[:3] {
		t.Run(s.name, func(t *testing.T) {
			srv, cli := pair(t, s.version, s.suite)
			if !srv.UpdateKeys(true) {
				t.Fatal("no key update in TLS 1.3")
			}
			wire := srv.Seal(nil, []byte("after"))
			if got, err := openAll(cli, wire); err != nil || string(got) != "after" {
				t.Fatalf("server's new keys: %q, %v", got, err)
			}
			if !cli.Pending() {
				t.Fatal("the client owes no KeyUpdate after being asked for one")
			}
			wire = cli.Seal(nil, []byte("answered"))
			if got, err := openAll(srv, wire); err != nil || string(got) != "answered" {
				t.Fatalf("client's new keys: %q, %v", got, err)
			}
			if srv.Pending() || cli.Pending() {
				t.Fatal("an update was answered with another request")
			}
		})
	}
	t.Run("in two records", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		wire := cli.seal(nil, typeHandshake, []byte{msgKeyUpdate, 0})
		wire = cli.seal(wire, typeHandshake, []byte{0, 1, 0})
		next, err := cli.update(cli.out)
		if err != nil {
			t.Fatal(err)
		}
		cli.out = next
		wire = cli.Seal(wire, []byte("x"))
		if got, err := openAll(srv, wire); err != nil || string(got) != "x" {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("across the key change", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, err := openAll(srv, cli.seal(nil, typeHandshake, []byte{msgKeyUpdate, 0, 0, 1, 0, msgKeyUpdate}))
		wantFault(t, err, alertUnexpectedMessage)
	})
	t.Run("malformed", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, err := openAll(srv, cli.seal(nil, typeHandshake, []byte{msgKeyUpdate, 0, 0, 1, 2}))
		wantFault(t, err, alertDecodeError)
	})
	t.Run("TLS 1.2 has none", func(t *testing.T) {
		srv, _ := pair(t, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
		if srv.UpdateKeys(true) || srv.Pending() {
			t.Fatal("a TLS 1.2 key update")
		}
	})
	t.Run("after many records", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		srv.out.seq = keyUpdateAfter
		cli.in.seq = keyUpdateAfter
		wire := srv.Seal(nil, []byte("late"))
		if countRecords(wire) != 2 {
			t.Fatalf("%d records, want a KeyUpdate before the data", countRecords(wire))
		}
		if got, err := openAll(cli, wire); err != nil || string(got) != "late" {
			t.Fatalf("%q, %v", got, err)
		}
		if srv.out.seq != 1 {
			t.Fatalf("sequence %d under the new key", srv.out.seq)
		}
	})
}

// Post-handshake messages: tickets reach a client and are dropped;
// renegotiation is refused with a warning and the session goes on;
// anything else ends it.
func TestPostHandshake(t *testing.T) {
	t.Run("a ticket to fjord as client", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		ticket := []byte{msgNewSessionTicket, 0, 0, 3, 1, 2, 3}
		wire := srv.seal(nil, typeHandshake, ticket)
		wire = srv.Seal(wire, []byte("data"))
		if got, err := openAll(cli, wire); err != nil || string(got) != "data" {
			t.Fatalf("%q, %v", got, err)
		}
	})
	t.Run("tickets to a sink, until a record carries something else", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		sink := &recordSink{more: true}
		cli.SetTicketSink(sink)
		one := []byte{msgNewSessionTicket, 0, 0, 3, 1, 2, 3}
		two := append(bytes.Clone(one), msgNewSessionTicket, 0, 0, 1, 9)
		var wire []byte
		wire = srv.seal(wire, typeHandshake, one)
		wire = srv.seal(wire, typeHandshake, two) // two tickets in a record
		first := len(wire)
		wire = srv.Seal(wire, []byte("data"))
		wire = srv.seal(wire, typeHandshake, one) // after data: not the sink's
		sent := bytes.Clone(wire[:first])
		if got, err := openAll(cli, wire); err != nil || string(got) != "data" {
			t.Fatalf("%q, %v", got, err)
		}
		if len(sink.recs) != 2 || !bytes.Equal(bytes.Join(sink.recs, nil), sent) {
			t.Fatalf("the sink got %d records, want the 2 sealed ticket records as sent", len(sink.recs))
		}
	})
	t.Run("a sink that wants no more", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		sink := &recordSink{}
		cli.SetTicketSink(sink)
		ticket := []byte{msgNewSessionTicket, 0, 0, 0}
		wire := srv.seal(nil, typeHandshake, ticket)
		wire = srv.seal(wire, typeHandshake, ticket)
		if _, err := openAll(cli, wire); err != nil {
			t.Fatal(err)
		}
		if len(sink.recs) != 1 {
			t.Fatalf("the sink got %d records, want 1", len(sink.recs))
		}
	})
	t.Run("no sink for what is not a TLS 1.3 client", func(t *testing.T) {
		for _, tc := range []struct {
			version, suite uint16
			server         bool
		}{{tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false}, {tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, true}} {
			srv, cli := pair(t, tc.version, tc.suite)
			l := cli
			if tc.server {
				l = srv
			}
			l.SetTicketSink(&recordSink{more: true})
			if l.tickets != nil {
				t.Errorf("%s, server %v: a sink was set", tls.VersionName(tc.version), tc.server)
			}
		}
	})
	t.Run("a ticket split across records ends the sink", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		sink := &recordSink{more: true}
		cli.SetTicketSink(sink)
		wire := srv.seal(nil, typeHandshake, []byte{msgNewSessionTicket, 0, 0, 3, 1})
		wire = srv.seal(wire, typeHandshake, []byte{2, 3})
		wire = srv.seal(wire, typeHandshake, []byte{msgNewSessionTicket, 0, 0, 0})
		if _, err := openAll(cli, wire); err != nil {
			t.Fatal(err)
		}
		if len(sink.recs) != 0 || cli.tickets != nil {
			t.Fatalf("the sink got %d records of a split ticket", len(sink.recs))
		}
	})
	t.Run("a ticket to fjord as server", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, err := openAll(srv, cli.seal(nil, typeHandshake, []byte{msgNewSessionTicket, 0, 0, 0}))
		wantFault(t, err, alertUnexpectedMessage)
	})
	for _, role := range []Role{Server, Client} {
		name, hello := "a ClientHello to fjord as server", []byte{msgClientHello, 0, 0, 2, 3, 3}
		if role == Client {
			name, hello = "a HelloRequest to fjord as client", []byte{msgHelloRequest, 0, 0, 0}
		}
		t.Run(name, func(t *testing.T) {
			srv, cli := pair(t, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
			fjord, peer := srv, cli
			if role == Client {
				fjord, peer = cli, srv
			}
			if _, err := openAll(fjord, peer.seal(nil, typeHandshake, hello)); err != nil {
				t.Fatal(err)
			}
			if !fjord.Pending() {
				t.Fatal("no refusal owed")
			}
			wire := fjord.Seal(nil, []byte("still here"))
			n, data, err := peer.Open(wire)
			if err != nil || len(data) != 0 {
				t.Fatalf("the refusal: %q, %v", data, err)
			}
			if got, err := openAll(peer, wire[n:]); err != nil || string(got) != "still here" {
				t.Fatalf("after the refusal: %q, %v", got, err)
			}
		})
	}
	t.Run("a TLS 1.2 Finished again", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
		_, err := openAll(srv, cli.seal(nil, typeHandshake, []byte{20, 0, 0, 0}))
		wantFault(t, err, alertUnexpectedMessage)
	})
	t.Run("a message that never ends", func(t *testing.T) {
		srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
		_, err := openAll(srv, cli.seal(nil, typeHandshake, []byte{msgKeyUpdate, 0xff, 0xff, 0xff}))
		wantFault(t, err, alertUnexpectedMessage)
	})
}

func TestNewRefusesWhatItCannotCarry(t *testing.T) {
	for _, k := range []Keys{
		{Version: tls.VersionTLS12, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA},
		{Version: tls.VersionTLS13, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		{Version: tls.VersionTLS12, Suite: tls.TLS_AES_128_GCM_SHA256},
		{Version: tls.VersionTLS11, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
		{Version: tls.VersionTLS12, Suite: tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, // no master secret
	} {
		if _, err := New(Server, k); err == nil {
			t.Errorf("%s with %s: no error", tls.VersionName(k.Version), tls.CipherSuiteName(k.Suite))
		}
	}
}

// FuzzOpen: whatever arrives, Open does not panic, consumes no more
// than it was given, and returns data only from within it.
func FuzzOpen(f *testing.F) {
	_, cli := pair(f, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	f.Add(cli.Seal(nil, []byte("hello")), true)
	_, cli12 := pair(f, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
	f.Add(cli12.Seal(nil, []byte("hello")), false)
	f.Add([]byte{typeApplicationData, 3, 3, 0, 0}, true)
	f.Fuzz(func(t *testing.T, wire []byte, v13 bool) {
		version, suite := uint16(tls.VersionTLS12), uint16(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
		if v13 {
			version, suite = tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256
		}
		srv, _ := pair(t, version, suite)
		for len(wire) > 0 {
			n, data, err := srv.Open(wire)
			if n < 0 || n > len(wire) {
				t.Fatalf("took %d of %d bytes", n, len(wire))
			}
			// data lies within the record: it ends where its capacity
			// says, counted from the end of wire's.
			if off := cap(wire) - cap(data); len(data) > 0 && (off < 0 || off+len(data) > n) {
				t.Fatalf("data at %d+%d, outside the record of %d bytes", off, len(data), n)
			}
			if n == 0 || err != nil {
				break
			}
			wire = wire[n:]
		}
	})
}

// FuzzSealOpen: what one end seals, the other opens unchanged.
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte("hello"), uint8(0))
	f.Add(bytes.Repeat([]byte{0}, MaxPlaintext+1), uint8(4))
	f.Fuzz(func(t *testing.T, msg []byte, which uint8) {
		s := allSuites[int(which)%len(allSuites)]
		srv, cli := pair(t, s.version, s.suite)
		got, err := openAll(srv, cli.Seal(nil, msg))
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%s: %d bytes came out as %d: %v", s.name, len(msg), len(got), err)
		}
	})
}

func TestMaxRecord(t *testing.T) {
	srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	srv.SetMaxRecord(1000)
	msg := bytes.Repeat([]byte("m"), 2500)
	wire := srv.Seal(nil, msg)
	if n := countRecords(wire); n != 3 {
		t.Fatalf("%d records for 2500 bytes at 1000 a record", n)
	}
	if got, err := openAll(cli, wire); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	srv.SetMaxRecord(0)
	if n := countRecords(srv.Seal(nil, msg)); n != 1 {
		t.Fatalf("no limit: %d records", n)
	}
}

// recordSink keeps what a layer hands it as a TicketSink.
type recordSink struct {
	recs [][]byte
	more bool
}

func (s *recordSink) Ticket(rec []byte) bool {
	s.recs = append(s.recs, rec)
	return s.more
}
