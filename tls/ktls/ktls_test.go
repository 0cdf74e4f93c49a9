package ktls

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/tls/record"
)

// The kernel's TLS_1_2_VERSION and TLS_1_3_VERSION.
const (
	version12 = 0x0303
	version13 = 0x0304
)

func TestCryptoInfoLayout(t *testing.T) {
	iv := [12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	key16, key32 := bytes.Repeat([]byte{0xaa}, 16), bytes.Repeat([]byte{0xbb}, 32)
	seq := []byte{0, 0, 0, 0, 0, 0, 1, 2}
	head := func(version, kind uint16) []byte {
		b := binary.NativeEndian.AppendUint16(nil, version)
		return binary.NativeEndian.AppendUint16(b, kind)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name           string
		version, suite uint16
		key            []byte
		want           []byte
	}{
		{"AES-128-GCM splits the IV into salt and iv", version13, tls.TLS_AES_128_GCM_SHA256, key16,
			cat(head(version13, cipherAESGCM128), iv[4:], key16, iv[:4], seq)},
		{"AES-256-GCM under TLS 1.2", version12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, key32,
			cat(head(version12, cipherAESGCM256), iv[4:], key32, iv[:4], seq)},
		{"ChaCha20 takes the whole IV and no salt", version13, tls.TLS_CHACHA20_POLY1305_SHA256, key32,
			cat(head(version13, cipherChaCha20), iv[:], key32, seq)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cryptoInfo(tc.version, tc.suite, record.Material{Key: tc.key, IV: iv, Seq: 0x102})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("crypto_info\n got %x\nwant %x", got, tc.want)
			}
			// The kernel checks the length against its struct.
			if want := map[uint16]int{cipherAESGCM128: 40, cipherAESGCM256: 56, cipherChaCha20: 56}[ciphers[tc.suite].kind]; len(got) != want {
				t.Errorf("%d bytes, the kernel's struct has %d", len(got), want)
			}
		})
	}
}

func TestCryptoInfoRefuses(t *testing.T) {
	if _, err := cryptoInfo(version13, 0x1304, record.Material{Key: make([]byte, 16)}); err == nil {
		t.Error("TLS_AES_128_CCM_SHA256 has no record layer here, but cryptoInfo took it")
	}
	if _, err := cryptoInfo(version13, tls.TLS_AES_128_GCM_SHA256, record.Material{Key: make([]byte, 32)}); err == nil {
		t.Error("a 32-byte key for AES-128 was taken")
	}
	if Supported(tls.VersionTLS11, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) {
		t.Error("TLS 1.1 reported supported")
	}
}

func TestReadControlOnAPlainSocketIsData(t *testing.T) {
	a, b := socketPair(t)
	if _, err := unix.Write(b, []byte("plain")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	ctype, n, err := ReadControl(a, buf)
	if err != nil || !IsData(ctype) || string(buf[:n]) != "plain" {
		t.Errorf("ReadControl = %d, %q, %v; want the stream's data", ctype, buf[:n], err)
	}
}

// socketPair is a connected TCP pair on loopback, as raw blocking
// descriptors (kTLS takes TCP only).
func socketPair(t *testing.T) (a, b int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	fd := func(c net.Conn) int {
		f, err := c.(*net.TCPConn).File() // a blocking duplicate
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		t.Cleanup(func() { f.Close() })
		return int(f.Fd())
	}
	return fd(s), fd(c)
}

// needKTLS skips a test on a kernel without kTLS (this project's CI
// host: see 'make test-ktls', which runs these in a guest that has it).
func needKTLS(t *testing.T) {
	t.Helper()
	if err := Probe(); err != nil {
		if os.Getenv("FJORD_EXPECT_KTLS") == "1" {
			t.Fatalf("FJORD_EXPECT_KTLS=1, but %v", err)
		}
		t.Skipf("no kTLS here: %v", err)
	}
}

var kernelSuites = []struct {
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

// layers are both ends of one session, as a handshake would leave them.
func layers(t *testing.T, version, suite uint16) (server, client *record.Layer) {
	t.Helper()
	k := record.Keys{Version: version, Suite: suite}
	if version == tls.VersionTLS13 {
		n := 32
		if suite == tls.TLS_AES_256_GCM_SHA384 {
			n = 48
		}
		k.ClientSecret, k.ServerSecret = bytes.Repeat([]byte{1}, n), bytes.Repeat([]byte{2}, n)
	} else {
		k.MasterSecret = bytes.Repeat([]byte{3}, 48)
		k.ClientRandom, k.ServerRandom = bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte{5}, 32)
		k.ClientSeq, k.ServerSeq = 1, 1
	}
	var err error
	server, err = record.New(record.Server, k)
	if err != nil {
		t.Fatal(err)
	}
	client, err = record.New(record.Client, k)
	if err != nil {
		t.Fatal(err)
	}
	return server, client
}

// readRecords reads from fd until the user-space layer has opened want
// bytes of data, or an error.
func readRecords(t *testing.T, fd int, l *record.Layer, want int) ([]byte, error) {
	t.Helper()
	var wire, got []byte
	buf := make([]byte, 1<<16)
	for len(got) < want {
		n, data, err := l.Open(wire)
		if err != nil {
			return got, err
		}
		if n > 0 {
			got = append(got, data...)
			wire = wire[n:]
			continue
		}
		r, err := unix.Read(fd, buf)
		if err != nil || r == 0 {
			return got, io.ErrUnexpectedEOF
		}
		wire = append(wire, buf[:r]...)
	}
	return got, nil
}

func TestKTLSCarriesTheStream(t *testing.T) {
	needKTLS(t)
	for _, s := range kernelSuites {
		t.Run(s.name, func(t *testing.T) {
			kfd, ufd := socketPair(t)
			srv, cli := layers(t, s.version, s.suite)
			in, out := srv.Material()
			if err := Enable(kfd, s.version, s.suite, in, out); err != nil {
				t.Fatal(err)
			}
			// The kernel seals what is written, the layer opens it.
			msg := bytes.Repeat([]byte("kernel-sealed "), 5000) // several records
			if _, err := unix.Write(kfd, msg); err != nil {
				t.Fatal(err)
			}
			if got, err := readRecords(t, ufd, cli, len(msg)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("the layer opened %d of %d bytes: %v", len(got), len(msg), err)
			}
			// The layer seals, the kernel opens, into a pipe by splice.
			msg = bytes.Repeat([]byte("layer-sealed "), 3000)
			if _, err := unix.Write(ufd, cli.Seal(nil, msg)); err != nil {
				t.Fatal(err)
			}
			var p [2]int
			if err := unix.Pipe(p[:]); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			got := make([]byte, 0, len(msg))
			buf := make([]byte, 1<<16)
			for len(got) < len(msg) {
				n, err := unix.Splice(kfd, nil, p[1], nil, len(msg)-len(got), 0)
				if err != nil || n == 0 {
					t.Fatalf("splice from the kTLS socket: %d, %v", n, err)
				}
				r, err := unix.Read(p[0], buf[:n])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:r]...)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("spliced plaintext differs from what was sealed")
			}
			// A control record: refused by read, taken by ReadControl,
			// handled by the layer.
			if _, err := unix.Write(ufd, cli.AppendClose(nil)); err != nil {
				t.Fatal(err)
			}
			if _, err := unix.Read(kfd, buf); !errors.Is(err, unix.EIO) {
				t.Fatalf("read of a close_notify: %v, want EIO", err)
			}
			ctype, n, err := ReadControl(kfd, buf)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Handle(ctype, buf[:n]); err != io.EOF {
				t.Errorf("the close_notify the kernel opened: %v, want io.EOF", err)
			}
			// And ours, sealed by the kernel.
			ctype, p2 := record.CloseNotify()
			if err := SendControl(kfd, ctype, p2); err != nil {
				t.Fatal(err)
			}
			if _, err := readRecords(t, ufd, cli, 1); err != io.EOF {
				t.Errorf("the kernel's close_notify opened as %v, want io.EOF", err)
			}
		})
	}
}

func TestKTLSKeyUpdate(t *testing.T) {
	needKTLS(t)
	kfd, ufd := socketPair(t)
	srv, cli := layers(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	in, out := srv.Material()
	if err := Enable(kfd, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, in, out); err != nil {
		t.Fatal(err)
	}
	cli.UpdateKeys(true)
	if _, err := unix.Write(ufd, cli.Seal(nil, []byte("after the update"))); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<14)
	ctype, n, err := ReadControl(kfd, buf)
	if err != nil {
		t.Fatal(err)
	}
	rekey, err := srv.Handle(ctype, buf[:n])
	if err != nil || !rekey {
		t.Fatalf("Handle(KeyUpdate) = %v, %v", rekey, err)
	}
	in, _ = srv.Material()
	if err := SetKey(kfd, RX, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, in); err != nil {
		if errors.Is(err, unix.EBUSY) {
			t.Skipf("this kernel cannot take new keys (it came before TLS 1.3 rekeying): %v", err)
		}
		t.Fatal(err)
	}
	r, err := unix.Read(kfd, buf)
	if err != nil || string(buf[:r]) != "after the update" {
		t.Fatalf("after the new RX key: %q, %v", buf[:r], err)
	}
}
