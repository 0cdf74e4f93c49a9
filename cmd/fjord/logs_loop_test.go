package main

import (
	"log"
	"strings"
	"testing"
)

// stallWriter blocks every write until released, as a stderr pipe nobody
// reads would.
type stallWriter struct {
	release chan struct{}
	got     strings.Builder
}

func (w *stallWriter) Write(p []byte) (int, error) {
	<-w.release
	w.got.Write(p)
	return len(p), nil
}

func TestLoopLoggerNeverWaits(t *testing.T) {
	w := &stallWriter{release: make(chan struct{})}
	l := newLoopLogger(log.New(w, "", 0))
	// A Printf that waited for the stalled writer would never return
	// (the test would hang until go test's timeout).
	for i := 0; i < 3*loopLogQueue; i++ {
		l.Printf("message %d", i)
	}
	if d := l.Dropped(); d < loopLogQueue {
		t.Errorf("dropped %d messages, want at least %d with the writer stalled", d, loopLogQueue)
	}
	close(w.release)
	l.close()
	if !strings.Contains(w.got.String(), "message 0\n") {
		t.Errorf("the first message was not written after the writer recovered: %q", w.got.String()[:min(80, w.got.Len())])
	}
}
