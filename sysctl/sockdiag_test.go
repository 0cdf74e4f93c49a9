package sysctl

import (
	"encoding/binary"
	"errors"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// diagMsg is a netlink message of type typ and sequence seq with data.
func diagMsg(typ uint16, seq uint32, data []byte) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN, unix.NLMSG_HDRLEN+len(data)+3)
	ne := binary.NativeEndian
	ne.PutUint32(b[0:], uint32(unix.NLMSG_HDRLEN+len(data)))
	ne.PutUint16(b[4:], typ)
	ne.PutUint32(b[8:], seq)
	b = append(b, data...)
	for len(b)%unix.NLMSG_ALIGNTO != 0 {
		b = append(b, 0)
	}
	return b
}

// diagSocket is an inet_diag_msg for a socket in state st on port.
func diagSocket(st uint8, port uint16, inode uint32) []byte {
	d := make([]byte, inetDiagMsgLen)
	d[0], d[1] = unix.AF_INET, st
	binary.BigEndian.PutUint16(d[diagSportOff:], port)
	binary.NativeEndian.PutUint32(d[diagInodeOff:], inode)
	return d
}

func diagErrno(errno int32) []byte {
	d := make([]byte, 4+unix.NLMSG_HDRLEN)
	binary.NativeEndian.PutUint32(d, uint32(-errno))
	return d
}

func TestParseDiag(t *testing.T) {
	const seq = 7
	done := diagMsg(unix.NLMSG_DONE, seq, make([]byte, 4))
	tests := []struct {
		name    string
		b       []byte
		want    []Listener
		done    bool
		wantErr string
	}{
		{"listeners, then the end of the dump",
			slices.Concat(diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, diagSocket(tcpListenState, 8080, 11)), diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, diagSocket(tcpListenState, 443, 12)), done),
			[]Listener{{8080, 11}, {443, 12}}, true, ""},
		{"a datagram in the middle of the dump", diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, diagSocket(tcpListenState, 80, 1)), []Listener{{80, 1}}, false, ""},
		{"a socket in another state is skipped", slices.Concat(diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, diagSocket(1, 40000, 2)), done), nil, true, ""},
		{"another sequence is skipped", slices.Concat(diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq+1, diagSocket(tcpListenState, 80, 1)), diagMsg(unix.NLMSG_DONE, seq+1, nil)), nil, false, ""},
		{"attributes after the message are skipped", slices.Concat(diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, append(diagSocket(tcpListenState, 80, 1), 8, 0, 1, 0, 1, 2, 3, 4)), done), []Listener{{80, 1}}, true, ""},
		{"an error is its errno", diagMsg(unix.NLMSG_ERROR, seq, diagErrno(int32(syscall.ENOENT))), nil, false, "no such file or directory"},
		{"an acknowledgement is no error", slices.Concat(diagMsg(unix.NLMSG_ERROR, seq, diagErrno(0)), done), nil, true, ""},
		{"a short error", diagMsg(unix.NLMSG_ERROR, seq, []byte{1}), nil, false, "error message of 1 bytes"},
		{"a short socket message", diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, make([]byte, 10)), nil, false, "socket message of 10 bytes"},
		{"a short header", []byte{1, 2, 3}, nil, false, "less than a message header"},
		{"a length beyond the datagram", diagMsg(unix.SOCK_DIAG_BY_FAMILY, seq, diagSocket(tcpListenState, 80, 1))[:40], nil, false, "message of 88 bytes in 40"},
		{"an unexpected type", diagMsg(99, seq, nil), nil, false, "unexpected message type 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done, err := parseDiag(tt.b, seq)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || done != tt.done || !slices.Equal(got, tt.want) {
				t.Errorf("%v, done %v, %v; want %v, done %v", got, done, err, tt.want, tt.done)
			}
		})
	}
}

func FuzzParseDiag(f *testing.F) {
	f.Add(slices.Concat(diagMsg(unix.SOCK_DIAG_BY_FAMILY, 7, diagSocket(tcpListenState, 8080, 11)), diagMsg(unix.NLMSG_DONE, 7, make([]byte, 4))))
	f.Add(diagMsg(unix.NLMSG_ERROR, 7, diagErrno(2)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ls, _, err := parseDiag(b, 7)
		if err != nil {
			return
		}
		// Every listener comes from a socket message of at least
		// inetDiagMsgLen bytes.
		if len(ls)*(unix.NLMSG_HDRLEN+inetDiagMsgLen) > len(b) {
			t.Fatalf("%d listeners from %d bytes", len(ls), len(b))
		}
	})
}

// TestListeningDiag: the kernel's answer names this process's listening
// sockets, by port and by the inode fstat gives them, and no socket that
// does not listen; the tables of /proc/net agree.
func TestListeningDiag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inode := func(c syscall.Conn) uint64 {
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		raw.Control(func(fd uintptr) { err = unix.Fstat(int(fd), &st) })
		if err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	want := Listener{Port: uint16(ln.Addr().(*net.TCPAddr).Port), Inode: inode(ln.(*net.TCPListener))}
	client := inode(conn.(*net.TCPConn))

	ls, err := listeningDiag()
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("no NETLINK_SOCK_DIAG here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ls, want) {
		t.Errorf("the kernel's listeners lack %+v: %v", want, ls)
	}
	if slices.ContainsFunc(ls, func(l Listener) bool { return l.Inode == client }) {
		t.Errorf("a connected socket (inode %d) is among the listeners", client)
	}
	fromProc, err := ListeningSockets("/proc/self/net")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(fromProc, want) {
		t.Errorf("/proc/net's listeners lack %+v, which the kernel's answer has", want)
	}
	if got, err := (Tuner{}).Listening(); err != nil || !slices.Contains(got, want) || !slices.IsSortedFunc(got, func(a, b Listener) int { return int(a.Port) - int(b.Port) }) {
		t.Errorf("Tuner.Listening = %v, %v; want them sorted by port, with %+v", got, err, want)
	}
}
