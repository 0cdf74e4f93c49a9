package rules

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// fakeCaptured is what an engine captured, for the tests.
type fakeCaptured struct {
	line          string
	req, res      []string // slots; "-" is an empty one
	reqMin, resMn int
}

func (f *fakeCaptured) RequestLine() []byte {
	if f.line == "" {
		return nil
	}
	return strBytes(f.line) // no copy: the allocation test reads it
}

func (f *fakeCaptured) Minor(response bool) int {
	if response {
		return f.resMn
	}
	return f.reqMin
}

func (f *fakeCaptured) Header(response bool, i int) ([]byte, bool) {
	slots := f.req
	if response {
		slots = f.res
	}
	if i < 0 || i >= len(slots) || slots[i] == "-" {
		return nil, false
	}
	return strBytes(slots[i]), true
}

// The capture.* fetches, as HAProxy's smp_fetch_capture_*: the request
// line's method and its target's path (an absolute target's after its
// authority), the versions once their head was read, the slots by
// number in each direction.
func TestFetchesCapture(t *testing.T) {
	s := config.TypeStr
	full := &fakeCaptured{line: "GET /a/b?x=1 HTTP/1.1", req: []string{"key", "-", ""}, res: []string{"text/html"}, reqMin: 1, resMn: 0}
	runSampleCases(t, "", func(tx *Txn) { tx.Captured = full }, []sampleCase{
		{"capture.req.method", "GET", s},
		{"capture.req.uri", "/a/b?x=1", s}, // path and query, as http_parse_path
		{"capture.req.ver", "HTTP/1.1", s},
		{"capture.res.ver", "HTTP/1.0", s},
		{"capture.req.hdr(0)", "key", s},
		{"capture.req.hdr(1)", noSample, s}, // a slot nothing filled
		{"capture.req.hdr(2)", "", s},       // an empty header
		{"capture.req.hdr(3)", noSample, s}, // no such slot
		{"capture.req.hdr(-1)", noSample, s},
		{"capture.res.hdr(0)", "text/html", s},
		{"capture.res.hdr(1)", noSample, s},
		{"capture.req.hdr(0),upper", "KEY", s},
	})
	for _, tc := range []struct{ line, method, uri string }{
		{"GET http://example.com/p?q HTTP/1.1", "GET", "/p?q"},
		{"GET http://user@example.com:8080/ HTTP/1.0", "GET", "/"},
		{"GET http://example.com HTTP/1.1", "GET", noSample}, // no path
		{"CONNECT example.com:443 HTTP/1.1", "CONNECT", noSample},
		{"OPTIONS * HTTP/1.1", "OPTIONS", noSample},
		{"GET /cut-by-the-log-leng", "GET", "/cut-by-the-log-leng"}, // a line cut before its version
		{"GET", "GET", noSample},
	} {
		c := &fakeCaptured{line: tc.line, reqMin: 1, resMn: -1}
		runSampleCases(t, "", func(tx *Txn) { tx.Captured = c }, []sampleCase{
			{"capture.req.method", tc.method, s},
			{"capture.req.uri", tc.uri, s},
			{"capture.res.ver", noSample, s}, // no response yet
		})
	}
	// Outside HTTP, or before a request: no sample.
	runSampleCases(t, "", nil, []sampleCase{
		{"capture.req.method", noSample, s},
		{"capture.req.uri", noSample, s},
		{"capture.req.ver", noSample, s},
		{"capture.res.ver", noSample, s},
		{"capture.req.hdr(0)", noSample, s},
	})
	runSampleCases(t, "", func(tx *Txn) { tx.Captured = &fakeCaptured{reqMin: -1, resMn: -1} }, []sampleCase{
		{"capture.req.method", noSample, s},
		{"capture.req.ver", noSample, s},
	})
	runErrorCases(t, map[string][]string{
		"capture.req.hdr":      {"'capture.req.hdr' takes 1 argument(s), found 0"},
		"capture.res.hdr(x)":   {"argument 1 of 'capture.res.hdr'", "'x' is not an integer"},
		"capture.req.uri(1)":   {"'capture.req.uri' takes no argument(s), found 1"},
		"capture.req.hdr(0,1)": {"takes 1 argument(s), found 2"},
	})
}

// Reading a capture allocates nothing.
func TestCaptureAllocs(t *testing.T) {
	c := &fakeCaptured{line: "GET http://example.com/p?q HTTP/1.1", req: []string{"key"}, reqMin: 1}
	for _, expr := range []string{"capture.req.uri", "capture.req.method", "capture.req.hdr(0)", "capture.req.ver"} {
		e := compileSample(t, expr)
		var tx Txn
		if allocs := testing.AllocsPerRun(100, func() {
			tx.Reset()
			tx.Captured = c
			e.Eval(&tx)
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation", expr, allocs)
		}
	}
}
