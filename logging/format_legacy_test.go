package logging

import (
	"math/rand"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// httplog and tcplog are rendered from HAProxy's predefined formats; the
// hand-written code they replaced is kept here, as it was, to show that
// the lines did not change: random records, both renderings.
func TestPredefinedFormatsMatchLegacy(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	anons := []*Anonymizer{nil, NewAnonymizer(config.LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}, nil)}
	clients := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.1.2:33317"), netip.MustParseAddrPort("[2001:db8::1]:4000"),
		netip.MustParseAddrPort("[::ffff:192.0.2.1]:80"), {},
	}
	lines := []string{"", "GET / HTTP/1.1", "GET /\"q\"#\x7f\x00 HTTP/1.0", "POST http://h/a?b=c HTTP/1.1", "CONNECT h:443 HTTP/1.1"}
	n := func() int64 { return int64(rng.Intn(3000)) - 1 }
	var shared lineEnv
	accept := time.Unix(rng.Int63n(2e9), 0)
	for i := 0; i < 5000; i++ {
		r := &engine.AccessRecord{
			Kind:     []engine.RecordKind{engine.RecordHTTP, engine.RecordTCP}[rng.Intn(2)],
			Frontend: "fe", Backend: "be", Server: []string{"s1", "<NOSRV>", "<STATS>"}[rng.Intn(3)],
			Client: clients[rng.Intn(len(clients))], Listener: rng.Intn(4) + 1,
			Accept: accept.Add(time.Duration(rng.Int63n(3e9))), // often the second before
			Tq:     n(), Tw: n(), Tc: n(), Tr: n(), Tt: n(), Status: int(n()), Bytes: n(),
			ASAP: rng.Intn(2) == 0, Term: [2]byte{"-cCsS"[rng.Intn(5)], "-RQCHD"[rng.Intn(6)]},
			Retries: rng.Intn(4), Redispatched: rng.Intn(2) == 0,
			ActConn: n(), FeConn: n(), BeConn: n(), SrvConn: n(), SrvQueue: n(), BeQueue: n(),
		}
		r.RequestLen = copy(r.Request[:], lines[rng.Intn(len(lines))])
		if rng.Intn(100) == 0 {
			accept = time.Unix(rng.Int63n(2e9), 0)
		}
		a := anons[rng.Intn(len(anons))]
		got := AppendRecord(nil, r, a)
		if i%2 == 0 {
			// As the writer renders: its dates cached across lines.
			shared.anon = a
			f := tcpLogFormat
			if r.Kind == engine.RecordHTTP {
				f = httpLogFormat
			}
			got = f.Append(nil, r, &shared)
		}
		if want := legacyAppendRecord(nil, r, a); string(got) != string(want) {
			t.Fatalf("record %+v:\n got %q\nwant %q", r, got, want)
		}
	}
}

// HAProxy's %ft marks a TLS bind with '~', which the hand-written line
// did not.
func TestHTTPLogTLSFrontend(t *testing.T) {
	r := record(engine.RecordHTTP, "GET / HTTP/1.1")
	r.TLS = true
	want := `10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in~ static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"`
	if got := string(AppendRecord(nil, r, nil)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// legacyAppendRecord is AppendRecord's httplog and tcplog as they were
// written by hand, before the predefined formats.
func legacyAppendRecord(dst []byte, r *engine.AccessRecord, a *Anonymizer) []byte {
	if r.Kind == engine.RecordConnError {
		// HAProxy's line for a connection that failed before a stream.
		dst = appendClient(dst, r, a)
		dst = append(dst, " ["...)
		dst = r.Accept.AppendFormat(dst, "02/Jan/2006:15:04:05.000")
		dst = append(dst, "] "...)
		dst = append(dst, r.Frontend...)
		dst = append(dst, '/')
		dst = append(dst, r.Bind...)
		dst = append(dst, ": "...)
		return append(dst, r.Error...)
	}
	if r.Kind == engine.RecordConnect {
		if r.Client.IsValid() {
			dst = append(dst, "Connect from "...)
			dst = a.AppendAddrPort(dst, r.Client)
			dst = append(dst, " to "...)
			dst = (*Anonymizer)(nil).AppendAddrPort(dst, r.Local) // fjord's own: never anonymised
		} else {
			// A Unix socket's client: HAProxy names only the listener.
			dst = append(dst, "Connect to "...)
			dst = appendClient(dst, r, a)
		}
		dst = append(dst, " ("...)
		dst = append(dst, r.Frontend...)
		if r.HTTPMode {
			return append(dst, "/HTTP)"...)
		}
		return append(dst, "/TCP)"...)
	}
	dst = appendClient(dst, r, a)
	dst = append(dst, " ["...)
	dst = r.Accept.AppendFormat(dst, "02/Jan/2006:15:04:05.000")
	dst = append(dst, "] "...)
	dst = append(dst, r.Frontend...)
	dst = append(dst, ' ')
	dst = append(dst, r.Backend...)
	dst = append(dst, '/')
	dst = append(dst, r.Server...)
	dst = append(dst, ' ')
	http := r.Kind == engine.RecordHTTP
	if http {
		dst = strconv.AppendInt(dst, r.Tq, 10)
		dst = append(dst, '/')
	}
	dst = strconv.AppendInt(dst, r.Tw, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, r.Tc, 10)
	dst = append(dst, '/')
	if http {
		dst = strconv.AppendInt(dst, r.Tr, 10)
		dst = append(dst, '/')
	}
	// "option logasap": the total time and the bytes may be partial,
	// which HAProxy marks with a '+'.
	if r.ASAP {
		dst = append(dst, '+')
	}
	dst = strconv.AppendInt(dst, r.Tt, 10)
	dst = append(dst, ' ')
	if http {
		dst = strconv.AppendInt(dst, int64(r.Status), 10)
		dst = append(dst, ' ')
	}
	if r.ASAP {
		dst = append(dst, '+')
	}
	dst = strconv.AppendInt(dst, r.Bytes, 10)
	dst = append(dst, ' ')
	if http {
		// No cookie is captured, and the persistence cookie state
		// (the termination state's last two characters) is always
		// "--": fjord has no cookie persistence.
		dst = append(dst, "- - "...)
	}
	dst = append(dst, r.Term[0], r.Term[1])
	if http {
		dst = append(dst, "--"...)
	}
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, r.ActConn, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, r.FeConn, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, r.BeConn, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, r.SrvConn, 10)
	dst = append(dst, '/')
	if r.Redispatched {
		dst = append(dst, '+')
	}
	dst = strconv.AppendInt(dst, int64(r.Retries), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, r.SrvQueue, 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, r.BeQueue, 10)
	if http {
		dst = append(dst, ` "`...)
		if r.RequestLen == 0 {
			dst = append(dst, "<BADREQ>"...)
		} else {
			dst = legacyAppendEscaped(dst, r.RequestLine())
		}
		dst = append(dst, '"')
	}
	return dst
}

// legacyAppendEscaped writes b with HAProxy's log escaping of URIs: '"', '#'
// and non-printable bytes become '#' and two hex digits.
func legacyAppendEscaped(dst, b []byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	for _, c := range b {
		if c < 32 || c >= 127 || c == '"' || c == '#' {
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}
