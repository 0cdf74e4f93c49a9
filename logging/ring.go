package logging

import "sync/atomic"

// ring is a bounded multi-producer, single-consumer queue of items without
// locks (Dmitry Vyukov's bounded queue): producers claim a cell with one
// compare-and-swap and publish it with a sequence number, so an event
// loop handing over a record never waits for the writer, not even for a
// channel's internal lock. A full ring refuses the item.
type ring struct {
	mask  uint64
	cells []cell
	head  atomic.Uint64 // next position to fill
	_     [56]byte      // keep head and tail on separate cache lines
	tail  uint64        // next position to read; the consumer's alone
}

type cell struct {
	seq atomic.Uint64 // == position: free; == position+1: filled
	it  item
}

// newRing makes a ring of at least n cells (a power of two).
func newRing(n int) *ring {
	size := 1
	for size < n {
		size <<= 1
	}
	r := &ring{mask: uint64(size - 1), cells: make([]cell, size)}
	for i := range r.cells {
		r.cells[i].seq.Store(uint64(i))
	}
	return r
}

// claim reserves the next cell for a producer, which fills c.it and then
// calls publish. ok is false when the ring is full.
func (r *ring) claim() (c *cell, pos uint64, ok bool) {
	pos = r.head.Load()
	for {
		c = &r.cells[pos&r.mask]
		seq := c.seq.Load()
		switch d := int64(seq - pos); {
		case d == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				return c, pos, true
			}
			pos = r.head.Load()
		case d < 0:
			return nil, 0, false // the consumer has not freed this cell: full
		default:
			pos = r.head.Load() // another producer took it
		}
	}
}

// publish hands a claimed, filled cell to the consumer.
func (r *ring) publish(c *cell, pos uint64) { c.seq.Store(pos + 1) }

// peek returns the next filled item, or nil. The item stays valid until
// release.
func (r *ring) peek() *item {
	c := &r.cells[r.tail&r.mask]
	if c.seq.Load() != r.tail+1 {
		return nil
	}
	return &c.it
}

// release frees the item peek returned.
func (r *ring) release() {
	c := &r.cells[r.tail&r.mask]
	c.it.msg = "" // drop the reference
	c.seq.Store(r.tail + r.mask + 1)
	r.tail++
}
