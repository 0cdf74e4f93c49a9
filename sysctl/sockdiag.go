package sysctl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Sizes and values of the inet_diag netlink protocol (linux/inet_diag.h,
// linux/sock_diag.h), which x/sys/unix does not define.
const (
	// inetDiagReqV2Len is struct inet_diag_req_v2: family, protocol, ext,
	// pad (one byte each), states (u32), then a 48-byte inet_diag_sockid.
	inetDiagReqV2Len = 56
	// inetDiagMsgLen is struct inet_diag_msg: family, state, timer,
	// retrans (one byte each), the 48-byte sockid (sport and dport big
	// endian, first), then expires, rqueue, wqueue, uid and inode (u32).
	inetDiagMsgLen = 72
	diagSportOff   = 4
	diagInodeOff   = 68
	// tcpListenState is TCP_LISTEN in the kernel's enum of TCP states.
	tcpListenState = 10
)

// listeningDiag returns the TCP sockets in the LISTEN state of the calling
// thread's network namespace, asked of the kernel through
// NETLINK_SOCK_DIAG. A dump that asks for TCP_LISTEN alone makes the
// kernel walk its listening hash only, where reading /proc/net/tcp makes
// it print every socket of the namespace, established and TIME_WAIT ones
// included: on a busy balancer, hundreds of thousands of lines at every
// start and reload.
func listeningDiag() ([]Listener, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, fmt.Errorf("socket(AF_NETLINK, NETLINK_SOCK_DIAG): %w", err)
	}
	defer unix.Close(fd)
	var out []Listener
	buf := make([]byte, 64<<10)
	for i, family := range []uint8{unix.AF_INET, unix.AF_INET6} {
		seq := uint32(os.Getpid()) + uint32(i) // any number: replies echo it
		if err := unix.Sendto(fd, diagRequest(family, seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, fmt.Errorf("sendto(NETLINK_SOCK_DIAG): %w", err)
		}
		for done := false; !done; {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("recvfrom(NETLINK_SOCK_DIAG): %w", err)
			}
			var ls []Listener
			ls, done, err = parseDiag(buf[:n], seq)
			if family == unix.AF_INET6 && (errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EAFNOSUPPORT)) {
				break // a kernel without IPv6: no IPv6 sockets
			}
			if err != nil {
				return nil, fmt.Errorf("NETLINK_SOCK_DIAG: %w", err)
			}
			out = append(out, ls...)
		}
	}
	return out, nil
}

// diagRequest is a SOCK_DIAG_BY_FAMILY dump request for the TCP sockets
// of family in the LISTEN state.
func diagRequest(family uint8, seq uint32) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN+inetDiagReqV2Len)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(len(b)))
	ne.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(b[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(b[8:], seq)
	req := b[unix.NLMSG_HDRLEN:]
	req[0], req[1] = family, unix.IPPROTO_TCP
	ne.PutUint32(req[4:], 1<<tcpListenState)
	return b
}

// parseDiag reads one datagram of the kernel's reply to diagRequest: a
// run of netlink messages, each a header (length, type, flags, sequence,
// port id) and, padded to 4 bytes, its payload. It returns the listening
// sockets of the inet_diag_msg messages with the sequence number seq
// (others answer something else and are skipped), and done once the
// dump's NLMSG_DONE came. An NLMSG_ERROR is returned as its errno.
func parseDiag(b []byte, seq uint32) (ls []Listener, done bool, err error) {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return nil, false, fmt.Errorf("%d bytes left, less than a message header", len(b))
		}
		size := ne.Uint32(b[0:])
		typ, mseq := ne.Uint16(b[4:]), ne.Uint32(b[8:])
		if size < unix.NLMSG_HDRLEN || uint64(size) > uint64(len(b)) {
			return nil, false, fmt.Errorf("message of %d bytes in %d", size, len(b))
		}
		data := b[unix.NLMSG_HDRLEN:size]
		// The next message starts at the length rounded up to 4.
		next := (uint64(size) + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		b = b[min(next, uint64(len(b))):]
		if mseq != seq {
			continue
		}
		switch typ {
		case unix.NLMSG_DONE:
			return ls, true, nil
		case unix.NLMSG_ERROR:
			if len(data) < 4 {
				return nil, false, fmt.Errorf("error message of %d bytes", len(data))
			}
			if errno := -int32(ne.Uint32(data)); errno != 0 {
				return nil, false, syscall.Errno(errno)
			}
			// 0 acknowledges a request; a dump never sends one, but it
			// is no error.
		case unix.SOCK_DIAG_BY_FAMILY:
			if len(data) < inetDiagMsgLen {
				return nil, false, fmt.Errorf("socket message of %d bytes, want at least %d", len(data), inetDiagMsgLen)
			}
			if data[1] != tcpListenState {
				continue // the kernel filters by state; this only guards
			}
			ls = append(ls, Listener{
				Port:  binary.BigEndian.Uint16(data[diagSportOff:]),
				Inode: uint64(ne.Uint32(data[diagInodeOff:])),
			})
		default:
			return nil, false, fmt.Errorf("unexpected message type %d", typ)
		}
	}
	return ls, false, nil
}
