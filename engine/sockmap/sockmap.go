// Package sockmap forwards established TCP sessions in the kernel: both
// sockets of a session go into a BPF sockmap whose stream-verdict program
// redirects every segment that arrives on one to the other's egress. The
// event loop that owns the session then only watches for closes, resets,
// timeouts and a slow reader (see verdict).
//
// The program is written with cilium/ebpf's asm package, so that building
// fjord needs no C compiler; it reads one kernel structure field (the peer
// socket's write_seq) through BTF, at an offset looked up in the running
// kernel's BTF when it is loaded.
package sockmap

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Options size a Forwarder.
type Options struct {
	// Pairs is how many sessions can be in the kernel at once (each
	// takes a slot; a session finding none stays with its loop).
	Pairs int
	// Loops is the number of event loops, each with its own doorbell.
	Loops int
	// Window is how many bytes may wait in the kernel for one socket
	// that does not take them before the program keeps further bytes on
	// the sending socket (where TCP flow control stops the sender) and
	// rings the loop's doorbell.
	Window int
}

// Forwarder is the loaded program and its maps, shared by the loops.
type Forwarder struct {
	m     maps
	prog  *ebpf.Program
	loops []*ebpf.Map // each loop's doorbell ring
	rings []*Ring
	// recs and ovf are the shared mappings of m.recs and m.overflow.
	recs, ovf []byte
	slots     *slotStack
	gen       atomic.Uint32
	attached  atomic.Int64
	// syn is what tcpi_bytes_acked counts besides data on a fresh
	// socket, by Role: the kernel counts the SYN a connect(2) sent and
	// acknowledged, not the one of an accepted connection. Measured at
	// Load, so that Written is exact on this kernel.
	syn [2]int64
}

// Role tells the sockets of a pair apart.
type Role uint8

const (
	Client Role = iota // the accepted socket, source of the client-to-server direction
	Server             // the connected socket, source of the server-to-client direction
)

// ringSize is each loop's doorbell ring in bytes. A record takes 16, and
// a socket rings at most once before its loop reads the record and turns
// redirecting back on: the overflow flag covers the rest.
const ringSize = 64 << 10

// Load creates the maps, loads and attaches the verdict program, and runs
// a self-test on a loopback pair. Its error says why the kernel cannot
// forward (no CAP_BPF, no BTF, a verifier refusal, ...).
func Load(o Options) (f *Forwarder, err error) {
	if o.Pairs < 1 || o.Loops < 1 || o.Window < 1 || o.Window > 1<<30 {
		return nil, fmt.Errorf("sockmap: bad options %+v", o)
	}
	off, err := tcpSockOffsets()
	if err != nil {
		return nil, err
	}
	f = &Forwarder{slots: newSlotStack(o.Pairs)}
	defer func() {
		if err != nil {
			f.Close()
			f = nil
		}
	}()
	n := uint32(2 * o.Pairs)
	if f.m.socks, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fjord_socks", Type: ebpf.SockMap, KeySize: 4, ValueSize: 8, MaxEntries: n}); err != nil {
		return f, fmt.Errorf("sockmap: create the sockmap: %w", err)
	}
	if f.m.index, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fjord_index", Type: ebpf.Hash, KeySize: 8, ValueSize: 8, MaxEntries: n}); err != nil {
		return f, fmt.Errorf("sockmap: create the index: %w", err)
	}
	if f.m.recs, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fjord_recs", Type: ebpf.Array, KeySize: 4, ValueSize: recSize, MaxEntries: n, Flags: unix.BPF_F_MMAPABLE}); err != nil {
		return f, fmt.Errorf("sockmap: create the records: %w", err)
	}
	if f.m.overflow, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fjord_ovf", Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: uint32(o.Loops), Flags: unix.BPF_F_MMAPABLE}); err != nil {
		return f, fmt.Errorf("sockmap: create the overflow flags: %w", err)
	}
	ringSpec := &ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: ringSize}
	if f.m.rings, err = ebpf.NewMap(&ebpf.MapSpec{Name: "fjord_rings", Type: ebpf.ArrayOfMaps, KeySize: 4, ValueSize: 4, MaxEntries: uint32(o.Loops), InnerMap: ringSpec}); err != nil {
		return f, fmt.Errorf("sockmap: create the doorbells: %w", err)
	}
	for i := 0; i < o.Loops; i++ {
		r, err := ebpf.NewMap(ringSpec)
		if err != nil {
			return f, fmt.Errorf("sockmap: create doorbell %d: %w", i, err)
		}
		f.loops = append(f.loops, r)
		if err := f.m.rings.Put(uint32(i), r); err != nil {
			return f, fmt.Errorf("sockmap: install doorbell %d: %w", i, err)
		}
		ring, err := newRing(r.FD(), ringSize)
		if err != nil {
			return f, err
		}
		f.rings = append(f.rings, ring)
	}
	if f.recs, err = mmapArray(f.m.recs, int(n)*recSize); err != nil {
		return f, err
	}
	if f.ovf, err = mmapArray(f.m.overflow, o.Loops*4); err != nil {
		return f, err
	}
	f.prog, err = ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "fjord_verdict",
		Type:         ebpf.SkSKB,
		AttachType:   ebpf.AttachSkSKBStreamVerdict,
		Instructions: verdict(f.m, int32(o.Window), off),
		License:      "GPL", // for bpf_skc_to_tcp_sock
	})
	if err != nil {
		return f, fmt.Errorf("sockmap: load the verdict program: %w", err)
	}
	if err := link.RawAttachProgram(link.RawAttachProgramOptions{Target: f.m.socks.FD(), Program: f.prog, Attach: ebpf.AttachSkSKBStreamVerdict}); err != nil {
		return f, fmt.Errorf("sockmap: attach the verdict program: %w", err)
	}
	if err := f.selfTest(); err != nil {
		return f, fmt.Errorf("sockmap: self-test: %w", err)
	}
	return f, nil
}

// tcpSockOffsets finds the fields the program reads in the running
// kernel's struct tcp_sock (struct sock's are at the same offsets: it
// begins with one), from its BTF.
func tcpSockOffsets() (offsets, error) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		return offsets{}, fmt.Errorf("sockmap: the kernel's BTF: %w", err)
	}
	var tcp, sock *btf.Struct
	if err := spec.TypeByName("tcp_sock", &tcp); err != nil {
		return offsets{}, fmt.Errorf("sockmap: struct tcp_sock in the kernel's BTF: %w", err)
	}
	if err := spec.TypeByName("sock", &sock); err != nil {
		return offsets{}, fmt.Errorf("sockmap: struct sock in the kernel's BTF: %w", err)
	}
	var o offsets
	for _, f := range []struct {
		s    *btf.Struct
		name string
		dst  *int16
	}{{tcp, "write_seq", &o.writeSeq}, {sock, "sk_wmem_queued", &o.wmemQueued}, {sock, "sk_sndbuf", &o.sndbuf}} {
		off, err := memberOffset(f.s, f.name)
		if err != nil {
			return offsets{}, err
		}
		*f.dst = off
	}
	return o, nil
}

// memberOffset is the byte offset of a 4-byte member of s.
func memberOffset(s *btf.Struct, name string) (int16, error) {
	for _, m := range s.Members {
		if m.Name != name {
			continue
		}
		if size, err := btf.Sizeof(m.Type); err != nil || size != 4 || m.BitfieldSize != 0 || m.Offset%8 != 0 || m.Offset.Bytes() >= 1<<15 {
			return 0, fmt.Errorf("sockmap: struct %s's %s is not a plain 4-byte field in the kernel's BTF", s.Name, name)
		}
		return int16(m.Offset.Bytes()), nil
	}
	return 0, fmt.Errorf("sockmap: no %s in the kernel's struct %s", name, s.Name)
}

func mmapArray(m *ebpf.Map, size int) ([]byte, error) {
	page := os.Getpagesize()
	b, err := unix.Mmap(m.FD(), 0, (size+page-1)/page*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("sockmap: mmap %s: %w", m, err)
	}
	return b, nil
}

// Close releases everything; the loops must be done with it.
func (f *Forwarder) Close() error {
	for _, r := range f.rings {
		r.close()
	}
	for _, b := range [][]byte{f.recs, f.ovf} {
		if b != nil {
			unix.Munmap(b)
		}
	}
	f.recs, f.ovf = nil, nil
	if f.prog != nil {
		f.prog.Close()
	}
	for _, m := range append([]*ebpf.Map{f.m.socks, f.m.index, f.m.recs, f.m.overflow, f.m.rings}, f.loops...) {
		if m != nil {
			m.Close()
		}
	}
	return nil
}

// Ring is loop's doorbell.
func (f *Forwarder) Ring(loop int) *Ring { return f.rings[loop] }

// TakeOverflow reports, and clears, loop's overflow flag: a doorbell
// record was lost, and the loop must look at every pair it owns.
func (f *Forwarder) TakeOverflow(loop int) bool {
	return atomic.SwapUint32((*uint32)(unsafe.Pointer(&f.ovf[4*loop])), 0) != 0
}

// Pair is a session in the kernel.
type Pair struct {
	slot    uint32
	gen     uint32
	cookies [2]uint64
	// stuck: only the client socket went into the map. Its bytes can
	// never be redirected, nor can it leave the map without losing what
	// the program kept on it: the loop moves both directions to the end.
	stuck bool
}

// Slot identifies the pair among those in the kernel, from 0 to
// Options.Pairs-1.
func (p Pair) Slot() uint32 { return p.slot }

// Stuck reports a pair whose handover failed half-way (see Attach).
func (p Pair) Stuck() bool { return p.stuck }

// Index is the sockmap index, and so the doorbell's number, of the
// direction whose bytes come from role's socket.
func (p Pair) Index(r Role) uint32 { return 2*p.slot + uint32(r) }

// PairOf is the slot and role of a doorbell's index.
func PairOf(index uint32) (slot uint32, r Role) { return index / 2, Role(index % 2) }

// ErrFull is Attach's error when every slot is taken.
var ErrFull = errors.New("sockmap: every slot is taken")

// Attach hands the connected sockets client and server to the kernel, for
// loop. Both directions start kept for the loop (see Resume), so that the
// bytes that reach a socket while the pair is being set up, or that were
// already queued on it, are never redirected ahead of, or behind, bytes
// the loop holds.
//
// On an error the sockets are the loop's as before, unless the returned
// pair is Stuck: the client socket went into the sockmap and the server
// socket did not.
func (f *Forwarder) Attach(loop int, client, server int) (Pair, error) {
	slot, ok := f.slots.pop()
	if !ok {
		return Pair{}, ErrFull
	}
	f.attached.Add(1)
	p := Pair{slot: slot, gen: f.gen.Add(1)}
	var err error
	for r, fd := range [2]int{client, server} {
		if p.cookies[r], err = unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_COOKIE); err != nil {
			f.slots.push(slot)
			f.attached.Add(-1)
			return Pair{}, fmt.Errorf("sockmap: SO_COOKIE: %w", err)
		}
	}
	for r := Client; r <= Server; r++ {
		f.initRecord(p.Index(r), p.gen, loop)
	}
	for r := Client; r <= Server; r++ {
		if err := f.m.index.Put(p.cookies[r], uint64(p.Index(r))|uint64(p.gen)<<32); err != nil {
			f.Release(p)
			return Pair{}, fmt.Errorf("sockmap: index the socket: %w", err)
		}
	}
	if err := f.m.socks.Update(p.Index(Client), uint64(client), ebpf.UpdateAny); err != nil {
		f.Release(p)
		return Pair{}, fmt.Errorf("sockmap: add the client socket: %w", err)
	}
	if err := f.m.socks.Update(p.Index(Server), uint64(server), ebpf.UpdateAny); err != nil {
		p.stuck = true
		return p, fmt.Errorf("sockmap: add the server socket: %w", err)
	}
	// Bytes that arrived before the sockets were in the map are queued
	// where only a new arrival would have the program look at them;
	// SO_RCVLOWAT runs the socket's data_ready (tcp_set_rcvlowat), which
	// takes them to the program now. 1 is the default.
	for _, fd := range [2]int{client, server} {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, 1)
	}
	return p, nil
}

// Attached is how many pairs are in the kernel, stuck ones included: the
// slots Attach gave and Release did not take back yet.
func (f *Forwarder) Attached() int { return int(f.attached.Load()) }

func (f *Forwarder) initRecord(index, gen uint32, loop int) {
	r := f.recs[int(index)*recSize:]
	for off := 0; off < recSize; off += 8 {
		atomic.StoreUint64(f.u64(index, off), 0)
	}
	atomic.StoreUint64(f.u64(index, recGate), passBit)
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&r[recLoop])), uint32(loop))
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&r[recGen])), gen)
}

func (f *Forwarder) u64(index uint32, off int) *uint64 {
	return (*uint64)(unsafe.Pointer(&f.recs[int(index)*recSize+off]))
}

// Release forgets p once both its sockets are closed (closing a socket
// takes it out of the sockmap) and gives its slot back.
func (f *Forwarder) Release(p Pair) {
	for r := Client; r <= Server; r++ {
		_ = f.m.index.Delete(p.cookies[r])
		// A program still running for a socket of p finds the
		// generation changed and leaves the record alone.
		atomic.StoreUint32((*uint32)(unsafe.Pointer(&f.recs[int(p.Index(r))*recSize+recGen])), 0)
	}
	f.slots.push(p.slot)
	f.attached.Add(-1)
}

// Redirected is how many bytes the kernel took from role's socket to the
// other's egress.
func (f *Forwarder) Redirected(p Pair, r Role) uint64 {
	return atomic.LoadUint64(f.u64(p.Index(r), recRedirected))
}

// Keeping reports whether the program keeps role's bytes on its socket
// for the loop instead of redirecting them.
func (f *Forwarder) Keeping(p Pair, r Role) bool {
	return atomic.LoadUint64(f.u64(p.Index(r), recGate))&passBit != 0
}

// Kept is how many bytes the program kept on role's socket for the loop
// since the handover. Kept bytes reach the socket's queue in order but
// not at once: behind bytes the kernel still has to send out of that
// socket, they wait in its send worker's queue. So a read that finds
// nothing, or the end of the stream, means the end only when the loop
// has read Kept bytes.
func (f *Forwarder) Kept(p Pair, r Role) uint64 {
	return atomic.LoadUint64(f.u64(p.Index(r), recGate)) &^ passBit
}

// SetLoopSent tells the program how many bytes the loop wrote to the
// other socket since the handover, in role's direction.
func (f *Forwarder) SetLoopSent(p Pair, r Role, n uint64) {
	atomic.StoreUint64(f.u64(p.Index(r), recLoopSent), n)
}

// Resume turns redirecting back on for role's direction if the loop read
// every byte the program kept: read is how many the loop read from role's
// socket since the handover. It reports false when more were kept, which
// the loop must move first.
func (f *Forwarder) Resume(p Pair, r Role, read uint64) bool {
	return atomic.CompareAndSwapUint64(f.u64(p.Index(r), recGate), passBit|read, read)
}

// LastActive is when the program last saw a segment from either socket
// of p, on the CLOCK_MONOTONIC_COARSE clock (see Now); 0: never.
func (f *Forwarder) LastActive(p Pair) int64 {
	a := atomic.LoadUint64(f.u64(p.Index(Client), recLast))
	b := atomic.LoadUint64(f.u64(p.Index(Server), recLast))
	return int64(max(a, b))
}

// Now is the time on the clock of LastActive.
func Now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC_COARSE, &ts)
	return ts.Nano()
}

// Written is how many bytes were written into the socket fd, of role, by
// anyone (the loop or the kernel's redirects), acknowledged or not:
// tcpi_bytes_acked, which the kernel counts under the socket's lock, and
// then SIOCOUTQ, the bytes written but not yet acknowledged. An
// acknowledgement that arrives between the two makes the sum too small,
// never too large, so a caller that waits for Written to reach a count
// never stops early.
func (f *Forwarder) Written(fd int, r Role) (int64, error) {
	acked, err := bytesAcked(fd)
	if err != nil {
		return 0, err
	}
	q, err := outq(fd)
	if err != nil {
		return 0, err
	}
	return acked + q - f.syn[r], nil
}

// ErrUnsettled is WrittenSettled's error when acknowledgements kept
// arriving while it read.
var ErrUnsettled = errors.New("sockmap: acknowledgements kept arriving while the write count was read")

// settleTries bounds WrittenSettled's attempts.
const settleTries = 4

// WrittenSettled is Written, exact, for a socket that nobody writes into
// meanwhile (before a handover: only its loop writes, and it is busy
// here). A count taken as the base of later Written counts must be
// exact: too small, and a wait for the kernel's queue would end while
// bytes are still in it. So tcpi_bytes_acked is read again after SIOCOUTQ,
// and the three again if an acknowledgement came in between. It reports
// ErrUnsettled if one came in every attempt.
func (f *Forwarder) WrittenSettled(fd int, r Role) (int64, error) {
	for range settleTries {
		a, err := bytesAcked(fd)
		if err != nil {
			return 0, err
		}
		q, err := outq(fd)
		if err != nil {
			return 0, err
		}
		b, err := bytesAcked(fd)
		if err != nil {
			return 0, err
		}
		if a == b {
			return a + q - f.syn[r], nil
		}
	}
	return 0, ErrUnsettled
}

// bytesAcked is the socket's tcpi_bytes_acked.
func bytesAcked(fd int) (int64, error) {
	var info unix.TCPInfo
	n := uint32(unsafe.Sizeof(info))
	if _, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&n)), 0); e != 0 {
		return 0, fmt.Errorf("TCP_INFO: %w", e)
	}
	if n < uint32(unsafe.Offsetof(info.Bytes_acked)+8) {
		return 0, errors.New("TCP_INFO without tcpi_bytes_acked")
	}
	return int64(info.Bytes_acked), nil
}

// outq is the socket's SIOCOUTQ: bytes written and not yet acknowledged.
func outq(fd int) (int64, error) {
	var q int32
	if _, _, e := unix.RawSyscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCOUTQ, uintptr(unsafe.Pointer(&q))); e != 0 {
		return 0, fmt.Errorf("SIOCOUTQ: %w", e)
	}
	return int64(q), nil
}

// selfTest forwards a few bytes each way through a pair of loopback
// connections, and measures syn on the way. It runs once per Load: a
// kernel that loads the program but does not forward with it is refused
// here rather than at the first session.
func (f *Forwarder) selfTest() error {
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fmt.Errorf("bind 127.0.0.1: %w", err)
	}
	if err := unix.Listen(ln, 4); err != nil {
		return err
	}
	sa, err := unix.Getsockname(ln)
	if err != nil {
		return err
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// c1 -> a1 = the pair's client socket; c2 = its server socket -> a2.
	conn := func() (c, a int, err error) {
		if c, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return
		}
		fds = append(fds, c)
		if err = unix.Connect(c, sa); err != nil {
			return
		}
		if a, _, err = unix.Accept4(ln, unix.SOCK_CLOEXEC); err != nil {
			return
		}
		fds = append(fds, a)
		tv := unix.NsecToTimeval((2 * time.Second).Nanoseconds())
		for _, fd := range []int{c, a} {
			if err = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return
			}
		}
		return
	}
	c1, a1, err := conn()
	if err != nil {
		return err
	}
	c2, a2, err := conn()
	if err != nil {
		return err
	}
	f.syn = [2]int64{}
	for r, fd := range [2]int{a1, c2} {
		w, err := f.Written(fd, Role(r))
		if err != nil {
			return err
		}
		f.syn[r] = w
	}
	if f.syn[Client] < 0 || f.syn[Client] > 1 || f.syn[Server] < 0 || f.syn[Server] > 1 {
		return fmt.Errorf("fresh sockets count %v bytes acknowledged", f.syn)
	}
	p, err := f.Attach(0, a1, c2)
	if err != nil {
		if p.Stuck() {
			for _, fd := range fds {
				unix.Close(fd) // out of the sockmap before the pair is forgotten
			}
			fds = nil
			f.Release(p)
		}
		return err
	}
	defer func() {
		for _, fd := range fds {
			unix.Close(fd) // out of the sockmap before the pair is forgotten
		}
		fds = nil
		f.Release(p)
	}()
	for r := Client; r <= Server; r++ {
		if !f.Resume(p, r, 0) {
			return errors.New("a fresh pair's gate was touched")
		}
	}
	for _, x := range []struct {
		from, to int
		msg      string
	}{{c1, a2, "fjord sockmap self-test: client to server"}, {a2, c1, "and back"}} {
		if _, err := unix.Write(x.from, []byte(x.msg)); err != nil {
			return err
		}
		got := make([]byte, 64)
		n, err := unix.Read(x.to, got)
		if err != nil {
			return fmt.Errorf("nothing forwarded: %w", err)
		}
		if string(got[:n]) != x.msg {
			return fmt.Errorf("forwarded %q, want %q", got[:n], x.msg)
		}
	}
	if a, b := f.Redirected(p, Client), f.Redirected(p, Server); a == 0 || b == 0 {
		return fmt.Errorf("bytes arrived but the counters say %d and %d", a, b)
	}
	return nil
}
