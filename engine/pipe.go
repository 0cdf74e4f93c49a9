package engine

import (
	"sync/atomic"

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
type pipePool struct {
	size    int // F_SETPIPE_SZ in bytes
	max     int // pipes kept for reuse
	free    []*pipe
	minCap  int // smallest capacity a pipe actually got
	scratch int // the loop's scratch buffer size

	inUse  atomic.Int64
	pooled atomic.Int64
}

func newPipePool(size, max, scratch int) *pipePool {
	return &pipePool{size: size, max: max, minCap: size, scratch: scratch}
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

// put returns an empty pipe. A pipe that may still hold bytes must be
// given to discard instead.
func (pp *pipePool) put(p *pipe) {
	pp.inUse.Add(-1)
	if len(pp.free) >= pp.max {
		p.close()
		return
	}
	pp.free = append(pp.free, p)
	pp.pooled.Add(1)
}

// discard closes a pipe whose content is abandoned.
func (pp *pipePool) discard(p *pipe) {
	pp.inUse.Add(-1)
	p.close()
}

func (pp *pipePool) closeAll() {
	for _, p := range pp.free {
		p.close()
	}
	pp.pooled.Add(-int64(len(pp.free)))
	pp.free = nil
}

func (p *pipe) close() {
	unix.Close(p.r)
	unix.Close(p.w)
}
