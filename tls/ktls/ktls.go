// Package ktls hands an established TLS session to Linux's kernel TLS
// (kTLS): the kernel then seals what is written to the socket and opens
// what is read from it, so that plaintext can be spliced both ways, as
// for a plain TCP socket. The traffic keys come from the record layer
// (package record), which keeps the rest of its job: the records that
// carry no application data (alerts, KeyUpdate, tickets) reach this
// package's ReadControl, go to the layer's Handle, and what the layer
// owes the peer goes back through SendControl.
//
// The kernel needs CONFIG_TLS (the "tls" module). Without it, Probe says
// why, and fjord keeps its user-space record layer.
package ktls

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/tls/record"
)

// From include/uapi/linux/tls.h; golang.org/x/sys/unix has only SOL_TLS
// and TCP_ULP.
const (
	optTX = 1 // TLS_TX
	optRX = 2 // TLS_RX

	cmsgSetRecordType = 1 // TLS_SET_RECORD_TYPE
	cmsgGetRecordType = 2 // TLS_GET_RECORD_TYPE

	// TLS_1_2_VERSION and TLS_1_3_VERSION are the wire versions, which
	// crypto_info takes as they are.

	cipherAESGCM128 = 51 // TLS_CIPHER_AES_GCM_128
	cipherAESGCM256 = 52 // TLS_CIPHER_AES_GCM_256
	cipherChaCha20  = 54 // TLS_CIPHER_CHACHA20_POLY1305

	// recordApplicationData is the content type of records that carry
	// the stream itself.
	recordApplicationData = 23
)

// cipher is how the kernel names a suite's AEAD, and the lengths of its
// crypto_info fields.
type cipher struct {
	kind            uint16
	ivLen, keyLen   int
	saltLen, seqLen int
}

var (
	aes128 = cipher{kind: cipherAESGCM128, ivLen: 8, keyLen: 16, saltLen: 4, seqLen: 8}
	aes256 = cipher{kind: cipherAESGCM256, ivLen: 8, keyLen: 32, saltLen: 4, seqLen: 8}
	chacha = cipher{kind: cipherChaCha20, ivLen: 12, keyLen: 32, saltLen: 0, seqLen: 8}
)

// ciphers are the suites the record layer carries (record.Supported),
// by the kernel's cipher for each.
var ciphers = map[uint16]cipher{
	tls.TLS_AES_128_GCM_SHA256:                        aes128,
	tls.TLS_AES_256_GCM_SHA384:                        aes256,
	tls.TLS_CHACHA20_POLY1305_SHA256:                  chacha,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       aes128,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         aes128,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       aes256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         aes256,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: chacha,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   chacha,
}

// Supported reports whether the kernel has a cipher for suite under
// version (whether this kernel has the module is Probe's question).
func Supported(version, suite uint16) bool {
	_, ok := ciphers[suite]
	return ok && record.Supported(version, suite)
}

// cryptoInfo is the struct tls12_crypto_info_* that TLS_TX or TLS_RX
// takes for one direction: the version and cipher, then iv, key, salt
// and rec_seq.
func cryptoInfo(version, suite uint16, m record.Material) ([]byte, error) {
	c, ok := ciphers[suite]
	if !ok || !record.Supported(version, suite) {
		return nil, fmt.Errorf("kTLS has no cipher for suite %#04x under version %#04x", suite, version)
	}
	if len(m.Key) != c.keyLen {
		return nil, fmt.Errorf("a %d-byte key for a cipher of %d", len(m.Key), c.keyLen)
	}
	b := make([]byte, 4, 4+c.ivLen+c.keyLen+c.saltLen+c.seqLen)
	binary.NativeEndian.PutUint16(b[0:], version)
	binary.NativeEndian.PutUint16(b[2:], c.kind)
	// AES-GCM: the first 4 bytes of the 12-byte IV are the salt, the
	// rest the iv field; ChaCha20 takes all 12 as its iv, and no salt.
	salt, iv := m.IV[:c.saltLen], m.IV[c.saltLen:]
	b = append(b, iv...)
	b = append(b, m.Key...)
	b = append(b, salt...)
	b = binary.BigEndian.AppendUint64(b, m.Seq)
	return b, nil
}

// Direction is which way of the socket a key is for.
type Direction int

const (
	TX Direction = optTX // what fjord writes
	RX Direction = optRX // what fjord reads
)

func (d Direction) String() string {
	if d == TX {
		return "TLS_TX"
	}
	return "TLS_RX"
}

// SetKey gives the kernel one direction's key: at Enable, and again at a
// TLS 1.3 KeyUpdate (which kernels before 6.14 refuse with EBUSY: the
// session then has to end).
func SetKey(fd int, d Direction, version, suite uint16, m record.Material) error {
	info, err := cryptoInfo(version, suite, m)
	if err != nil {
		return err
	}
	defer clear(info)
	// Not unix.SetsockoptString: it copies its string to the heap, and
	// that copy of the keys would outlive the call unwiped.
	_, _, errno := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_TLS, uintptr(d),
		uintptr(unsafe.Pointer(&info[0])), uintptr(len(info)), 0)
	if errno != 0 {
		return fmt.Errorf("setsockopt %s: %w", d, errno)
	}
	return nil
}

// ErrPlain wraps an Enable error after which the socket still carries
// plain bytes (the kernel took no key), so that the session can go on
// with the user-space record layer.
var ErrPlain = errors.New("the kernel took no key")

// Enable hands the session whose keys are in and out (see
// record.Layer.Material) to the kernel. On an error that wraps ErrPlain
// nothing changed for the stream; on any other, the socket is half in
// the kernel's hands and must be closed.
func Enable(fd int, version, suite uint16, in, out record.Material) error {
	if !Supported(version, suite) {
		return fmt.Errorf("%w: kTLS has no cipher for suite %#04x", ErrPlain, suite)
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_ULP, "tls"); err != nil {
		return fmt.Errorf("%w: setsockopt TCP_ULP tls: %w", ErrPlain, err)
	}
	// The upper-layer protocol alone changes nothing: until a key is set,
	// reads and writes pass through.
	if err := SetKey(fd, TX, version, suite, out); err != nil {
		return fmt.Errorf("%w: %w", ErrPlain, err)
	}
	return SetKey(fd, RX, version, suite, in)
}

// ReadControl reads the next record, which a read or splice refused
// because it carries no application data (EIO, EINVAL): its content type
// and its plaintext, or as much of it as buf holds (the rest comes with
// the next call). ctype may be application data after all, when the
// refusal had another cause: then buf[:n] is data of the stream.
func ReadControl(fd int, buf []byte) (ctype byte, n int, err error) {
	var oob [64]byte
	n, oobn, flags, _, err := unix.Recvmsg(fd, buf, oob[:], 0)
	if err != nil {
		return 0, 0, fmt.Errorf("recvmsg: %w", err)
	}
	if flags&unix.MSG_CTRUNC != 0 {
		return 0, 0, errors.New("recvmsg: the record type did not fit")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return 0, 0, fmt.Errorf("recvmsg: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_TLS && m.Header.Type == cmsgGetRecordType && len(m.Data) >= 1 {
			return m.Data[0], n, nil
		}
	}
	if n == 0 {
		return 0, 0, nil // the end of the stream
	}
	return recordApplicationData, n, nil
}

// IsData reports whether ReadControl's ctype is the stream's own data.
func IsData(ctype byte) bool { return ctype == recordApplicationData }

// SendControl writes one record of content type ctype carrying p (an
// alert, a KeyUpdate), sealed by the kernel. p must not be empty.
func SendControl(fd int, ctype byte, p []byte) error {
	if len(p) == 0 {
		return errors.New("an empty control record")
	}
	oob := make([]byte, unix.CmsgSpace(1))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.SOL_TLS
	h.Type = cmsgSetRecordType
	h.SetLen(unix.CmsgLen(1))
	oob[unix.CmsgLen(0)] = ctype
	n, err := unix.SendmsgN(fd, p, oob, nil, 0)
	if err != nil {
		return fmt.Errorf("sendmsg: %w", err)
	}
	if n != len(p) {
		return fmt.Errorf("sendmsg: %d of %d bytes of a control record", n, len(p))
	}
	return nil
}

// Probe reports whether the kernel takes the "tls" upper-layer protocol
// on a TCP socket: nil, or why not.
func Probe() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback to probe: %w", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return fmt.Errorf("connect on loopback to probe: %w", err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.IPPROTO_TCP, unix.TCP_ULP, "tls")
	}); err != nil {
		return err
	}
	switch {
	case serr == nil:
		return nil
	case errors.Is(serr, unix.ENOENT):
		return fmt.Errorf("setsockopt TCP_ULP tls: %w (the kernel has no CONFIG_TLS, or the tls module is not loaded)", serr)
	}
	return fmt.Errorf("setsockopt TCP_ULP tls: %w", serr)
}
