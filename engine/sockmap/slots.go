package sockmap

import "sync/atomic"

// slotStack is a lock-free stack of the free pair slots, shared by the
// event loops: a session takes a slot when it is handed to the kernel and
// gives it back when it ends, and neither must take a lock on the loops.
// The head carries a tag that every change increments, so that a slot
// taken and given back between another loop's read of the head and its
// compare-and-swap cannot be mistaken for the unchanged head (ABA).
type slotStack struct {
	head atomic.Uint64   // tag<<32 | top+1; top+1 == 0: empty
	next []atomic.Uint32 // slot -> the slot under it, +1; 0: none
}

func newSlotStack(n int) *slotStack {
	s := &slotStack{next: make([]atomic.Uint32, n)}
	for i := 0; i < n-1; i++ {
		s.next[i].Store(uint32(i + 2))
	}
	if n > 0 {
		s.head.Store(1)
	}
	return s
}

// pop takes a free slot; false when none is left.
func (s *slotStack) pop() (uint32, bool) {
	for {
		h := s.head.Load()
		top := uint32(h)
		if top == 0 {
			return 0, false
		}
		under := s.next[top-1].Load()
		if s.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(under)) {
			return top - 1, true
		}
	}
}

// push gives slot back.
func (s *slotStack) push(slot uint32) {
	for {
		h := s.head.Load()
		s.next[slot].Store(uint32(h))
		if s.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(slot+1)) {
			return
		}
	}
}
