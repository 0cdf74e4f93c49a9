package sockmap

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is the reading end of one event loop's doorbell, a BPF ring buffer
// the verdict program writes a socket's index into when it starts keeping
// that socket's bytes for the loop. The loop polls FD with its other
// descriptors and calls Drain when it is readable. It is read without
// cilium/ebpf's ringbuf.Reader, which waits in an epoll set of its own:
// the loop's epoll set is the one place it waits.
type Ring struct {
	fd   int
	cons []byte // the consumer position's page, writable
	prod []byte // the producer position's page, then the data twice
	data []byte
	mask uint64
}

// Ring record header bits (include/uapi/linux/bpf.h).
const (
	ringBusy    = 1 << 31
	ringDiscard = 1 << 30
	ringHdrLen  = 8
)

func newRing(fd, size int) (*Ring, error) {
	page := os.Getpagesize()
	cons, err := unix.Mmap(fd, 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap ring consumer page: %w", err)
	}
	// The data follows the producer page twice over, so that a record
	// that wraps around the end reads as one piece.
	prod, err := unix.Mmap(fd, int64(page), page+2*size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		unix.Munmap(cons)
		return nil, fmt.Errorf("mmap ring data: %w", err)
	}
	return &Ring{fd: fd, cons: cons, prod: prod, data: prod[page:], mask: uint64(size - 1)}, nil
}

// FD is the descriptor to poll for EPOLLIN.
func (r *Ring) FD() int { return r.fd }

func (r *Ring) consPos() *uint64 { return (*uint64)(unsafe.Pointer(&r.cons[0])) }
func (r *Ring) prodPos() *uint64 { return (*uint64)(unsafe.Pointer(&r.prod[0])) }

// Drain calls fn with the socket index of every record written since the
// last Drain, and reports how many there were.
func (r *Ring) Drain(fn func(index uint32)) int {
	n := 0
	cons := atomic.LoadUint64(r.consPos())
	for {
		prod := atomic.LoadUint64(r.prodPos())
		if cons >= prod {
			return n
		}
		for cons < prod {
			hdr := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.data[cons&r.mask])))
			if hdr&ringBusy != 0 {
				// Reserved, not yet committed: the commit wakes the
				// poller again.
				return n
			}
			size := uint64(hdr &^ (ringBusy | ringDiscard))
			if hdr&ringDiscard == 0 && size >= 4 {
				fn(*(*uint32)(unsafe.Pointer(&r.data[(cons+ringHdrLen)&r.mask])))
				n++
			}
			cons += (size + ringHdrLen + 7) &^ 7
			atomic.StoreUint64(r.consPos(), cons)
		}
	}
}

func (r *Ring) close() {
	if r.cons != nil {
		unix.Munmap(r.cons)
		unix.Munmap(r.prod)
		r.cons, r.prod = nil, nil
	}
}
