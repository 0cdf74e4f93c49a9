package engine

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Scheduling of a loop that carries bulk streams.
//
// Under the default policy a loop woken by the kernel (a segment arrived,
// the destination freed space) preempts whatever runs on that CPU, often the
// very client or server that produces or consumes the stream. It then finds
// one segment's worth of bytes, splices it on, and sleeps again: many small
// transfers, each a wakeup of the peer on the other side as well. On a
// loaded two-core machine that eagerness left fjord at 1.03-1.18 times the
// CPU per GB of an io.Copy proxy, whose goroutine wakeups are slower and so
// move more per wakeup; under SCHED_BATCH it is at 0.83-0.87
// (docs/engine-performance.md).
//
// SCHED_BATCH keeps the thread's share of the CPU (same weight, same nice)
// but gives up wakeup preemption: a woken loop on a busy CPU runs when the
// current task's slice ends or it blocks, by which time more bytes are
// queued. On an idle CPU it runs at once, as before. Because that delay is
// wrong for small request/response traffic, a loop is switched to
// SCHED_BATCH only while it moves bulk streams, and back to SCHED_OTHER once
// none has moved for batchLinger.

// batchLinger is how long a loop stays SCHED_BATCH after its last bulk
// splice: long enough that a stream pausing between bursts does not flip
// the policy back and forth.
const batchLinger = time.Second

const (
	schedOther = 0 // SCHED_OTHER (SCHED_NORMAL)
	schedBatch = 3 // SCHED_BATCH
)

// setPolicy sets the calling thread's scheduling policy (priority 0, which
// both policies require). The loop's goroutine is locked to its thread, and
// a locked thread ends with its goroutine, so the policy never reaches
// another goroutine.
func setPolicy(policy int) error {
	var prio int32 // struct sched_param { int sched_priority; }
	_, _, e := unix.RawSyscall(unix.SYS_SCHED_SETSCHEDULER, 0, uintptr(policy), uintptr(unsafe.Pointer(&prio)))
	return errnoErr(e)
}

// streaming records that a bulk stream moved bytes now, and puts the loop
// under SCHED_BATCH if it is not already.
func (l *loop) streaming() {
	l.lastBulk = l.now
	if l.batch.Load() || !l.eng.schedBatch || l.batchFailed {
		return
	}
	if err := setPolicy(schedBatch); err != nil {
		l.batchFailed = true // not worth retrying on every splice
		l.eng.logf("loop %d: cannot switch to SCHED_BATCH for bulk streams: %v", l.id, err)
		return
	}
	l.batch.Store(true)
}

// settle puts the loop back under SCHED_OTHER once no bulk stream has moved
// for batchLinger.
func (l *loop) settle() {
	if !l.batch.Load() || l.now.Sub(l.lastBulk) < batchLinger {
		return
	}
	if err := setPolicy(schedOther); err != nil {
		l.eng.logf("loop %d: cannot switch back to SCHED_OTHER: %v", l.id, err)
		l.batchFailed = true
	}
	l.batch.Store(false) // on failure too: never retried, the loop stays as it is
}
