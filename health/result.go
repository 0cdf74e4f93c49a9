package health

import (
	"fmt"
	"time"
)

// Status is a check outcome as HAProxy names it on its stats page.
type Status string

const (
	StatusInit    Status = "INI"     // not checked yet
	StatusL4OK    Status = "L4OK"    // layer-4 check passed
	StatusL4Tout  Status = "L4TOUT"  // layer-4 timeout
	StatusL4Con   Status = "L4CON"   // connection refused or reset
	StatusL6OK    Status = "L6OK"    // TLS handshake passed (a layer-4 check over TLS)
	StatusL6Tout  Status = "L6TOUT"  // TLS handshake timeout
	StatusL6Rsp   Status = "L6RSP"   // TLS handshake failed: certificate, protocol
	StatusL7OK    Status = "L7OK"    // layer-7 check passed
	StatusL7Sts   Status = "L7STS"   // wrong HTTP status
	StatusL7Rsp   Status = "L7RSP"   // invalid or empty response
	StatusL7Tout  Status = "L7TOUT"  // no response in time
	StatusSockErr Status = "SOCKERR" // local socket error
)

// Result is the outcome of one check.
type Result struct {
	Status   Status
	Code     int    // HTTP status of layer-7 checks, 0 otherwise
	Info     string // reason phrase or error text
	Duration time.Duration
	At       time.Time
}

// OK reports whether the check passed.
func (r Result) OK() bool {
	return r.Status == StatusL4OK || r.Status == StatusL6OK || r.Status == StatusL7OK
}

// Description is HAProxy's description of a status (check_statuses in
// its src/check.c): the "reason: ..." of its transition messages and
// the stats page's check_desc.
func (s Status) Description() string {
	switch s {
	case StatusL4OK:
		return "Layer4 check passed"
	case StatusL4Tout:
		return "Layer4 timeout"
	case StatusL4Con:
		return "Layer4 connection problem"
	case StatusL6OK:
		return "Layer6 check passed"
	case StatusL6Tout:
		return "Layer6 timeout"
	case StatusL6Rsp:
		return "Layer6 invalid response"
	case StatusL7OK:
		return "Layer7 check passed"
	case StatusL7Sts:
		return "Layer7 wrong status"
	case StatusL7Rsp:
		return "Layer7 invalid response"
	case StatusL7Tout:
		return "Layer7 timeout"
	case StatusSockErr:
		return "Socket error"
	}
	return "Initializing"
}

// describe is HAProxy's "reason: R, code: C, info: "I", check duration: Dms".
func (r Result) describe() string {
	s := "reason: " + r.Status.Description()
	if r.Code != 0 {
		s += fmt.Sprintf(", code: %d", r.Code)
	}
	if r.Info != "" {
		s += fmt.Sprintf(", info: %q", r.Info)
	}
	return s + fmt.Sprintf(", check duration: %dms", r.Duration.Milliseconds())
}
