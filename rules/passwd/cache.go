package passwd

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// CacheSize is how many successful checks Check remembers. Past it, the
// check used least recently is forgotten.
//
// Only successes are remembered: were failures too, a client sending
// wrong passwords could push every right one out, and the users it
// shares the cache with would each pay a hash per request again. A
// repeated wrong password costs a hash each time, as it should.
//
// What the cache keeps of a check is 32 bytes: HMAC-SHA-256, under a key
// drawn at random when the process starts, of the hash and the password.
// The password itself is never kept, and the key makes the entries
// useless outside this process. (Whoever can read the process's memory
// could test guesses against an entry at SHA-256 speed, but could as well
// read the passwords as requests bring them.)
const CacheSize = 1024

// checked is the cache Check uses.
var checked = newCache(CacheSize)

// macKey keys cacheKey; it lives as long as the process.
var macKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails: it crashes the program instead
	return k
}()

// cacheKey is the cache's name for a check of password against hash. The
// hash's length goes first, so that no two (hash, password) pairs with
// the same concatenation share a key.
func cacheKey(hash, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, macKey)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(hash)))
	m.Write(n[:])
	m.Write([]byte(hash))
	m.Write([]byte(password))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// cache is a set of keys bounded to size, forgetting the least recently
// used first. It is safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of [sha256.Size]byte, most recently used first
	index map[[sha256.Size]byte]*list.Element
}

func newCache(size int) *cache {
	return &cache{size: size, order: list.New(), index: make(map[[sha256.Size]byte]*list.Element, size)}
}

// hit reports whether key is in the cache, and marks it used.
func (c *cache) hit(key [sha256.Size]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.index[key]
	if ok {
		c.order.MoveToFront(e)
	}
	return ok
}

// add puts key in the cache, forgetting the least recently used key when
// the cache is full.
func (c *cache) add(key [sha256.Size]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.index, last.Value.([sha256.Size]byte))
	}
	c.index[key] = c.order.PushFront(key)
}

// len is how many keys the cache holds.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
