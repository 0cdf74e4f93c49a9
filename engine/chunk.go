package engine

import (
	"errors"

	"github.com/fjordlb/fjord/engine/h1"
)

// chunkScan follows the framing of a chunked body as it streams by, so that
// exactly the message is forwarded and the next head is never taken for
// body. Chunk data is not looked at: only size lines, the CRLF after each
// chunk and the trailer section are peeked and checked.
type chunkScan struct {
	st  chunkState
	rem int64 // data bytes of the current chunk not yet scanned
}

type chunkState uint8

const (
	csSize     chunkState = iota // a chunk-size line is next
	csData                       // rem bytes of chunk data, then CRLF
	csCRLF                       // the CRLF that ends a chunk's data
	csTrailers                   // after the last chunk: trailers, then CRLF
	csDone
)

var errChunkCRLF = errors.New("chunk data not followed by CRLF")

// scan reads the framing in b, the bytes waiting at the flow's position,
// and returns how many bytes are proven to belong to the body and may be
// forwarded. A chunk's data is counted whole even where it goes past b, so
// that a large chunk is spliced without peeking again. It returns
// h1.ErrNeedMore when b does not hold the next piece of framing whole.
func (c *chunkScan) scan(b []byte) (int64, error) {
	var adv int64
	off := 0
	for {
		switch c.st {
		case csSize:
			size, n, err := h1.ParseChunkSize(b[off:])
			if err != nil {
				return needMore(adv, err)
			}
			off += n
			adv += int64(n)
			if size == 0 {
				c.st = csTrailers
			} else {
				c.st, c.rem = csData, size
			}
		case csData:
			if avail := int64(len(b) - off); avail < c.rem {
				adv += c.rem
				c.rem, c.st = 0, csCRLF
				return adv, nil
			}
			off += int(c.rem)
			adv += c.rem
			c.rem, c.st = 0, csCRLF
		case csCRLF:
			rest := b[off:]
			if len(rest) < 2 {
				if len(rest) == 1 && rest[0] != '\r' {
					return 0, errChunkCRLF
				}
				return needMore(adv, h1.ErrNeedMore)
			}
			if rest[0] != '\r' || rest[1] != '\n' {
				return 0, errChunkCRLF
			}
			off += 2
			adv += 2
			c.st = csSize
		case csTrailers:
			n, err := h1.ParseTrailers(b[off:])
			if err != nil {
				return needMore(adv, err)
			}
			adv += int64(n)
			c.st = csDone
			return adv, nil
		case csDone:
			return adv, nil
		}
	}
}

// needMore turns "the next piece is incomplete" into progress when some
// bytes were already proven; other errors are returned as they are.
func needMore(adv int64, err error) (int64, error) {
	if err == h1.ErrNeedMore && adv > 0 {
		return adv, nil
	}
	if err == h1.ErrNeedMore {
		return 0, err
	}
	return 0, err
}

func (c *chunkScan) done() bool { return c.st == csDone }
