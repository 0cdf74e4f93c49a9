package record

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// kernelSeal seals one application-data record the way Linux's kTLS does
// with the crypto_info built from m: the static IV XOR the sequence
// number (TLS 1.3, ChaCha20), or the salt and an explicit nonce that is
// the IV's last 8 bytes advanced by one per record (TLS 1.2 AES-GCM).
func kernelSeal(t *testing.T, version, suiteID uint16, m *Material, p []byte) []byte {
	t.Helper()
	s := suites[suiteID]
	aead, err := s.aead(m.Key)
	if err != nil {
		t.Fatal(err)
	}
	var nonce [12]byte
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], m.Seq)
	defer func() { m.Seq++ }()
	if version == tls.VersionTLS13 {
		nonce = m.IV
		for i := range seq {
			nonce[4+i] ^= seq[i]
		}
		n := len(p) + 1 + aead.Overhead()
		hdr := []byte{typeApplicationData, 3, 3, byte(n >> 8), byte(n)}
		return aead.Seal(hdr, nonce[:], append(bytes.Clone(p), typeApplicationData), hdr)
	}
	ad := make([]byte, 0, 13)
	ad = append(append(ad, seq[:]...), typeApplicationData, 3, 3, byte(len(p)>>8), byte(len(p)))
	if !s.explicitNonce {
		nonce = m.IV
		for i := range seq {
			nonce[4+i] ^= seq[i]
		}
		n := len(p) + aead.Overhead()
		hdr := []byte{typeApplicationData, 3, 3, byte(n >> 8), byte(n)}
		return aead.Seal(hdr, nonce[:], p, ad)
	}
	nonce = m.IV
	explicit := bytes.Clone(m.IV[4:])
	binary.BigEndian.PutUint64(m.IV[4:], binary.BigEndian.Uint64(m.IV[4:])+1)
	n := len(p) + 8 + aead.Overhead()
	rec := append([]byte{typeApplicationData, 3, 3, byte(n >> 8), byte(n)}, explicit...)
	return aead.Seal(rec, nonce[:], p, ad)
}

func TestMaterialSealsAsTheLayer(t *testing.T) {
	for _, s := range allSuites {
		t.Run(s.name, func(t *testing.T) {
			srv, cli := pair(t, s.version, s.suite)
			_, out := srv.Material()
			for i, msg := range []string{"first", "second", "third"} {
				rec := kernelSeal(t, s.version, s.suite, &out, []byte(msg))
				got, err := openAll(cli, rec)
				if err != nil || string(got) != msg {
					t.Fatalf("record %d sealed with Material: opened %q, %v", i, got, err)
				}
			}
			// And the other way: what the client's layer seals opens
			// with the server's in material, which the kernel would take
			// for TLS_RX; checked by sealing with the client's out.
			in, _ := srv.Material()
			_, cout := cli.Material()
			if !bytes.Equal(in.Key, cout.Key) || in.IV != cout.IV || in.Seq != cout.Seq {
				t.Errorf("server's in material %x/%x/%d is not the client's out %x/%x/%d", in.Key, in.IV, in.Seq, cout.Key, cout.IV, cout.Seq)
			}
		})
	}
}

func TestHandleKeyUpdate(t *testing.T) {
	srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	if !cli.UpdateKeys(true) {
		t.Fatal("UpdateKeys refused TLS 1.3")
	}
	var sent [][]byte
	var types []byte
	if !cli.TakeControl(func(ctype byte, p []byte) { types = append(types, ctype); sent = append(sent, bytes.Clone(p)) }) {
		t.Fatal("TakeControl after UpdateKeys: rekeyOut false")
	}
	if len(sent) != 1 || types[0] != typeHandshake || sent[0][0] != msgKeyUpdate {
		t.Fatalf("TakeControl sent %v %x, want one KeyUpdate", types, sent)
	}
	rekey, err := srv.Handle(types[0], sent[0])
	if err != nil || !rekey {
		t.Fatalf("Handle(KeyUpdate) = %v, %v; want a rekey", rekey, err)
	}
	in, _ := srv.Material()
	_, out := cli.Material()
	if !bytes.Equal(in.Key, out.Key) || in.IV != out.IV || in.Seq != 0 {
		t.Errorf("after the KeyUpdate the server's in material does not match the client's out")
	}
	if !srv.Pending() {
		t.Fatal("the peer asked for an update: the server owes one")
	}
	var answered bool
	srv.TakeControl(func(ctype byte, p []byte) { answered = ctype == typeHandshake && p[0] == msgKeyUpdate && p[4] == 0 })
	if !answered {
		t.Error("the answer is not a KeyUpdate that asks for none")
	}
}

func TestHandleAlertsAndRenegotiation(t *testing.T) {
	srv, cli := pair(t, tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
	ctype, p := CloseNotify()
	if _, err := srv.Handle(ctype, p); err != io.EOF {
		t.Errorf("close_notify: %v, want io.EOF", err)
	}
	ctype, p = FatalAlert(40)
	var re *Error
	if _, err := srv.Handle(ctype, p); !errors.As(err, &re) || !re.Remote || re.Alert != 40 {
		t.Errorf("a fatal alert: %v, want the peer's alert 40", err)
	}
	// A HelloRequest asks the client to renegotiate: refused with a
	// warning, the session goes on.
	if rekey, err := cli.Handle(typeHandshake, []byte{msgHelloRequest, 0, 0, 0}); err != nil || rekey {
		t.Fatalf("HelloRequest: %v, %v", rekey, err)
	}
	var warned bool
	cli.TakeControl(func(ctype byte, p []byte) { warned = ctype == typeAlert && p[1] == alertNoRenegotiation })
	if !warned {
		t.Error("no no_renegotiation warning owed after a HelloRequest")
	}
	if _, err := srv.Handle(typeApplicationData, []byte("x")); err == nil {
		t.Error("Handle took application data")
	}
}

func TestForgetKeys(t *testing.T) {
	srv, cli := pair(t, tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256)
	srv.ForgetKeys()
	if in, out := srv.Material(); in.Key != nil || out.Key != nil {
		t.Fatal("Material gave keys after ForgetKeys")
	}
	cli.UpdateKeys(false)
	rec := cli.Seal(nil, []byte("after an update"))
	if got, err := openAll(srv, rec); err != nil || string(got) != "after an update" {
		t.Fatalf("the layer without raw keys opened %q, %v", got, err)
	}
	if in, _ := srv.Material(); in.Key != nil {
		t.Error("a KeyUpdate brought the raw key back")
	}
}
