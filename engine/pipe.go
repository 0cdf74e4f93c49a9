package engine

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// pipe is a kernel pipe used as the in-kernel buffer between two sockets.
type pipe struct {
	r, w     int
	capacity int // bytes the pipe holds (F_GETPIPE_SZ)
}

// pipePool hands out pipes to one loop's sessions. A session holds a pipe
// only while bytes are in flight and gives it back as soon as it is empty,
// so an idle connection holds none. Only the owning loop calls get and put;
// the counters are atomics so that other goroutines may read them.
//
// Pipes start at size. A flow that keeps moving more than a pipe per burst
// (a download, an upload) has its pipe grown to bulkSize: with 64 KiB pipes
// a gigabyte costs 16 times the splices it costs with 1 MiB ones, while a
// keep-alive request needs no more than 64 KiB. Grown pipes are kept apart
// and given to such flows again, and at most bulkMax of them exist at once,
// so that the kernel memory they may pin stays bounded (and within
// fs.pipe-user-pages-soft) whatever maxconn is.
type pipePool struct {
	size    int // F_SETPIPE_SZ in bytes
	max     int // pipes kept for reuse
	free    []*pipe
	minCap  int // smallest capacity a pipe actually got
	scratch int // the loop's scratch buffer size

	bulkSize  int // what a bulk flow's pipe grows to; <= size: never
	bulkMax   int // grown pipes that may exist at once
	bulkFree  []*pipe
	growAfter time.Time // after a refused grow, when to ask again

	inUse  atomic.Int64
	pooled atomic.Int64
	grown  atomic.Int64 // grown pipes that exist (in use or pooled)
}

// BulkPipesPerLoop bounds the grown pipes of one loop: 16 MiB of pipe
// buffers at the default bulk size, so that two loops stay well inside the
// kernel's default per-user allowance of 64 MiB (fs.pipe-user-pages-soft).
const BulkPipesPerLoop = 16

// growRetry is how long a pool waits after the kernel refused to grow a pipe.
const growRetry = time.Second

func newPipePool(size, bulkSize, max, scratch int) *pipePool {
	return &pipePool{size: size, max: max, minCap: size, scratch: scratch,
		bulkSize: bulkSize, bulkMax: BulkPipesPerLoop}
}

// copyMax is how much one copy-mode read may take: what fits in the scratch
// buffer and in any pipe, so that bytes a busy destination refuses can
// always be stashed whole.
func (pp *pipePool) copyMax() int {
	return min(pp.scratch, pp.minCap)
}

func (pp *pipePool) get() (*pipe, error) {
	var p *pipe
	if n := len(pp.free); n > 0 {
		p = pp.free[n-1]
		pp.free = pp.free[:n-1]
		pp.pooled.Add(-1)
	} else {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
			return nil, err
		}
		// A failure leaves the kernel's default size (64 KiB): the pipe
		// still works, it only moves less per splice. fs.pipe-max-size
		// bounds what an unprivileged process may ask for.
		got, err := unix.FcntlInt(uintptr(fds[1]), unix.F_SETPIPE_SZ, pp.size)
		if err != nil {
			got, _ = unix.FcntlInt(uintptr(fds[1]), unix.F_GETPIPE_SZ, 0)
		}
		if got > 0 && got < pp.minCap {
			pp.minCap = got
		}
		p = &pipe{r: fds[0], w: fds[1], capacity: got}
	}
	pp.inUse.Add(1)
	return p, nil
}

// getBulk is get for a flow known to move bulk data: a grown pipe when one
// is pooled, else an ordinary one that grow may enlarge.
func (pp *pipePool) getBulk() (*pipe, error) {
	if n := len(pp.bulkFree); n > 0 {
		p := pp.bulkFree[n-1]
		pp.bulkFree = pp.bulkFree[:n-1]
		pp.pooled.Add(-1)
		pp.inUse.Add(1)
		return p, nil
	}
	return pp.get()
}

// grow enlarges p to bulkSize if it is not grown yet and the bound allows.
// It may hold bytes: growing never loses them. A refusal (EPERM above
// fs.pipe-max-size or past fs.pipe-user-pages-soft without
// CAP_SYS_RESOURCE) leaves p as it was, and the flow still works; the pool
// then asks again only after growRetry, as the next attempts would most
// likely be refused too.
func (pp *pipePool) grow(p *pipe, now time.Time) {
	if p.capacity >= pp.bulkSize || int(pp.grown.Load()) >= pp.bulkMax || now.Before(pp.growAfter) {
		return
	}
	if len(pp.bulkFree) > 0 {
		// A grown pipe is waiting: the flow (now a stream) takes it
		// with getBulk once this one is empty, rather than making
		// every new bulk session grow a pipe of its own.
		return
	}
	got, err := unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, pp.bulkSize)
	if err != nil || got <= p.capacity {
		pp.growAfter = now.Add(growRetry)
		return
	}
	p.capacity = got
	pp.grown.Add(1)
}

func (pp *pipePool) isGrown(p *pipe) bool { return p.capacity > pp.size && pp.bulkSize > pp.size }

// put returns an empty pipe. A pipe that may still hold bytes must be
// given to discard instead.
func (pp *pipePool) put(p *pipe) {
	pp.inUse.Add(-1)
	if pp.isGrown(p) {
		if len(pp.bulkFree) < pp.bulkMax {
			pp.bulkFree = append(pp.bulkFree, p)
			pp.pooled.Add(1)
			return
		}
		pp.closePipe(p)
		return
	}
	if len(pp.free) >= pp.max {
		pp.closePipe(p)
		return
	}
	pp.free = append(pp.free, p)
	pp.pooled.Add(1)
}

// discard closes a pipe whose content is abandoned.
func (pp *pipePool) discard(p *pipe) {
	pp.inUse.Add(-1)
	pp.closePipe(p)
}

func (pp *pipePool) closePipe(p *pipe) {
	if pp.isGrown(p) {
		pp.grown.Add(-1)
	}
	p.close()
}

func (pp *pipePool) closeAll() {
	for _, list := range [][]*pipe{pp.free, pp.bulkFree} {
		for _, p := range list {
			pp.closePipe(p)
		}
		pp.pooled.Add(-int64(len(list)))
	}
	pp.free, pp.bulkFree = nil, nil
}

func (p *pipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}
