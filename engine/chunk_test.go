package engine

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/engine/h1"
)

// The bytes that follow a chunked body on a connection: a pipelined
// request. They must never be taken for body.
const nextRequest = "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"

// chunkSim is the outcome of forwarding a stream through chunkScan.
type chunkSim struct {
	forwarded int  // bytes proven to be body and forwarded
	done      bool // the scanner saw the end of the body
	err       error
}

// simulateChunks forwards data the way moveBody does, with the bytes
// arriving in pieces: arrivals[i] is how many bytes have arrived after the
// i-th delivery (increasing, the last one len(data)). Each scan sees the
// arrived bytes from the forwarding position on; what it returns is
// forwarded, and when that goes past the arrived bytes (chunk data not
// peeked) the rest is forwarded blindly as it arrives, and the next scan
// starts after it. check is called with every (position, adv) pair.
func simulateChunks(data []byte, arrivals []int, check func(pos int, adv int64)) chunkSim {
	var cs chunkScan
	pos := 0 // forwarding position: everything before it has been forwarded
	for _, avail := range arrivals {
		for {
			if cs.done() {
				return chunkSim{forwarded: pos, done: true}
			}
			if pos >= avail {
				break // the blind part is not there yet, or nothing to peek
			}
			adv, err := cs.scan(data[pos:avail])
			if err == h1.ErrNeedMore {
				break
			}
			if err != nil {
				return chunkSim{forwarded: pos, err: err}
			}
			if adv <= 0 && !cs.done() {
				return chunkSim{forwarded: pos, err: fmt.Errorf("scan of %q returned %d without an error", data[pos:avail], adv)}
			}
			if check != nil {
				check(pos, adv)
			}
			pos += int(adv)
		}
	}
	return chunkSim{forwarded: pos, done: cs.done()}
}

// allSplits returns the arrival schedules: all at once, every two-piece
// split, and byte by byte.
func allSplits(n int) [][]int {
	out := [][]int{{n}}
	for k := 1; k < n; k++ {
		out = append(out, []int{k, n})
	}
	bytewise := make([]int, n)
	for i := range bytewise {
		bytewise[i] = i + 1
	}
	return append(out, bytewise)
}

func describeArrivals(arrivals []int) string {
	switch {
	case len(arrivals) == 1:
		return "at once"
	case len(arrivals) == 2:
		return fmt.Sprintf("split at %d", arrivals[0])
	}
	return "byte by byte"
}

var validChunked = []struct{ name, body string }{
	{"empty", "0\r\n\r\n"},
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n"},
	{"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"},
	{"hex sizes", "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n"},
	{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n"},
	{"extensions", "5;name=value\r\nhello\r\n3 ; a=\"q\"\r\nabc\r\n0;last\r\n\r\n"},
	{"trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"},
	{"data looks like framing", "7\r\n0\r\n\r\n\r\n\r\n0\r\n\r\n"},
	{"data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n"},
	{"data looks like a request", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(nextRequest), nextRequest)},
	{"large chunk", "4000\r\n" + strings.Repeat("x", 0x4000) + "\r\n1\r\ny\r\n0\r\n\r\n"},
	{"many small chunks", strings.Repeat("1\r\nz\r\n", 200) + "0\r\n\r\n"},
}

func TestChunkScanValidBodiesInEverySplit(t *testing.T) {
	for _, tc := range validChunked {
		t.Run(tc.name, func(t *testing.T) {
			for _, tail := range []string{"", nextRequest, "0\r\n\r\n", "zz garbage \n"} {
				data := []byte(tc.body + tail)
				splits := allSplits(len(data))
				if len(data) > 2000 {
					// The byte-by-byte run and a sample of split points are
					// enough for the long bodies.
					var some [][]int
					for i, s := range splits {
						if len(s) != 2 || i%97 == 0 || s[0] < 16 || s[0] > len(data)-64 {
							some = append(some, s)
						}
					}
					splits = some
				}
				for _, arrivals := range splits {
					res := simulateChunks(data, arrivals, func(pos int, adv int64) {
						if pos+int(adv) > len(tc.body) {
							t.Fatalf("tail %q, %s: scan at %d advanced %d, past the body's end %d",
								tail, describeArrivals(arrivals), pos, adv, len(tc.body))
						}
					})
					if res.err != nil || !res.done || res.forwarded != len(tc.body) {
						t.Fatalf("tail %q, %s: forwarded %d of %d, done %v, err %v",
							tail, describeArrivals(arrivals), res.forwarded, len(tc.body), res.done, res.err)
					}
				}
			}
		})
	}
}

// An incomplete body never completes, and never counts more than its
// framing allows.
func TestChunkScanIncompleteBody(t *testing.T) {
	for _, tc := range validChunked {
		body := []byte(tc.body)
		for cut := 0; cut < len(body); cut++ {
			if len(body) > 2000 && cut%101 != 0 && cut < len(body)-64 {
				continue
			}
			data := body[:cut]
			for _, arrivals := range [][]int{{cut}, allSplits(cut)[len(allSplits(cut))-1]} {
				if cut == 0 {
					arrivals = nil
				}
				res := simulateChunks(data, arrivals, nil)
				if res.err != nil || res.done || res.forwarded > len(body) {
					t.Fatalf("%s cut at %d: forwarded %d, done %v, err %v", tc.name, cut, res.forwarded, res.done, res.err)
				}
			}
		}
	}
}

func TestChunkScanInvalidFraming(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"not hex", "zz\r\nabc\r\n0\r\n\r\n"},
		{"empty size", "\r\nabc\r\n0\r\n\r\n"},
		{"negative", "-5\r\nhello\r\n0\r\n\r\n"},
		{"plus sign", "+5\r\nhello\r\n0\r\n\r\n"},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n"},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
		{"space after size without ext", "5 \r\nhello\r\n0\r\n\r\n"},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n"},
		{"CR without LF after size", "5\rhello\r\n0\r\n\r\n"},
		{"data longer than size", "3\r\nabcX\r\n0\r\n\r\n"},
		{"data shorter than size", "5\r\nabc\r\n0\r\n\r\n\r\n\r\n\r\n"},
		{"bare LF after data", "5\r\nhello\n0\r\n\r\n"},
		{"CR without LF after data", "5\r\nhello\rX0\r\n\r\n"},
		{"size too large", "10000000000000000\r\nx\r\n0\r\n\r\n"},
		{"size line too long", "5;" + strings.Repeat("a", 2000) + "\r\nhello\r\n0\r\n\r\n"},
		{"control byte in extension", "5;a\x01b\r\nhello\r\n0\r\n\r\n"},
		{"bare LF in last chunk", "0\n\r\n"},
		{"bare LF after trailers", "0\r\n\n"},
		{"trailer with bare LF", "0\r\nX-A: 1\n\r\n"},
		{"trailer obs-fold", "0\r\nX-A: 1\r\n continued\r\n\r\n"},
		{"trailer without colon", "0\r\nX-A 1\r\n\r\n"},
		{"trailer space before colon", "0\r\nX-A : 1\r\n\r\n"},
		{"trailer NUL", "0\r\nX-A: a\x00b\r\n\r\n"},
		{"second chunk bad", "5\r\nhello\r\nzz\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.body)
			for _, arrivals := range allSplits(len(data)) {
				res := simulateChunks(data, arrivals, nil)
				if res.err == nil {
					t.Fatalf("%s: no error; forwarded %d, done %v", describeArrivals(arrivals), res.forwarded, res.done)
				}
				if errors.Is(res.err, h1.ErrNeedMore) {
					t.Fatalf("%s: ErrNeedMore as a framing error", describeArrivals(arrivals))
				}
			}
		})
	}
}

// A chunk whose data goes far past the peeked bytes is counted whole, so
// that it is spliced without peeking again, and the scan after it starts at
// its CRLF.
func TestChunkScanCountsChunkDataPastBuffer(t *testing.T) {
	var cs chunkScan
	adv, err := cs.scan([]byte("100000\r\nabc"))
	if err != nil || adv != 8+0x100000 {
		t.Fatalf("first scan: %d, %v; want %d", adv, err, 8+0x100000)
	}
	adv, err = cs.scan([]byte("\r\n0\r\n\r\n" + nextRequest))
	if err != nil || adv != 7 || !cs.done() {
		t.Fatalf("second scan: %d, %v, done %v; want 7, done", adv, err, cs.done())
	}
	if adv, err := cs.scan([]byte(nextRequest)); err != nil || adv != 0 {
		t.Fatalf("scan after the end: %d, %v", adv, err)
	}
	var cs2 chunkScan
	if _, err := cs2.scan([]byte("3\r\nabc")); err != nil {
		t.Fatal(err)
	}
	if _, err := cs2.scan([]byte("X")); err == nil || errors.Is(err, h1.ErrNeedMore) {
		t.Fatalf("a byte other than CR after chunk data: %v", err)
	}
}

// refChunked parses a chunked body held whole in b: it returns the body's
// length, or ErrNeedMore when b is a valid prefix, or the framing error.
// It is written independently of chunkScan's state machine, on the same
// line parsers.
func refChunked(b []byte) (int, error) {
	off := 0
	for {
		size, n, err := h1.ParseChunkSize(b[off:])
		if err != nil {
			return 0, err
		}
		off += n
		if size == 0 {
			n, err := h1.ParseTrailers(b[off:])
			if err != nil {
				return 0, err
			}
			return off + n, nil
		}
		if int64(len(b)-off) <= size {
			return 0, h1.ErrNeedMore
		}
		off += int(size)
		if b[off] != '\r' {
			return 0, errChunkCRLF
		}
		if off+1 >= len(b) {
			return 0, h1.ErrNeedMore
		}
		if b[off+1] != '\n' {
			return 0, errChunkCRLF
		}
		off += 2
	}
}

// buildChunked frames payload as a chunked body with chunk sizes taken
// from sizes (cycled; 0 entries become 1), and the given trailer section.
func buildChunked(payload, sizes []byte, trailers string) []byte {
	var b bytes.Buffer
	for i := 0; len(payload) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, int(sizes[i%len(sizes)]))
		}
		n = min(n, len(payload))
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(payload[:n])
		b.WriteString("\r\n")
		payload = payload[n:]
	}
	b.WriteString("0\r\n" + trailers + "\r\n")
	return b.Bytes()
}

func FuzzChunkScan(f *testing.F) {
	for _, tc := range validChunked {
		if len(tc.body) < 1000 {
			f.Add([]byte(tc.body), []byte(nextRequest), uint16(3), uint16(7))
		}
	}
	f.Add([]byte("5\r\nhello\r\n0\r\nX: y\r\n\r\n"), []byte("junk"), uint16(0), uint16(1))
	f.Add([]byte("zz\r\n"), []byte{}, uint16(1), uint16(2))
	f.Add([]byte("3\r\nabcX\r\n"), []byte("0\r\n\r\n"), uint16(5), uint16(2))
	f.Add([]byte("fffffffffffffff\r\n"), []byte("x"), uint16(9), uint16(9))
	f.Fuzz(func(t *testing.T, raw, junk []byte, s1, s2 uint16) {
		if len(raw)+len(junk) > 1<<14 {
			return
		}
		schedules := func(n int) [][]int {
			a := int(s1) % (n + 1)
			b := a + int(s2)%(n-a+1)
			var sched []int
			for _, x := range []int{a, b, n} {
				if x > 0 && (len(sched) == 0 || x > sched[len(sched)-1]) {
					sched = append(sched, x)
				}
			}
			out := [][]int{sched}
			if n <= 512 {
				out = append(out, allSplits(n)[len(allSplits(n))-1])
			}
			return out
		}

		// 1. Arbitrary bytes: the incremental scan agrees with a whole-
		// buffer parse, whatever the arrival schedule.
		refLen, refErr := refChunked(raw)
		for _, sched := range schedules(len(raw)) {
			res := simulateChunks(raw, sched, func(pos int, adv int64) {
				if refErr == nil && pos+int(adv) > refLen {
					t.Fatalf("%q: scan at %d advanced %d past the body's end %d", raw, pos, adv, refLen)
				}
			})
			switch {
			case refErr == nil:
				if !res.done || res.err != nil || res.forwarded != refLen {
					t.Fatalf("%q %v: forwarded %d, done %v, err %v; body is %d bytes", raw, sched, res.forwarded, res.done, res.err, refLen)
				}
			case refErr == h1.ErrNeedMore:
				if res.done || res.err != nil {
					t.Fatalf("%q %v: incomplete body: done %v, err %v", raw, sched, res.done, res.err)
				}
			default:
				if res.err == nil || res.done {
					t.Fatalf("%q %v: invalid body (%v): done %v, err %v", raw, sched, refErr, res.done, res.err)
				}
			}
		}

		// 2. A valid body built from raw, followed by junk: exactly the
		// body is forwarded.
		payload := raw
		if len(payload) > 2048 {
			payload = payload[:2048]
		}
		body := buildChunked(payload, junk, "")
		if len(junk) > 0 && junk[0]%2 == 0 {
			body = buildChunked(payload, junk, "X-Trailer: "+fmt.Sprint(len(payload))+"\r\n")
		}
		data := append(append([]byte{}, body...), junk...)
		for _, sched := range schedules(len(data)) {
			res := simulateChunks(data, sched, func(pos int, adv int64) {
				if pos+int(adv) > len(body) {
					t.Fatalf("scan at %d advanced %d past the body's end %d", pos, adv, len(body))
				}
			})
			if !res.done || res.err != nil || res.forwarded != len(body) {
				t.Fatalf("valid body of %d + %d junk bytes %v: forwarded %d, done %v, err %v",
					len(body), len(junk), sched, res.forwarded, res.done, res.err)
			}
		}
	})
}
