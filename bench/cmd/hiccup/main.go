// Command hiccup finds the times its thread did not run: it reads the
// clock in a loop for a while and reports every gap between two readings
// above a threshold. Pinned alone to a CPU (taskset -c N), a gap is time
// that CPU was taken from it: on a VM, a freeze of the vCPU by the host.
//
//	taskset -c 1 fjord-hiccup -for 25s -gap 2ms
//
// It spins: it keeps its CPU fully busy while it runs.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

func main() {
	d := flag.Duration("for", 10*time.Second, "how long to watch")
	gap := flag.Duration("gap", 2*time.Millisecond, "the smallest gap reported")
	flag.Parse()
	if *d <= 0 || *gap <= 0 {
		fmt.Fprintln(os.Stderr, "hiccup: -for and -gap must be above 0")
		os.Exit(2)
	}
	runtime.LockOSThread()
	report(os.Stdout, watch(time.Now, *d, *gap))
}

// A hiccup is a gap between two clock readings: when it ended, from the
// start, and how long it was.
type hiccup struct {
	at, gap time.Duration
}

// watch reads now until d has passed and returns the gaps above min.
func watch(now func() time.Time, d, min time.Duration) []hiccup {
	start := now()
	last := start
	var hs []hiccup
	for {
		t := now()
		if g := t.Sub(last); g > min {
			hs = append(hs, hiccup{at: t.Sub(start), gap: g})
		}
		last = t
		if t.Sub(start) >= d {
			return hs
		}
	}
}

func report(w io.Writer, hs []hiccup) {
	var total, longest time.Duration
	for _, h := range hs {
		total += h.gap
		longest = max(longest, h.gap)
		fmt.Fprintf(w, "%8.3fs  %v\n", h.at.Seconds(), h.gap.Round(100*time.Microsecond))
	}
	fmt.Fprintf(w, "%d gaps, %v in all, the longest %v\n", len(hs), total.Round(100*time.Microsecond), longest.Round(100*time.Microsecond))
}
