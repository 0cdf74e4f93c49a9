package engine

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// policies reads each loop thread's scheduling policy from the kernel.
func policies(t *testing.T, e *Engine) []int {
	t.Helper()
	var out []int
	for _, l := range e.loops {
		r, _, errno := unix.RawSyscall(unix.SYS_SCHED_GETSCHEDULER, uintptr(l.tid.Load()), 0, 0)
		if errno != 0 {
			t.Fatalf("sched_getscheduler(loop %d, tid %d): %v", l.id, l.tid.Load(), errno)
		}
		out = append(out, int(r))
	}
	return out
}

func countPolicy(ps []int, policy int) int {
	n := 0
	for _, p := range ps {
		if p == policy {
			n++
		}
	}
	return n
}

func TestBulkStreamPutsItsLoopUnderSchedBatch(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", slowEchoServer(t)))
	if err := roundTrip(t, addr, 16<<20); err != nil {
		t.Fatalf("16 MiB round trip: %v", err)
	}
	// The loop that carried the stream stays SCHED_BATCH for batchLinger
	// after its last bulk splice; the kernel, not only the gauge, says so.
	ps := policies(t, e)
	st := e.Stats()
	if st.BatchLoops == 0 || countPolicy(ps, schedBatch) != int(st.BatchLoops) {
		t.Fatalf("after a bulk transfer: BatchLoops %d, loop policies %v (3 is SCHED_BATCH)", st.BatchLoops, ps)
	}
	// Once no bulk stream has moved for batchLinger, the next wakeup puts
	// every loop back under SCHED_OTHER.
	time.Sleep(batchLinger + 100*time.Millisecond)
	for _, l := range e.loops {
		l.wake()
	}
	if !waitFor(5*time.Second, func() bool { return e.Stats().BatchLoops == 0 }) {
		t.Fatalf("%v after the bulk transfer: BatchLoops %d, want 0", batchLinger, e.Stats().BatchLoops)
	}
	if ps := policies(t, e); countPolicy(ps, schedOther) != len(ps) {
		t.Errorf("loop policies %v after the linger, want all SCHED_OTHER (0)", ps)
	}
}

func TestSmallFlowsKeepTheDefaultPolicy(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", plainEchoServer(t)))
	for i := 0; i < 50; i++ {
		if err := roundTrip(t, addr, 40<<10); err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
	}
	if ps, st := policies(t, e), e.Stats(); st.BatchLoops != 0 || countPolicy(ps, schedOther) != len(ps) {
		t.Errorf("after 40 KiB round trips: BatchLoops %d, loop policies %v, want all SCHED_OTHER (0)", st.BatchLoops, ps)
	}
}

func TestSchedBatchOff(t *testing.T) {
	cfg := tcpConfig(t, "", slowEchoServer(t))
	cfg = "global\n  tune.sched-batch off\n" + cfg[len("global\n"):]
	e, addr := startEngine(t, cfg)
	if err := roundTrip(t, addr, 16<<20); err != nil {
		t.Fatalf("16 MiB round trip: %v", err)
	}
	if ps, st := policies(t, e), e.Stats(); st.BatchLoops != 0 || countPolicy(ps, schedOther) != len(ps) {
		t.Errorf("tune.sched-batch off, after a bulk transfer: BatchLoops %d, loop policies %v, want all SCHED_OTHER (0)", st.BatchLoops, ps)
	}
}
