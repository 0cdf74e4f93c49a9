package engine

// Soft stop, carried out by each loop on its own listeners and sessions
// (see Engine.SoftStop).

// drainStep runs at the end of every loop iteration once a soft stop was
// asked for. The first call stops accepting and closes what is idle; each
// later call only looks whether the last session has gone.
func (l *loop) drainStep() {
	if !l.draining {
		l.draining = true
		for _, ln := range l.listeners {
			ln.close()
		}
		l.listeners = nil
		for s := l.sessions.first(); s != nil; {
			next := l.sessions.after(s)
			if s.idleKeepAlive() {
				// Nothing is in flight on it: it ends now rather than at
				// "timeout http-keep-alive". The connection is not given
				// to the idle pool, which is emptied below.
				s.h.reusable = false
				s.lingerClose()
			}
			s = next
		}
		l.idle.closeAll()
		l.flushCloses()
		close(l.unlistened)
	}
	if !l.drainedSent && l.sessions.first() == nil && l.handed.Load() == 0 {
		l.drainedSent = true
		close(l.drained)
	}
}

// idleKeepAlive reports an HTTP client connection between two requests,
// with no byte of the next one received.
func (s *session) idleKeepAlive() bool {
	return s.state == stHTTPHead && s.h != nil && s.h.requests > 0 && s.h.headStart.IsZero() && !s.cli.readable
}

// after returns the session following s in the list, or nil.
func (sl *sessionList) after(s *session) *session {
	if s.next == &sl.head {
		return nil
	}
	return s.next
}
