package load

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// ClientTLS is the generator's TLS configuration, the same for every
// proxy so that all negotiate the same thing: TLS 1.2 or 1.3 (the
// proxies are configured so that 1.3 with TLS_AES_128_GCM_SHA256 is what
// they agree on; Go does not let a client choose among TLS 1.3 suites),
// AEAD suites only for 1.2, X25519 only (no hybrid post-quantum key
// share, which HAProxy 2.6 and nginx 1.22 do not have), ALPN http/1.1,
// and never a resumed session: no session cache, tickets disabled, so
// that each new connection is a full handshake.
//
// The server must present the certificate pin (DER), which stands in for
// verifying a chain: the harness made the certificate, and a chain check
// would add a signature verification per handshake to the load side. A
// nil pin accepts any certificate.
func ClientTLS(pin []byte, serverName string) *tls.Config {
	return &tls.Config{
		ServerName: serverName,
		MinVersion: tls.VersionTLS12,
		MaxVersion: tls.VersionTLS13,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences:       []tls.CurveID{tls.X25519},
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
		ClientSessionCache:     nil,
		InsecureSkipVerify:     true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if pin == nil {
				return nil
			}
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, pin) {
				return errors.New("the server presented another certificate than the harness's")
			}
			return nil
		},
	}
}

// Negotiated says what a TLS session agreed on, for the report:
// "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ALPN http/1.1".
func Negotiated(cs tls.ConnectionState) string {
	s := fmt.Sprintf("%s, %s, %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), cs.CurveID)
	if cs.NegotiatedProtocol != "" {
		s += ", ALPN " + cs.NegotiatedProtocol
	} else {
		s += ", no ALPN"
	}
	if cs.DidResume {
		s += ", resumed"
	}
	return s
}

// tally counts sessions by what they negotiated.
type tally struct {
	mu   sync.Mutex
	seen map[string]int64
}

func (t *tally) add(cs tls.ConnectionState) {
	n := Negotiated(cs)
	t.mu.Lock()
	if t.seen == nil {
		t.seen = map[string]int64{}
	}
	t.seen[n]++
	t.mu.Unlock()
}

func (t *tally) result() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		return nil
	}
	return maps.Clone(t.seen)
}

// NegotiatedText writes a Result's TLS tally as one line, the most
// frequent first: "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ALPN http/1.1
// (50 sessions)"; "" for none.
func NegotiatedText(seen map[string]int64) string {
	keys := slices.Collect(maps.Keys(seen))
	slices.SortFunc(keys, func(a, b string) int {
		if seen[a] != seen[b] {
			return int(seen[b] - seen[a])
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		unit := "sessions"
		if seen[k] == 1 {
			unit = "session"
		}
		parts = append(parts, fmt.Sprintf("%s (%d %s)", k, seen[k], unit))
	}
	return strings.Join(parts, "; ")
}

// handshake runs a client handshake on raw within timeout; raw is closed
// when it fails.
func handshake(raw net.Conn, cfg *tls.Config, timeout time.Duration, t *tally) (*tls.Conn, error) {
	c := tls.Client(raw, cfg)
	_ = raw.SetDeadline(time.Now().Add(timeout))
	if err := c.Handshake(); err != nil {
		raw.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	_ = raw.SetDeadline(time.Time{})
	if t != nil {
		t.add(c.ConnectionState())
	}
	return c, nil
}

// tlsDialer dials with dial (nil: a plain dial bounded by timeout) and
// then shakes hands, so that fasthttp gets a connection already speaking
// TLS and treats it as a plain one.
func tlsDialer(dial func(string) (net.Conn, error), cfg *tls.Config, timeout time.Duration, t *tally) func(string) (net.Conn, error) {
	if dial == nil {
		dial = func(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, timeout) }
	}
	return func(addr string) (net.Conn, error) {
		raw, err := dial(addr)
		if err != nil {
			return nil, err
		}
		return handshake(raw, cfg, timeout, t)
	}
}

// Resumption is what a probe learned about a server's session
// resumption.
type Resumption struct {
	// Negotiated is the first connection's (see Negotiated).
	Negotiated string
	// Tickets is the number of session tickets the server sent after the
	// first connection's full handshake.
	Tickets int
	// Resumed says whether a second connection that offered the last of
	// those tickets was resumed.
	Resumed bool
}

// ticketCache keeps the last ticket a server sent, and counts them.
type ticketCache struct {
	mu   sync.Mutex
	last *tls.ClientSessionState
	puts int
}

func (c *ticketCache) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.last != nil
}

func (c *ticketCache) Put(_ string, cs *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cs != nil {
		c.last = cs
		c.puts++
	}
}

// ProbeResumption asks a TLS server, over two connections each with one
// request for path, whether it sends session tickets after a full
// handshake and resumes a session that offers one. cfg is the
// generator's (ClientTLS), with a ticket cache put in for the probe.
func ProbeResumption(addr, path string, cfg *tls.Config, timeout time.Duration) (*Resumption, error) {
	cache := &ticketCache{}
	c := cfg.Clone()
	c.SessionTicketsDisabled, c.ClientSessionCache = false, cache
	r := &Resumption{}
	for i := range 2 {
		cs, err := getOver(addr, path, c, timeout)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			r.Negotiated = Negotiated(cs)
			cache.mu.Lock()
			r.Tickets = cache.puts
			cache.mu.Unlock()
		} else {
			r.Resumed = cs.DidResume
		}
	}
	return r, nil
}

// getOver sends one request over a new TLS connection and reads until the
// server closes it (tickets come after the handshake, and are read with
// the answer).
func getOver(addr, path string, cfg *tls.Config, timeout time.Duration) (tls.ConnectionState, error) {
	raw, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	c, err := handshake(raw, cfg, timeout, nil)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\nUser-Agent: fjord-bench\r\nConnection: close\r\n\r\n", path); err != nil {
		return tls.ConnectionState{}, err
	}
	buf := make([]byte, 4096)
	var head []byte
	for {
		n, err := c.Read(buf)
		if len(head) < 16 {
			head = append(head, buf[:n]...)
		}
		if err != nil {
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 200")) {
				return tls.ConnectionState{}, fmt.Errorf("probe: the answer begins %q (%v)", head, err)
			}
			return c.ConnectionState(), nil
		}
	}
}
