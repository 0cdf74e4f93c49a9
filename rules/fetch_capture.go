package rules

import (
	"bytes"

	"github.com/fjordlb/fjord/config"
)

// What the frontend captured (HAProxy's src/http_fetch.c,
// smp_fetch_capture_*): the slots of "capture request|response header"
// and of the capture actions, and the request line kept for the logs.
// They read Txn.Captured, which lives as long as the request, so that
// response rules and log formats see the request as it came.

var capturedVersions = [...][]byte{[]byte("HTTP/1.0"), []byte("HTTP/1.1")}

func init() {
	for _, side := range []struct {
		name     string
		response bool
	}{{"req", false}, {"res", true}} {
		response := side.response
		fetchFns["capture."+side.name+".hdr"] = func(t *Txn, a []config.Arg, _ *iter) (Value, bool) {
			if t.Captured == nil || a[0].Int < 0 || a[0].Int >= config.MaxCaptures {
				return Value{}, false
			}
			v, ok := t.Captured.Header(response, int(a[0].Int))
			return strValue(v), ok
		}
		fetchFns["capture."+side.name+".ver"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
			if t.Captured == nil {
				return Value{}, false
			}
			minor := t.Captured.Minor(response)
			if minor < 0 {
				return Value{}, false
			}
			return strValue(capturedVersions[minor&1]), true
		}
	}
	fetchFns["capture.req.method"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		line, ok := capturedLine(t)
		if !ok {
			return Value{}, false
		}
		if i := bytes.IndexByte(line, ' '); i >= 0 {
			line = line[:i]
		}
		return strValue(line), true
	}
	fetchFns["capture.req.uri"] = func(t *Txn, _ []config.Arg, _ *iter) (Value, bool) {
		line, ok := capturedLine(t)
		if !ok {
			return Value{}, false
		}
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return Value{}, false // no target
		}
		uri := line[i+1:]
		if j := bytes.IndexByte(uri, ' '); j >= 0 {
			uri = uri[:j]
		}
		start, ok := uriPath(uri) // HAProxy's http_parse_path
		if !ok {
			return Value{}, false
		}
		return strValue(uri[start:]), true
	}
}

// capturedLine is the captured request line, false when there is none.
func capturedLine(t *Txn) ([]byte, bool) {
	if t.Captured == nil {
		return nil, false
	}
	line := t.Captured.RequestLine()
	return line, line != nil
}
