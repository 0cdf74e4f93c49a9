// Package handshake runs TLS handshakes with crypto/tls off the event
// loops, on a duplicate of the session's socket, and hands the session's
// traffic keys over to the record layer (package record), which carries
// the established session on its loop. It bounds the CPU that
// handshakes take together, so that a flood of them leaves CPU to the
// established sessions.
//
// crypto/tls exports no traffic keys. They are taken from its key log
// (Config.KeyLogWriter, NSS's format), written to memory of the
// handshake's own and wiped after: they never leave the process. Where
// each direction's sequence numbers stand is found by trying the records
// that passed during the handshake against the application keys: the
// ones that authenticate were sealed with them (a TLS 1.2 Finished, TLS
// 1.3 tickets).
package handshake

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/tls/record"
)

// Result is an established session, ready for its record layer.
type Result struct {
	State tls.ConnectionState
	Keys  record.Keys
	// Tickets, after a TLS 1.3 client handshake whose configuration has
	// a ClientSessionCache, makes resumable sessions of the tickets the
	// server sends next, into that cache: give it to the session's
	// record layer (record.Layer.SetTicketSink). nil: none to take.
	Tickets record.TicketSink
}

// Wipe clears the session's secrets once the record layer has its keys.
func (r *Result) Wipe() {
	clear(r.Keys.ClientSecret)
	clear(r.Keys.ServerSecret)
	clear(r.Keys.MasterSecret)
}

// Pool runs handshakes, at most cpus of them computing at once; a
// handshake that waits for its peer takes no share.
type Pool struct {
	cpu cpuTokens
}

// NewPool makes a pool whose handshakes compute on at most cpus CPUs at
// once.
func NewPool(cpus int) *Pool {
	return &Pool{cpu: cpuTokens{ch: make(chan struct{}, max(cpus, 1))}}
}

// cpuTokens is a counting semaphore: a handshake holds a token while it
// computes and gives it back while it waits for the network.
type cpuTokens struct{ ch chan struct{} }

func (t *cpuTokens) acquire() { t.ch <- struct{}{} }
func (t *cpuTokens) release() { <-t.ch }

// ServerConfig is a server configuration prepared for hand-over: each
// handshake logs its keys to itself, and TLS 1.2 sessions are not
// resumed (crypto/tls logs no keys for them). Make one per bind and
// share it: its session ticket keys rotate in it.
type ServerConfig struct{ tls *tls.Config }

// NewServerConfig prepares base, which must allow only what the record
// layer carries (AEAD suites, TLS 1.2 and 1.3). base's own
// GetConfigForClient, if any, is kept.
func NewServerConfig(base *tls.Config) *ServerConfig {
	top := base.Clone()
	perClient := base.GetConfigForClient
	top.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		sub := top
		if perClient != nil {
			c, err := perClient(hello)
			if err != nil {
				return nil, err
			}
			if c != nil {
				sub = c
			}
		}
		// A clone with no ticket keys of its own: crypto/tls takes
		// them from top, so that a ticket opens on any handshake.
		sub = sub.Clone()
		sub.GetConfigForClient = nil
		if rc, ok := hello.Conn.(*recordConn); ok {
			sub.KeyLogWriter = rc.log
		}
		unwrap := sub.UnwrapSession
		sub.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			if cs.Version < tls.VersionTLS13 {
				return nil, nil // a full handshake instead: its keys are logged
			}
			if unwrap != nil {
				return unwrap(identity, cs)
			}
			return top.DecryptTicket(identity, cs)
		}
		return sub, nil
	}
	return &ServerConfig{tls: top}
}

// Config is the prepared crypto/tls configuration, for a handshake run
// outside the pool (a test, a tool): keys are then not handed over.
func (c *ServerConfig) Config() *tls.Config { return c.tls }

// Server runs a server handshake on fd, a duplicate of the session's
// non-blocking socket made by the caller, which Server owns and closes:
// the caller keeps its own descriptor, from which the handshake reads
// nothing past its own records. Duplicating is the caller's part so that
// the socket the handshake works on is the one the caller means even if
// it closes its own descriptor meanwhile (and the number is reused). It
// returns when the handshake is done, fails, or deadline passes.
func (p *Pool) Server(ctx context.Context, fd int, local, remote net.Addr, cfg *ServerConfig, deadline time.Time) (*Result, error) {
	return p.run(ctx, record.Server, fd, local, remote, cfg.tls, deadline)
}

// Client runs a client handshake on fd, as Server does. cfg must allow
// only what the record layer carries. With a ClientSessionCache (and
// tickets not disabled), TLS 1.3 sessions are resumed from it, and
// Result.Tickets fills it; TLS 1.2 sessions never go in it, since
// crypto/tls logs no keys when it resumes one (see tls13Only).
func (p *Pool) Client(ctx context.Context, fd int, local, remote net.Addr, cfg *tls.Config, deadline time.Time) (*Result, error) {
	return p.run(ctx, record.Client, fd, local, remote, cfg, deadline)
}

func (p *Pool) run(ctx context.Context, role record.Role, fd int, local, remote net.Addr, cfg *tls.Config, deadline time.Time) (*Result, error) {
	// A non-blocking descriptor gives a File on the runtime's poller:
	// waiting for the peer costs a parked goroutine, not a thread.
	f := os.NewFile(uintptr(fd), "tls-handshake")
	defer f.Close()
	if err := f.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("handshake deadline: %w", err)
	}
	log := &keyLog{}
	c := &recordConn{f: f, local: local, remote: remote, cpu: &p.cpu, log: log}
	p.cpu.acquire()
	defer p.cpu.release()
	var tc *tls.Conn
	var cache *tls13Only
	if role == record.Server {
		tc = tls.Server(c, cfg)
	} else {
		cfg = cfg.Clone()
		cfg.KeyLogWriter = log
		if cfg.ClientSessionCache != nil && !cfg.SessionTicketsDisabled {
			cache = &tls13Only{ClientSessionCache: cfg.ClientSessionCache}
			cfg.ClientSessionCache = cache
		} else {
			cfg.ClientSessionCache = nil
		}
		tc = tls.Client(c, cfg)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		log.wipe()
		return nil, err
	}
	r := &Result{State: tc.ConnectionState()}
	if err := handOver(r, role, log, c); err != nil {
		log.wipe()
		return nil, err
	}
	if cache != nil {
		cache.handshaken.Store(true)
		if r.State.Version == tls.VersionTLS13 {
			c.handedOver()
			r.Tickets = &ticketTaker{tc: tc, c: c}
		}
	}
	return r, nil
}

// tls13Only is a client handshake's view of its server's session cache:
// it keeps the TLS 1.3 sessions and drops the TLS 1.2 ones. A resumed
// TLS 1.2 session is one crypto/tls logs no keys for (its master secret
// comes from the cache), so the record layer could not carry it.
// crypto/tls stores a TLS 1.2 session during the handshake (the ticket
// comes before the server's Finished) and a TLS 1.3 one only after it
// (from a NewSessionTicket that the ticketTaker feeds it).
type tls13Only struct {
	tls.ClientSessionCache
	handshaken atomic.Bool
}

func (c *tls13Only) Put(key string, cs *tls.ClientSessionState) {
	if cs != nil && !c.handshaken.Load() {
		return // a TLS 1.2 session
	}
	c.ClientSessionCache.Put(key, cs)
}

// ticketTaker feeds the records of a TLS 1.3 server's tickets, as the
// record layer on the loop opens them, to the crypto/tls connection that
// made the handshake: it alone has the resumption secret, and it puts
// the session it makes of a ticket in the configuration's cache. It is
// in step with the record layer (see record.Layer.SetTicketSink): the
// connection read every record of the server up to the hand-over.
type ticketTaker struct {
	tc *tls.Conn
	c  *recordConn
}

// Ticket takes the first record that carries tickets, and no more: the
// cache keeps one session per server name, the last one put.
func (t *ticketTaker) Ticket(rec []byte) bool {
	t.c.feed(rec)
	var b [1]byte
	_, _ = t.tc.Read(b[:]) // handles the tickets, then finds nothing more (errFed)
	t.c.feed(nil)
	t.tc, t.c = nil, nil
	return false
}

// handOver fills r.Keys from the key log and the records that passed.
func handOver(r *Result, role record.Role, log *keyLog, c *recordConn) error {
	if c.in.err != nil || c.out.err != nil {
		return errors.Join(c.in.err, c.out.err)
	}
	k := record.Keys{Version: r.State.Version, Suite: r.State.CipherSuite}
	if !record.Supported(k.Version, k.Suite) {
		return fmt.Errorf("negotiated %s with %s, which fjord's record layer does not carry", tls.VersionName(k.Version), tls.CipherSuiteName(k.Suite))
	}
	clientRecs, serverRecs := c.in.records(), c.out.records()
	if role == record.Client {
		clientRecs, serverRecs = serverRecs, clientRecs
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if k.Version == tls.VersionTLS13 {
		k.ClientSecret, k.ServerSecret = log.clientTraffic, log.serverTraffic
		if k.ClientSecret == nil || k.ServerSecret == nil {
			return errors.New("crypto/tls logged no TLS 1.3 traffic secrets")
		}
	} else {
		// crypto/tls logs a TLS 1.2 master secret only for a full
		// handshake: the TLS 1.2 resumption that would skip it is
		// turned down (see Config).
		k.MasterSecret = log.master
		if k.MasterSecret == nil {
			return errors.New("crypto/tls logged no TLS 1.2 master secret (a resumed TLS 1.2 session?)")
		}
		var err error
		if k.ClientRandom, err = helloRandom(clientRecs); err != nil {
			return fmt.Errorf("ClientHello: %w", err)
		}
		if k.ServerRandom, err = helloRandom(serverRecs); err != nil {
			return fmt.Errorf("ServerHello: %w", err)
		}
	}
	var err error
	if k.ClientSeq, err = sealedCount(k, record.Server, clientRecs); err != nil {
		return fmt.Errorf("the client's records: %w", err)
	}
	if k.ServerSeq, err = sealedCount(k, record.Client, serverRecs); err != nil {
		return fmt.Errorf("the server's records: %w", err)
	}
	log.clientTraffic, log.serverTraffic, log.master = nil, nil, nil // now r's
	r.Keys = k
	return nil
}

// helloRandom reads the random of the first handshake message a side
// sent (its ClientHello or ServerHello), put together from its
// unprotected handshake records.
func helloRandom(recs [][]byte) ([]byte, error) {
	var msg []byte
	for _, rec := range recs {
		if rec[0] != typeHandshake {
			break
		}
		msg = append(msg, rec[5:]...)
		if len(msg) >= 4+2+32 {
			return bytes.Clone(msg[6:38]), nil // type, length, version, random
		}
	}
	return nil, errors.New("not found among the handshake's records")
}

// sealedCount is how many of recs, a side's records during the
// handshake, its application keys sealed: reader is the role that reads
// them.
func sealedCount(k record.Keys, reader record.Role, recs [][]byte) (uint64, error) {
	probeKeys := k
	probeKeys.ClientSecret = bytes.Clone(k.ClientSecret) // the probe's KeyUpdate would wipe them
	probeKeys.ServerSecret = bytes.Clone(k.ServerSecret)
	probeKeys.ClientSeq, probeKeys.ServerSeq = 0, 0
	probe, err := record.New(reader, probeKeys)
	if err != nil {
		return 0, err
	}
	var n uint64
	var buf []byte
	protected := false // TLS 1.2: from the ChangeCipherSpec on
	for _, rec := range recs {
		switch {
		case rec[0] == typeChangeCipherSpec:
			protected = true
			continue
		case k.Version == tls.VersionTLS13 && rec[0] != typeApplicationData,
			k.Version == tls.VersionTLS12 && !protected:
			continue // unprotected
		}
		buf = append(buf[:0], rec...)
		_, _, err := probe.Open(buf)
		var re *record.Error
		if errors.As(err, &re) && !re.Remote && re.Alert == alertBadRecordMAC {
			if n > 0 {
				return 0, errors.New("a record under the handshake keys after one under the traffic keys")
			}
			continue // sealed with the handshake keys
		}
		n++
	}
	clear(buf)
	return n, nil
}

// Record content types and the alert that says a record did not
// authenticate.
const (
	typeChangeCipherSpec = 20
	typeHandshake        = 22
	typeApplicationData  = 23
	alertBadRecordMAC    = 20
)

// keyLog receives crypto/tls's key log lines (NSS's format: LABEL,
// client random, secret, in hex) and keeps the secrets the record layer
// needs.
type keyLog struct {
	mu                           sync.Mutex
	clientTraffic, serverTraffic []byte
	master                       []byte
}

func (l *keyLog) Write(line []byte) (int, error) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return 0, fmt.Errorf("a key log line of %d fields", len(f))
	}
	secret := make([]byte, hex.DecodedLen(len(f[2])))
	if _, err := hex.Decode(secret, f[2]); err != nil {
		return 0, fmt.Errorf("a key log secret: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch string(f[0]) {
	case "CLIENT_TRAFFIC_SECRET_0":
		l.clientTraffic = secret
	case "SERVER_TRAFFIC_SECRET_0":
		l.serverTraffic = secret
	case "CLIENT_RANDOM":
		l.master = secret
	default:
		clear(secret) // handshake secrets: not needed
	}
	return len(line), nil
}

func (l *keyLog) wipe() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.clientTraffic)
	clear(l.serverTraffic)
	clear(l.master)
}
