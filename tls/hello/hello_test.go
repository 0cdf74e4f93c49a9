package hello

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The first flights of crypto/tls clients, as they reach fjord.
func TestParseCryptoTLSClientHellos(t *testing.T) {
	h2 := []string{"h2", "http/1.1"}
	for _, tc := range []struct {
		name string
		cfg  *tls.Config
		want Hello
	}{
		{
			name: "TLS 1.2 only, with SNI and ALPN",
			cfg:  &tls.Config{ServerName: "www.example.com", MaxVersion: tls.VersionTLS12, NextProtos: h2},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				SNI: "www.example.com", ALPN: h2, ECExt: true},
		},
		{
			// crypto/tls offers to take a ticket only with a cache to
			// keep it in.
			name: "an empty session ticket extension with a session cache",
			cfg: &tls.Config{ServerName: "www.example.com", MaxVersion: tls.VersionTLS12,
				ClientSessionCache: tls.NewLRUClientSessionCache(1)},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				SNI: "www.example.com", ECExt: true, SessionTicket: TicketEmpty},
		},
		{
			// req.ssl_ver reads legacy_version, not supported_versions.
			name: "TLS 1.3 reports version 3.3",
			cfg:  &tls.Config{ServerName: "www.example.com", MinVersion: tls.VersionTLS13},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				SNI: "www.example.com", ECExt: true},
		},
		{
			name: "TLS 1.0 reports version 3.1",
			cfg:  &tls.Config{ServerName: "old.example.com", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30001, Extensions: true,
				SNI: "old.example.com", ECExt: true},
		},
		{
			name: "no SNI without a server name",
			cfg:  &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"acme-tls/1"}},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				ALPN: []string{"acme-tls/1"}, ECExt: true},
		},
		{
			// crypto/tls leaves IP addresses out of SNI, as RFC 6066 says.
			name: "no SNI for an IP address",
			cfg:  &tls.Config{ServerName: "192.0.2.1", MaxVersion: tls.VersionTLS12},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true, ECExt: true},
		},
		{
			// HAProxy returns the name as sent; "-i" matches it
			// case-insensitively.
			name: "SNI as sent, not lower-cased",
			cfg:  &tls.Config{ServerName: "WWW.Example.COM", MaxVersion: tls.VersionTLS12},
			want: Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				SNI: "WWW.Example.COM", ECExt: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := clientHello(t, tc.cfg)
			got, err := Parse(stream)
			if err != nil {
				t.Fatal(err)
			}
			if !equalHello(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			checkPrefixes(t, stream)
		})
	}
}

// A client resuming a TLS 1.2 session sends its ticket: req.ssl_st_ext 2.
func TestParseResumingClientSendsTicket(t *testing.T) {
	got, err := Parse(resumingHello(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.SessionTicket != TicketSent || got.SNI != "fjord.test" {
		t.Fatalf("got %+v, want SessionTicket %d and SNI fjord.test", got, TicketSent)
	}
}

// res.ssl_hello_type: a server's first flight starts with a ServerHello.
func TestParseServerHello(t *testing.T) {
	for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		stream := serverHello(t, clientHello(t, &tls.Config{ServerName: "fjord.test", MaxVersion: max}))
		got, err := Parse(stream)
		if err != nil {
			t.Fatal(err)
		}
		want := Hello{RecordVersion: 0x30003, Type: ServerHello, Version: 0x30003}
		if !equalHello(got, want) {
			t.Fatalf("max %x: got %+v, want %+v", max, got, want)
		}
		checkPrefixes(t, stream[:5+4+(int(stream[6])<<16|int(stream[7])<<8|int(stream[8]))])
	}
}

// OpenSSL's client, whose hello differs from crypto/tls's (the
// extensions, their order, padding).
func TestParseOpenSSLClientHello(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl command: install the Debian package openssl")
	}
	for _, tc := range []struct {
		name string
		args []string
		want Hello
	}{
		{"TLS 1.3 with SNI and ALPN", []string{"-tls1_3", "-servername", "Mail.Example.org", "-alpn", "h2,http/1.1"},
			Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				SNI: "Mail.Example.org", ALPN: []string{"h2", "http/1.1"}, ECExt: true, SessionTicket: TicketEmpty}},
		{"TLS 1.2 without SNI", []string{"-tls1_2", "-noservername"},
			Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				ECExt: true, SessionTicket: TicketEmpty}},
		{"no session ticket extension with -no_ticket", []string{"-tls1_2", "-servername", "a.example", "-no_ticket"},
			Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true,
				SNI: "a.example", ECExt: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := opensslHello(t, openssl, tc.args)
			got, err := Parse(stream)
			if err != nil {
				t.Fatal(err)
			}
			if !equalHello(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			checkPrefixes(t, stream)
		})
	}
}

// opensslHello runs openssl s_client against a listener that reads its
// hello and hangs up.
func opensslHello(t *testing.T, openssl string, args []string) []byte {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(openssl, append([]string{"s_client", "-connect", ln.Addr().String()}, args...)...)
	cmd.Stdin = strings.NewReader("")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v\nopenssl: %s", err, out.String())
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// Read until Parse answers: the hello may arrive in several reads.
	var stream []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		stream = append(stream, buf[:n]...)
		if _, perr := Parse(stream); perr != ErrNeedMore {
			return stream
		}
		if err != nil {
			t.Fatalf("read after %d bytes: %v\nopenssl: %s", len(stream), err, out.String())
		}
	}
}

// A hello split across records, which HAProxy 2.6 misreads (it takes the
// second record's header for hello bytes), gives the same answer as the
// hello in one record; and every prefix of it is a valid start.
func TestParseHelloSplitAcrossRecords(t *testing.T) {
	stream := clientHello(t, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2"}})
	want, err := Parse(stream)
	if err != nil {
		t.Fatal(err)
	}
	msgLen := int(stream[3])<<8 | int(stream[4])
	for _, tc := range []struct {
		name  string
		split []byte
	}{
		{"two records, split in the handshake header", fragment(t, stream, 2)},
		{"two records, split after the handshake header", fragment(t, stream, 4)},
		{"two records, split in the middle", fragment(t, stream, msgLen/2)},
		{"two records, the last one of one byte", fragment(t, stream, msgLen-1)},
		{"three records", fragment(t, stream, 100, 200)},
		{"records of one byte", even(t, stream, 1)},
		{"records of 7 bytes", even(t, stream, 7)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if !equalHello(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			checkPrefixes(t, tc.split)
		})
	}
}

// Bytes after the hello are not the hello's: they change nothing.
func TestParseIgnoresWhatFollowsTheHello(t *testing.T) {
	stream := clientHello(t, &tls.Config{ServerName: "www.example.com"})
	want, err := Parse(stream)
	if err != nil {
		t.Fatal(err)
	}
	ccs := record(recordChangeCipherSpec, 0x0303, []byte{1})
	early := record(recordApplicationData, 0x0303, []byte("0-RTT data"))
	for _, tc := range []struct{ name, tail []byte }{
		{[]byte("a ChangeCipherSpec record"), ccs},
		{[]byte("early data"), append(ccs, early...)},
		{[]byte("part of a record"), early[:3]},
		{[]byte("garbage"), []byte("GET / HTTP/1.1\r\n")},
	} {
		got, err := Parse(append(bytes.Clone(stream), tc.tail...))
		if err != nil || !equalHello(got, want) {
			t.Fatalf("%s: got %+v, %v; want %+v", tc.name, got, err, want)
		}
	}
	// And in the same record, after the message.
	rec := record(recordHandshake, 0x0301, append(bytes.Clone(stream[5:]), handshake(99, nil)...))
	if got, err := Parse(rec); err != nil || !equalHello(got, want) {
		t.Fatalf("a message after the hello in its record: got %+v, %v; want %+v", got, err, want)
	}
}

// Hellos crypto/tls does not send, built field by field: what each
// extension fetch reads from them.
func TestParseExtensions(t *testing.T) {
	base := Hello{RecordVersion: 0x30001, Type: ClientHello, Version: 0x30003, Extensions: true}
	with := func(f func(*Hello)) Hello { h := base; f(&h); return h }
	for _, tc := range []struct {
		name string
		spec spec
		want Hello
	}{
		{"no extensions block: no extension fetch has a value", spec{noExts: true},
			with(func(h *Hello) { h.Extensions = false })},
		{"an empty extensions block: req.ssl_st_ext is 0", spec{}, base},
		{"supported_groups is req.ssl_ec_ext", spec{exts: []ext{{extSupportedGrps, []byte{0, 2, 0, 29}}}},
			with(func(h *Hello) { h.ECExt = true })},
		{"ec_point_formats alone is not req.ssl_ec_ext", spec{exts: []ext{{11, []byte{1, 0}}}}, base},
		{"a session ticket", spec{exts: []ext{{extSessionTicket, []byte("ticket")}}},
			with(func(h *Hello) { h.SessionTicket = TicketSent })},
		{"the first server_name extension counts", spec{exts: []ext{sniExt("a.example"), sniExt("b.example")}},
			with(func(h *Hello) { h.SNI = "a.example" })},
		{"only the first entry of a server_name list is read", spec{exts: []ext{sniExt("a.example", "b.example")}},
			with(func(h *Hello) { h.SNI = "a.example" })},
		{"a server_name list of another type first is skipped",
			spec{exts: []ext{{extServerName, []byte{0, 4, 1, 0, 1, 'x'}}, sniExt("b.example")}},
			with(func(h *Hello) { h.SNI = "b.example" })},
		{"an underscore, a digit-only label and a hyphen pass", spec{exts: []ext{sniExt("_acme.1.my-host.example")}},
			with(func(h *Hello) { h.SNI = "_acme.1.my-host.example" })},
		{"the first ALPN extension counts", spec{exts: []ext{alpnExt("h2"), alpnExt("http/1.1")}},
			with(func(h *Hello) { h.ALPN = []string{"h2"} })},
		{"ALPN names are bytes as sent", spec{exts: []ext{alpnExt("H2", "x y")}},
			with(func(h *Hello) { h.ALPN = []string{"H2", "x y"} })},
		{"SSL 3.0: extensions are not read", spec{version: 0x0300, exts: []ext{sniExt("a.example")}},
			with(func(h *Hello) { h.Version = 0x30000; h.Extensions = false })},
		// HAProxy tests each byte of the version for TLS 1.0 or more.
		{"version 4.0: extensions are not read", spec{version: 0x0400, exts: []ext{sniExt("a.example")}},
			with(func(h *Hello) { h.Version = 0x40000; h.Extensions = false })},
		{"a session id of 32 bytes", spec{sessionID: make([]byte, 32)}, base},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := tc.spec.stream()
			got, err := Parse(stream)
			if err != nil {
				t.Fatal(err)
			}
			if !equalHello(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
			checkPrefixes(t, stream)
		})
	}
}

// What is not TLS is refused with ErrNotTLS, as soon as it shows.
func TestParseNotTLS(t *testing.T) {
	for _, tc := range []struct {
		name, stream, says string
	}{
		{"plain HTTP", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", `text, "GET " (an HTTP request?)`},
		{"HTTP decided on 4 bytes", "POST", `text, "POST"`},
		{"an SSH banner", "SSH-2.0-OpenSSH_9.6\r\n", `"SSH-"`},
		{"a PROXY v2 signature", "\r\n\r\n\x00\r\nQUIT\n", "0d 0a 0d 0a"},
		{"zeros", "\x00\x00\x00\x00", "00 00 00 00"},
		{"a high bit and no hello", "\x80\x10\x02", "80 10 02"},
		{"an alert record first", "\x15\x03\x03\x00\x02\x02\x28", "content type 21"},
		{"application data first", "\x17\x03\x03", "content type 23"},
		{"a ChangeCipherSpec record first", "\x14", "content type 20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.stream))
			if !errors.Is(err, ErrNotTLS) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want ErrNotTLS saying %s", err, tc.says)
			}
		})
	}
	// Three bytes of "GET" may yet be an SSLv2 record, as HAProxy reads
	// it: too short to decide.
	if _, err := Parse([]byte("GET")); err != ErrNeedMore {
		t.Fatalf("GET: got %v, want ErrNeedMore", err)
	}
}

// An SSLv2 hello is recognised as HAProxy's req.ssl_ver does, and only
// Version is reported for it.
func TestParseSSLv2(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream []byte
		want   Version
	}{
		{"SSL 2.0", sslv2(0x0002, 3*3, 0, 16, 0), 0x00002},
		{"a TLS 1.0 client's backwards-compatible hello", sslv2(0x0301, 3*20, 0, 32, 0), 0x30001},
		{"a three-byte header with padding", sslv2(0x0300, 3, 16, 16, 5), 0x30000},
		{"no cipher specs", sslv2(0x0002, 0, 0, 16, 0), 0x00002},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.stream)
			if err != nil {
				t.Fatal(err)
			}
			if want := (Hello{SSLv2: true, Version: tc.want}); !equalHello(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			checkPrefixes(t, tc.stream)
		})
	}
	for _, tc := range []struct {
		name   string
		stream []byte
		says   string
	}{
		{"cipher specs not in threes", sslv2(0x0002, 4, 0, 16, 0), "cipher specs are 4 bytes"},
		{"a session id of 8 bytes", sslv2(0x0002, 3, 8, 16, 0), "session id is 8 bytes"},
		{"a challenge of 8 bytes", sslv2(0x0002, 3, 0, 8, 0), "challenge is 8 bytes"},
		{"a challenge of 33 bytes", sslv2(0x0002, 3, 0, 33, 0), "challenge is 33 bytes"},
		{"a record length that lies", append([]byte{0x80, 0x30}, sslv2(0x0002, 3, 0, 16, 0)[2:]...), "record is 48 bytes long, its fields 28"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.stream)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want ErrMalformed saying %s", err, tc.says)
			}
		})
	}
}

// Malformed hellos, and lengths that lie, are refused with what is wrong;
// none is read past its bytes.
func TestParseMalformed(t *testing.T) {
	good := spec{exts: []ext{sniExt("a.example")}}
	msg := good.message()
	for _, tc := range []struct {
		name   string
		stream []byte
		says   string
	}{
		{"a record version older than SSL 3.0", []byte{22, 2, 0}, "version 2.x"},
		{"an empty record", record(recordHandshake, 0x0301, nil), "record 1 is empty"},
		{"a record longer than 2^14+2048", []byte{22, 3, 1, 0x48, 0x01}, "18433 bytes long"},
		{"a handshake that is not a hello", record(recordHandshake, 0x0303, handshake(11, make([]byte, 10))), "type 11"},
		{"a handshake type seen on its first byte", []byte{22, 3, 1, 0, 50, 20}, "type 20"},
		{"a hello interrupted by another record",
			append(record(recordHandshake, 0x0301, msg[:20]), record(recordApplicationData, 0x0303, msg[20:])...), "content type 23"},
		{"a second record of version 2.x",
			append(record(recordHandshake, 0x0301, msg[:20]), record(recordHandshake, 0x0200, msg[20:])...), "record 2 has version 2.x"},
		{"a handshake length shorter than its body",
			record(recordHandshake, 0x0301, append(handshake(1, good.body()[:len(good.body())-3]), good.body()[len(good.body())-3:]...)),
			"extensions overrun"},
		{"a body that ends in the random", record(recordHandshake, 0x0301, handshake(1, make([]byte, 20))), "within its random"},
		{"a session id of 33 bytes", spec{sessionID: make([]byte, 33)}.stream(), "session_id is 33 bytes"},
		{"no cipher suites", spec{suites: []uint16{}}.stream(), "cipher_suites are 0 bytes"},
		{"an odd cipher suites length", record(recordHandshake, 0x0301, handshake(1,
			append(append(append([]byte{3, 3}, make([]byte, 33)...), 0, 3, 0x13, 0x01, 0x13), 1, 0, 0, 0))), "cipher_suites are 3 bytes"},
		{"no compression methods", spec{methods: []byte{}}.stream(), "no compression_methods"},
		{"bytes after the extensions", spec{trailer: []byte{0, 0}}.stream(), "2 bytes follow"},
		{"an extension longer than the list", spec{rawExts: []byte{0, 10, 0, 9, 1}}.stream(), "extension overruns"},
		{"a server_name list longer than its extension",
			spec{exts: []ext{{extServerName, []byte{0, 20, 0, 0, 1, 'a'}}}}.stream(), "server_name extension's list"},
		// The read HAProxy 2.6 made past the buffer (fixed in ed267f9bc).
		{"a host name longer than its list",
			spec{exts: []ext{{extServerName, []byte{0, 4, 0, 0xff, 0xff, 'a'}}}}.stream(), "first entry overruns"},
		{"an empty host name", spec{exts: []ext{sniExt("")}}.stream(), `server_name "" is not`},
		{"a host name with a NUL", spec{exts: []ext{sniExt("a.example\x00.evil")}}.stream(), "is not a host name"},
		{"a host name with a trailing dot", spec{exts: []ext{sniExt("a.example.")}}.stream(), "is not a host name"},
		{"a host name with a space", spec{exts: []ext{sniExt("a example")}}.stream(), "is not a host name"},
		{"a host name with an empty label", spec{exts: []ext{sniExt("a..example")}}.stream(), "is not a host name"},
		{"a host name label of 64 bytes", spec{exts: []ext{sniExt(strings.Repeat("a", 64) + ".example")}}.stream(), "is not a host name"},
		{"an IPv6 address", spec{exts: []ext{sniExt("2001:db8::1")}}.stream(), "is not a host name"},
		{"an empty ALPN list", spec{exts: []ext{{extALPN, []byte{0, 0}}}}.stream(), "ALPN extension's list is empty"},
		{"an ALPN list longer than its extension", spec{exts: []ext{{extALPN, []byte{0, 9, 2, 'h', '2'}}}}.stream(), "ALPN extension's list does not fill"},
		{"an ALPN name longer than the list", spec{exts: []ext{{extALPN, []byte{0, 3, 5, 'h', '2'}}}}.stream(), "ALPN protocol name overruns"},
		{"an empty ALPN name", spec{exts: []ext{alpnExt("h2", "")}}.stream(), "empty protocol name"},
		{"a ServerHello without a version", record(recordHandshake, 0x0303, handshake(2, []byte{3})), "ServerHello ends"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.stream)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("got %v, want ErrMalformed saying %s", err, tc.says)
			}
		})
	}
}

// A handshake length longer than what has come is a start, not an error:
// the rest may be in the next record.
func TestParseHandshakeLengthBeyondTheRecordWaits(t *testing.T) {
	msg := spec{exts: []ext{sniExt("a.example")}}.message()
	msg[3] += 10 // the message now claims 10 bytes more than the record holds
	if _, err := Parse(record(recordHandshake, 0x0301, msg)); err != ErrNeedMore {
		t.Fatalf("got %v, want ErrNeedMore", err)
	}
}

// The bounds: a hello message of 16 KiB, HAProxy's tune.bufsize, is read;
// one larger is refused as soon as its header says so; and a hello whose
// records take more than MaxInput bytes of the stream is refused rather
// than waited for.
func TestParseBounds(t *testing.T) {
	fill := func(msgLen int) spec {
		s := spec{exts: []ext{sniExt("big.example")}}
		pad := msgLen - len(s.message()) - 4
		return spec{exts: []ext{sniExt("big.example"), {21, make([]byte, pad)}}} // 21: padding
	}
	largest := fill(MaxHelloLen)
	if n := len(largest.message()); n != MaxHelloLen {
		t.Fatalf("built a message of %d bytes", n)
	}
	if h, err := Parse(largest.stream()); err != nil || h.SNI != "big.example" {
		t.Fatalf("a hello of MaxHelloLen: got %+v, %v", h, err)
	}
	tooLarge := fill(MaxHelloLen + 1).stream()
	for _, n := range []int{9, len(tooLarge)} {
		_, err := Parse(tooLarge[:n])
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "16385 bytes long, more than the 16384") {
			t.Fatalf("a hello of MaxHelloLen+1, %d bytes of it: got %v, want ErrTooLarge", n, err)
		}
	}
	// In records of 64 bytes, 16 KiB of hello takes 1280 bytes of
	// record headers, more than MaxInput leaves room for.
	split := even(t, fill(MaxHelloLen).stream(), 64)
	if _, err := Parse(split[:MaxInput-1]); err != ErrNeedMore {
		t.Fatalf("MaxInput-1 bytes of a split hello: got %v, want ErrNeedMore", err)
	}
	for _, n := range []int{MaxInput, len(split)} {
		if _, err := Parse(split[:n]); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "first 17408 bytes") {
			t.Fatalf("%d bytes of a split hello: got %v, want ErrTooLarge", n, err)
		}
	}
	// A smaller hello in the same records fits.
	if h, err := Parse(even(t, fill(8000).stream(), 64)); err != nil || h.SNI != "big.example" {
		t.Fatalf("8000 bytes in records of 64: got %+v, %v", h, err)
	}
	// An SSLv2 record longer than what is read: like HAProxy, settle for
	// what fits.
	v2 := sslv2(0x0002, 3*10000, 0, 16, 0)
	if _, err := Parse(v2[:MaxInput-1]); err != ErrNeedMore {
		t.Fatalf("MaxInput-1 bytes of a long SSLv2 hello: got %v, want ErrNeedMore", err)
	}
	if h, err := Parse(v2[:MaxInput]); err != nil || !h.SSLv2 {
		t.Fatalf("MaxInput bytes of a long SSLv2 hello: got %+v, %v", h, err)
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[Version]string{0x30003: "3.3", 0x30001: "3.1", 0x00002: "0.2", 0x30000: "3.0"} {
		if v.String() != want || int(v.Major())<<16|int(v.Minor()) != int(v) {
			t.Errorf("%#x: %s, %d.%d; want %s", uint32(v), v, v.Major(), v.Minor(), want)
		}
	}
}
