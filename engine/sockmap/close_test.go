package sockmap

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Bytes the program kept on a socket stay readable after the socket
// closed (fjord's FIN, then its peer's, either way round: TCP_CLOSE takes
// it out of the sockmap), so that the loop forwards them whenever it gets
// to them: a half-closed session needs nothing more.
func TestKeptBytesOutliveTheClose(t *testing.T) {
	for _, tc := range []struct {
		name      string
		finsFirst bool // fjord's FIN first
	}{{"fjord's FIN first", true}, {"the peer's FIN first", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := load(t, Options{Pairs: 4, Loops: 1, Window: 64 << 10})
			pp := newProxyPair(t, f)
			// The server reads nothing: the program keeps the client's
			// bytes once the window is full.
			chunk := make([]byte, 64<<10)
			for !f.Keeping(pp.p, Client) {
				pp.client.SetWriteDeadline(time.Now().Add(2 * time.Second))
				if _, err := pp.client.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, func() bool { n, _ := unix.IoctlGetInt(pp.cfd, unix.SIOCINQ); return n > 0 })
			state := func(want uint8) func() bool {
				return func() bool {
					info, err := unix.GetsockoptTCPInfo(pp.cfd, unix.IPPROTO_TCP, unix.TCP_INFO)
					return err == nil && info.State == want
				}
			}
			const finWait2, closeWait, closed = 5, 8, 7
			ours := func() { unix.Shutdown(pp.cfd, unix.SHUT_WR) }
			theirs := func() { pp.client.(*net.TCPConn).CloseWrite() }
			if tc.finsFirst {
				ours()
				waitFor(t, state(finWait2))
				theirs()
			} else {
				theirs()
				waitFor(t, state(closeWait))
				ours()
			}
			waitFor(t, state(closed))
			var read uint64
			buf := make([]byte, 1<<20)
			for {
				n, err := unix.Read(pp.cfd, buf)
				if n <= 0 {
					if n < 0 || err != nil {
						t.Fatalf("read: %v", err)
					}
					break
				}
				read += uint64(n)
			}
			if kept := f.Kept(pp.p, Client); read != kept || kept == 0 {
				t.Fatalf("read %d bytes back of %d kept", read, kept)
			}
		})
	}
}
