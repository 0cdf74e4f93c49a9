// Package handshake runs TLS handshakes with crypto/tls off the event
// loops, on a duplicate of the session's socket, and hands the session's
// traffic keys over to the record layer (package record), which carries
// the established session on its loop. It bounds the CPU that
// handshakes take together, so that a flood of them leaves CPU to the
// established sessions.
//
// crypto/tls exports no traffic keys. They are taken from its key log
// (Config.KeyLogWriter, NSS's format), written to memory of the
// handshake's own and wiped after: they never leave the process. A
// resumed TLS 1.2 session logs none: its master secret comes from the
// session's ticket, where fjord keeps it beside crypto/tls's state.
// Where each direction's sequence numbers stand is found by trying the
// records that passed during the handshake against the application
// keys: the ones that authenticate were sealed with them (a TLS 1.2
// Finished, TLS 1.3 tickets).
package handshake

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/tls/record"
)

// Result is an established session, ready for its record layer.
type Result struct {
	State tls.ConnectionState
	Keys  record.Keys
	// Verify is OpenSSL's verification result for the client's
	// certificate (HAProxy's ssl_c_verify): 0 when it verified or none
	// was sent, else the code of the error VerifyClient let pass. A
	// resumed session has its full handshake's.
	Verify int
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
// handshake logs its keys to itself, and its session tickets carry what
// fjord keeps of a session (see ticket). Make one per bind and share
// it: its session ticket keys rotate in it.
type ServerConfig struct {
	tls      *tls.Config
	lifetime time.Duration
	verify   func(chain [][]byte) (int, error)
}

// A ServerOption sets how a ServerConfig's handshakes go.
type ServerOption func(*ServerConfig)

// Lifetime has a session resume only within d of the handshake that
// made it ('tune.ssl.lifetime'), where crypto/tls would resume it for 7
// days; 0 leaves crypto/tls's limit alone. The time is kept in the
// ticket, which the client cannot read or change.
func Lifetime(d time.Duration) ServerOption {
	return func(c *ServerConfig) { c.lifetime = d }
}

// VerifyClient has the handshakes check the client's certificate chain
// (leaf first), when it sends one, with verify, in place of base's
// VerifyPeerCertificate: an error fails the handshake, and code is
// OpenSSL's verification result for a chain that passes: 0, or the code
// of an error verify let pass (as HAProxy's 'ca-ignore-err' and
// 'crt-ignore-err' let some). Result.Verify carries it, and the
// session's tickets keep it for its resumptions.
func VerifyClient(verify func(chain [][]byte) (code int, err error)) ServerOption {
	return func(c *ServerConfig) { c.verify = verify }
}

// NewServerConfig prepares base, which must allow only what the record
// layer carries (AEAD suites, TLS 1.2 and 1.3). base's own
// GetConfigForClient, WrapSession and UnwrapSession, if any, are kept;
// its Time, if any, is the clock of the tickets too.
func NewServerConfig(base *tls.Config, opts ...ServerOption) *ServerConfig {
	c := &ServerConfig{}
	for _, o := range opts {
		o(c)
	}
	top := base.Clone()
	perClient := base.GetConfigForClient
	top.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		sub := top
		if perClient != nil {
			pc, err := perClient(hello)
			if err != nil {
				return nil, err
			}
			if pc != nil {
				sub = pc
			}
		}
		// A clone with no ticket keys of its own: crypto/tls takes
		// them from top, so that a ticket opens on any handshake.
		sub = sub.Clone()
		sub.GetConfigForClient = nil
		// Outside the pool (a test, a tool), the handshake keeps its
		// secrets all the same, for its tickets, but no one wipes them.
		st := &hsState{}
		if rc, ok := hello.Conn.(*recordConn); ok {
			st = rc.hs
		}
		sub.KeyLogWriter = &st.log
		if !sharesProtocol(sub.NextProtos, hello.SupportedProtos) {
			// crypto/tls ends a handshake whose ALPN lists share no
			// protocol (no_application_protocol); OpenSSL under
			// HAProxy goes on without ALPN, and so does fjord: an
			// h2-only client then learns from the answer it gets.
			sub.NextProtos = nil
		}
		c.tickets(sub, top, st)
		if c.verify != nil {
			sub.VerifyPeerCertificate = func(chain [][]byte, _ [][]*x509.Certificate) error {
				if len(chain) == 0 {
					return nil // none sent, where it may be (crypto/tls refuses it where it may not)
				}
				code, err := c.verify(chain)
				st.verify = code
				return err
			}
		}
		return sub, nil
	}
	c.tls = top
	return c
}

// sharesProtocol reports whether the client's ALPN list names one of
// ours, or either list is empty (no ALPN to negotiate).
func sharesProtocol(ours, theirs []string) bool {
	if len(ours) == 0 || len(theirs) == 0 {
		return true
	}
	for _, p := range theirs {
		if slices.Contains(ours, p) || p == "http/1.1" && slices.Contains(ours, "h2") {
			return true // the second: crypto/tls's own fallback
		}
	}
	return false
}

// tickets has the handshake of sub and st write fjord's part of its
// tickets, and check it in the tickets a client offers.
func (c *ServerConfig) tickets(sub, top *tls.Config, st *hsState) {
	wrap, unwrap := sub.WrapSession, sub.UnwrapSession
	if wrap == nil {
		wrap = top.EncryptTicket
	}
	if unwrap == nil {
		unwrap = top.DecryptTicket
	}
	now := time.Now
	if sub.Time != nil {
		now = sub.Time
	}
	sub.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		t := ticket{issued: now(), verify: st.verifyResult(cs.DidResume)}
		if cs.Version == tls.VersionTLS12 {
			if cs.DidResume && st.resumed != nil {
				// The same session again, for crypto/tls as for
				// OpenSSL: its master secret, and its age.
				t.issued, t.master = st.resumed.issued, st.resumed.master
			} else {
				t.master = st.log.masterSecret()
				defer clear(t.master)
			}
		}
		entry := t.marshal()
		defer clear(entry)
		ss.Extra = append(ss.Extra, entry)
		return wrap(cs, ss)
	}
	sub.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := unwrap(identity, cs)
		if ss == nil || err != nil {
			return ss, err
		}
		t, ok := findTicket(ss.Extra)
		switch {
		case !ok, c.lifetime > 0 && now().Sub(t.issued) > c.lifetime:
			return nil, nil // a full handshake
		case cs.Version == tls.VersionTLS12 && len(t.master) == 0:
			return nil, nil // no keys to hand over: a full handshake
		}
		st.resume(&t)
		return ss, nil
	}
}

// hsState is what one handshake learns beside crypto/tls's state: the
// secrets of its key log, the client certificate's verification result,
// and the session it resumes.
type hsState struct {
	log    keyLog
	verify int // of the certificate sent in this handshake
	// resumed is the last ticket the handshake took, which is the
	// session it resumes if it resumes one: crypto/tls resumes the
	// first ticket it can, and may turn down one taken before (then
	// resumed is left over from it, and wiped).
	resumed *ticket
}

func (h *hsState) resume(t *ticket) {
	if h.resumed != nil {
		clear(h.resumed.master)
	}
	h.resumed = t
}

// verifyResult is the client certificate's verification result: the
// one of the certificate sent in this handshake, or the resumed
// session's.
func (h *hsState) verifyResult(resumed bool) int {
	if resumed && h.resumed != nil {
		return h.resumed.verify
	}
	return h.verify
}

func (h *hsState) wipe() {
	h.log.wipe()
	h.resume(nil)
}

// ticket is what fjord keeps of a session in its tickets, beside
// crypto/tls's state (in its Extra, which crypto/tls seals with it).
type ticket struct {
	issued time.Time // the handshake that made the session
	verify int       // the client certificate's verification result
	// master is a TLS 1.2 session's master secret, which crypto/tls
	// keeps in its part of the ticket too but neither exports nor logs
	// when it resumes the session.
	master []byte
}

// ticketTag begins fjord's entry in a ticket's Extra.
const ticketTag = "fjord/1"

func (t *ticket) marshal() []byte {
	b := binary.BigEndian.AppendUint64([]byte(ticketTag), uint64(t.issued.UnixNano()))
	b = binary.BigEndian.AppendUint32(b, uint32(t.verify))
	return append(b, t.master...)
}

// findTicket reads fjord's entry among a ticket's Extra, and wipes its
// secret there.
func findTicket(extra [][]byte) (ticket, bool) {
	for _, e := range extra {
		if b, ok := bytes.CutPrefix(e, []byte(ticketTag)); ok && len(b) >= 12 {
			t := ticket{issued: time.Unix(0, int64(binary.BigEndian.Uint64(b))), verify: int(int32(binary.BigEndian.Uint32(b[8:])))}
			if len(b) > 12 {
				t.master = bytes.Clone(b[12:])
				clear(b[12:])
			}
			return t, true
		}
	}
	return ticket{}, false
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
	hs := &hsState{}
	c := &recordConn{f: f, local: local, remote: remote, cpu: &p.cpu, hs: hs}
	p.cpu.acquire()
	defer p.cpu.release()
	var tc *tls.Conn
	var cache *tls13Only
	if role == record.Server {
		tc = tls.Server(c, cfg)
	} else {
		cfg = cfg.Clone()
		cfg.KeyLogWriter = &hs.log
		if cfg.ClientSessionCache != nil && !cfg.SessionTicketsDisabled {
			cache = &tls13Only{ClientSessionCache: cfg.ClientSessionCache}
			cfg.ClientSessionCache = cache
		} else {
			cfg.ClientSessionCache = nil
		}
		tc = tls.Client(c, cfg)
	}
	defer hs.wipe() // what handOver did not take
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	r := &Result{State: tc.ConnectionState()}
	r.Verify = hs.verifyResult(r.State.DidResume)
	if err := handOver(r, role, hs, c); err != nil {
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

// handOver fills r.Keys from the key log or the resumed session's
// ticket, and the records that passed.
func handOver(r *Result, role record.Role, hs *hsState, c *recordConn) (err error) {
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
	log := &hs.log
	log.mu.Lock()
	defer log.mu.Unlock()
	// Copies: run wipes what the handshake kept, and a failure these.
	defer func() {
		if err != nil {
			clear(k.ClientSecret)
			clear(k.ServerSecret)
			clear(k.MasterSecret)
		}
	}()
	if k.Version == tls.VersionTLS13 {
		k.ClientSecret, k.ServerSecret = bytes.Clone(log.clientTraffic), bytes.Clone(log.serverTraffic)
		if k.ClientSecret == nil || k.ServerSecret == nil {
			return errors.New("crypto/tls logged no TLS 1.3 traffic secrets")
		}
	} else {
		// crypto/tls logs a TLS 1.2 master secret only for a full
		// handshake; a resumed session's is in its ticket.
		if r.State.DidResume && hs.resumed != nil {
			k.MasterSecret = bytes.Clone(hs.resumed.master)
		} else {
			k.MasterSecret = bytes.Clone(log.master)
		}
		if k.MasterSecret == nil {
			return errors.New("no TLS 1.2 master secret: crypto/tls logged none, and the session's ticket had none")
		}
		if k.ClientRandom, err = helloRandom(clientRecs); err != nil {
			return fmt.Errorf("ClientHello: %w", err)
		}
		if k.ServerRandom, err = helloRandom(serverRecs); err != nil {
			return fmt.Errorf("ServerHello: %w", err)
		}
	}
	if k.ClientSeq, err = sealedCount(k, record.Server, clientRecs); err != nil {
		return fmt.Errorf("the client's records: %w", err)
	}
	if k.ServerSeq, err = sealedCount(k, record.Client, serverRecs); err != nil {
		return fmt.Errorf("the server's records: %w", err)
	}
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

// masterSecret is a copy of the TLS 1.2 master secret logged, if any.
func (l *keyLog) masterSecret() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.master)
}

func (l *keyLog) wipe() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.clientTraffic)
	clear(l.serverTraffic)
	clear(l.master)
}
