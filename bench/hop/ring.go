package hop

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A minimal io_uring, on the raw system calls (no cgo, and no library:
// none is maintained that the module proxy here serves). The layouts and
// numbers below are the kernel's UAPI, include/uapi/linux/io_uring.h; only
// what the hop uses is here.

// sqe is struct io_uring_sqe (64 bytes). The unions are named after the
// member the hop uses.
type sqe struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16 // also the send/recv and accept flags (multishot)
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	opFlags  uint32 // msg_flags, accept_flags, cancel_flags, poll32_events
	userData uint64
	bufGroup uint16 // buf_index / buf_group
	_        uint16 // personality
	_        int32  // splice_fd_in / file_index
	_        uint64 // addr3
	_        uint64
}

// cqe is struct io_uring_cqe (16 bytes; the ring is not set up with
// CQE32).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// params is struct io_uring_params.
type params struct {
	sqEntries    uint32
	cqEntries    uint32
	flags        uint32
	sqThreadCPU  uint32
	sqThreadIdle uint32
	features     uint32
	wqFD         uint32
	_            [3]uint32
	sqOff        sqOffsets
	cqOff        cqOffsets
}

type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, _ uint32
	_                                                           uint64
}

type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, _ uint32
	_                                                           uint64
}

// getEventsArg is struct io_uring_getevents_arg, for a wait with a
// timeout (IORING_ENTER_EXT_ARG).
type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	_         uint32
	ts        uint64
}

// bufReg is struct io_uring_buf_reg, for IORING_REGISTER_PBUF_RING.
type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	_           uint16
	_           [3]uint64
}

// ringBuf is struct io_uring_buf, one entry of a provided buffer ring.
type ringBuf struct {
	addr uint64
	len  uint32
	bid  uint16
	_    uint16 // in entry 0: the ring's tail
}

const (
	setupCQSize        = 1 << 3
	setupSubmitAll     = 1 << 7
	setupCoopTaskrun   = 1 << 8
	setupTaskrunFlag   = 1 << 9
	setupSingleIssuer  = 1 << 12
	setupDeferTaskrun  = 1 << 13
	featSingleMmap     = 1 << 0
	featNoDrop         = 1 << 1
	featExtArg         = 1 << 8
	enterGetEvents     = 1 << 0
	enterExtArg        = 1 << 3
	offSQRing          = 0
	offSQEs            = 0x10000000
	registerPbufRing   = 22
	opPollAdd          = 6
	opAccept           = 13
	opAsyncCancel      = 14
	opClose            = 19
	opSend             = 26
	opRecv             = 27
	sqeIOHardlink      = 1 << 3
	sqeBufferSelect    = 1 << 5
	recvMultishot      = 1 << 1
	acceptMultishot    = 1 << 0
	pollAddMulti       = 1 << 0
	cancelFD           = 1 << 1
	cancelAll          = 1 << 0
	cancelAny          = 1 << 2
	cqeFBuffer         = 1 << 0
	cqeFMore           = 1 << 1
	cqeBufferShift     = 16
	sizeofSQE          = 64
	sizeofCQE          = 16
	sizeofGetEventsArg = 24
)

// ring is one io_uring: its queues mapped into the process.
type ring struct {
	fd    int
	flags uint32 // the setup flags the kernel took

	sqMem, sqeMem []byte // the rings' mapping (the CQ's too: single mmap), the SQEs'

	sqHead, sqTail *uint32 // the kernel's head; the tail the kernel reads
	sqMask         uint32
	sqEntries      uint32
	sqes           []sqe
	sqLocal        uint32 // the tail of the entries prepared, published by enter

	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           []cqe

	// arg and ts live here, on the heap, because the kernel reads ts
	// through a pointer inside arg.
	arg getEventsArg
	ts  unix.Timespec
}

// setupTries are the flag sets tried in turn: the task-work modes that
// spare interrupts first (DEFER_TASKRUN runs completions only when the
// loop enters the kernel to wait for them, on its own thread), then the
// plain ring.
var setupTries = []uint32{
	setupSingleIssuer | setupDeferTaskrun,
	setupCoopTaskrun | setupTaskrunFlag,
	0,
}

// newRing sets up a ring of entries submission slots and four times as
// many completion slots (one recv can post many completions). The caller
// must be locked to its OS thread: with SINGLE_ISSUER only this thread
// may submit and wait.
func newRing(entries uint32) (*ring, error) {
	var err error
	for _, flags := range setupTries {
		p := params{flags: flags | setupCQSize | setupSubmitAll, cqEntries: 4 * entries}
		var r *ring
		if r, err = setupRing(entries, &p); err == nil {
			return r, nil
		}
		if !errors.Is(err, unix.EINVAL) {
			break
		}
	}
	return nil, err
}

func setupRing(entries uint32, p *params) (*ring, error) {
	fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", e)
	}
	r := &ring{fd: int(fd), flags: p.flags}
	if p.features&featSingleMmap == 0 || p.features&featExtArg == 0 || p.features&featNoDrop == 0 {
		unix.Close(r.fd)
		return nil, fmt.Errorf("io_uring lacks SINGLE_MMAP, EXT_ARG or NODROP (features %#x): kernel too old", p.features)
	}
	if err := r.mmap(p); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// mmap maps the rings: the SQ and CQ rings share one mapping
// (IORING_FEAT_SINGLE_MMAP), the SQEs have their own.
func (r *ring) mmap(p *params) error {
	sqSize := int(p.sqOff.array + p.sqEntries*4)
	cqSize := int(p.cqOff.cqes + p.cqEntries*sizeofCQE)
	size := max(sqSize, cqSize)
	mem, err := unix.Mmap(r.fd, offSQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap of the rings: %w", err)
	}
	r.sqMem = mem
	sqes, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sizeofSQE, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("mmap of the SQEs: %w", err)
	}
	r.sqeMem = sqes
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail = at(p.sqOff.head), at(p.sqOff.tail)
	r.sqMask, r.sqEntries = *at(p.sqOff.ringMask), *at(p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqes[0])), p.sqEntries)
	// The SQ array maps ring slots to SQEs: the identity, once, so
	// that slot i always holds SQE i.
	array := unsafe.Slice((*uint32)(unsafe.Pointer(&mem[p.sqOff.array])), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}
	r.cqHead, r.cqTail = at(p.cqOff.head), at(p.cqOff.tail)
	r.cqMask = *at(p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&mem[p.cqOff.cqes])), p.cqEntries)
	r.sqLocal = atomic.LoadUint32(r.sqTail)
	return nil
}

func (r *ring) close() {
	if r.sqeMem != nil {
		_ = unix.Munmap(r.sqeMem)
	}
	if r.sqMem != nil {
		_ = unix.Munmap(r.sqMem)
	}
	unix.Close(r.fd)
}

// get returns the next free SQE, zeroed. When the queue is full it first
// submits what it holds (without waiting).
func (r *ring) get() (*sqe, error) {
	if r.sqLocal-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
		if _, err := r.enter(0, nil, true); err != nil && !errors.Is(err, unix.EINTR) {
			return nil, err
		}
		if r.sqLocal-atomic.LoadUint32(r.sqHead) >= r.sqEntries {
			return nil, errors.New("io_uring submission queue full")
		}
	}
	s := &r.sqes[r.sqLocal&r.sqMask]
	*s = sqe{}
	r.sqLocal++
	return s, nil
}

// enter publishes the prepared SQEs and submits them, and with
// minComplete > 0 waits until that many completions are ready (for at
// most ts, when not nil). raw makes the call without telling the Go
// scheduler (see uringLoop.run). With GETEVENTS the kernel also runs the
// ring's deferred task work, which is what turns finished I/O into
// completions under DEFER_TASKRUN.
func (r *ring) enter(minComplete uint32, ts *unix.Timespec, raw bool) (int, error) {
	atomic.StoreUint32(r.sqTail, r.sqLocal)
	toSubmit := r.sqLocal - atomic.LoadUint32(r.sqHead)
	flags := uintptr(enterGetEvents)
	var argp, argsz uintptr
	if ts != nil {
		r.ts = *ts
		r.arg = getEventsArg{ts: uint64(uintptr(unsafe.Pointer(&r.ts)))}
		flags |= enterExtArg
		argp, argsz = uintptr(unsafe.Pointer(&r.arg)), sizeofGetEventsArg
	}
	var (
		n uintptr
		e unix.Errno
	)
	if raw {
		n, _, e = unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), flags, argp, argsz)
	} else {
		n, _, e = unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(minComplete), flags, argp, argsz)
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// cqReady returns the completions ready: from head to tail.
func (r *ring) cqReady() (head, tail uint32) {
	return atomic.LoadUint32(r.cqHead), atomic.LoadUint32(r.cqTail)
}

func (r *ring) cqAt(i uint32) cqe { return r.cqes[i&r.cqMask] }

// cqDone gives completions up to head back to the kernel.
func (r *ring) cqDone(head uint32) { atomic.StoreUint32(r.cqHead, head) }

// register is io_uring_register(2).
func (r *ring) register(op uintptr, arg unsafe.Pointer, n uintptr) error {
	_, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), op, uintptr(arg), n, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// bufRing is a provided buffer ring (IORING_REGISTER_PBUF_RING): buffers
// of one size that a multishot recv picks from as data arrives, so that
// no buffer is tied to a connection that has nothing to read. Its entries
// and buffers are mapped outside the Go heap: the kernel writes into them
// whenever it likes.
type bufRing struct {
	entries []ringBuf
	mem     []byte // the entries' mapping
	bufs    []byte // count*size bytes
	size    int
	mask    uint16
	tail    uint16 // our tail, published by publish
	out     int    // buffers handed to the kernel and not given back yet
	bid0    uint16 // the bid in entry 0 (see publish)
	changed bool
}

// newBufRing registers count buffers of size bytes as group.
func (r *ring) newBufRing(group uint16, count, size int) (*bufRing, error) {
	ringBytes := count * int(unsafe.Sizeof(ringBuf{}))
	mem, err := unix.Mmap(-1, 0, max(ringBytes, unix.Getpagesize()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap of the buffer ring: %w", err)
	}
	bufs, err := unix.Mmap(-1, 0, count*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANONYMOUS|unix.MAP_PRIVATE|unix.MAP_POPULATE)
	if err != nil {
		_ = unix.Munmap(mem)
		return nil, fmt.Errorf("mmap of %d buffers of %d bytes: %w", count, size, err)
	}
	b := &bufRing{
		entries: unsafe.Slice((*ringBuf)(unsafe.Pointer(&mem[0])), count),
		mem:     mem, bufs: bufs, size: size, mask: uint16(count - 1),
	}
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), ringEntries: uint32(count), bgid: group}
	if err := r.register(registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		b.unmap()
		return nil, fmt.Errorf("IORING_REGISTER_PBUF_RING: %w", err)
	}
	for i := range count {
		b.add(uint16(i))
	}
	b.publish()
	return b, nil
}

// buf is buffer bid's memory.
func (b *bufRing) buf(bid uint16) []byte {
	off := int(bid) * b.size
	return b.bufs[off : off+b.size : off+b.size]
}

// addr is the address of byte off of buffer bid, for an SQE.
func (b *bufRing) addr(bid uint16, off int) uint64 {
	return uint64(uintptr(unsafe.Pointer(&b.bufs[int(bid)*b.size+off])))
}

// put gives buffer bid back: written past the tail the kernel sees, and
// visible at the next publish.
func (b *bufRing) put(bid uint16) {
	b.add(bid)
	b.out--
}

func (b *bufRing) add(bid uint16) {
	i := b.tail & b.mask
	b.entries[i] = ringBuf{addr: b.addr(bid, 0), len: uint32(b.size), bid: bid}
	if i == 0 {
		b.bid0 = bid
	}
	b.tail++
	b.changed = true
}

// took counts a buffer the kernel filled.
func (b *bufRing) took() { b.out++ }

// publish makes the buffers put since the last publish visible to the
// kernel. The tail is a 16-bit field overlaid on entry 0's last one, and
// Go has no 16-bit atomic store: the 32-bit word that holds it also holds
// entry 0's bid, which is stored again with the value this side wrote
// there (the kernel only reads it), so that the one atomic store orders
// the entries written before it. The tail is the word's upper half on a
// little-endian machine, which is what the hop is built for (amd64,
// arm64).
func (b *bufRing) publish() {
	if !b.changed {
		return
	}
	word := (*uint32)(unsafe.Pointer(&b.entries[0].bid))
	atomic.StoreUint32(word, uint32(b.tail)<<16|uint32(b.bid0))
	b.changed = false
}

func (b *bufRing) unmap() {
	_ = unix.Munmap(b.bufs)
	_ = unix.Munmap(b.mem)
}

// flagNames says which setup flags a ring has, for the start-up line.
func flagNames(f uint32) string {
	var s []string
	for _, n := range []struct {
		bit  uint32
		name string
	}{{setupSingleIssuer, "SINGLE_ISSUER"}, {setupDeferTaskrun, "DEFER_TASKRUN"}, {setupCoopTaskrun, "COOP_TASKRUN"},
		{setupTaskrunFlag, "TASKRUN_FLAG"}, {setupSubmitAll, "SUBMIT_ALL"}} {
		if f&n.bit != 0 {
			s = append(s, n.name)
		}
	}
	return strings.Join(s, "|")
}
