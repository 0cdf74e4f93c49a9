package suite

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/load"
	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/report"
)

// The HTTPS scenarios: the proxies that can (fjord-http, haproxy-http,
// nginx-http) terminate TLS and speak plain HTTP to the web nodes.
const (
	HTTPSKeepAlive      = "https-keepalive"
	HTTPSHandshakeECDSA = "https-handshake-ecdsa"
	HTTPSHandshakeRSA   = "https-handshake-rsa"
	HTTPSBulk           = "https-bulk"
	HTTPSFlood          = "https-flood-latency"
)

// HTTPSNames lists the HTTPS scenarios in the order they run.
var HTTPSNames = []string{HTTPSKeepAlive, HTTPSHandshakeECDSA, HTTPSHandshakeRSA, HTTPSBulk, HTTPSFlood}

// The targets fjord's HTTPS figures are held to: at most this many times
// HAProxy's, side by side in one run.
const (
	TargetKeepAlive = 0.90 // CPU per keep-alive HTTPS request
	TargetHandshake = 1.00 // CPU per full handshake, ECDSA and RSA
	TargetBulk      = 1.00 // CPU per GB over HTTPS
)

// floodNice is the flood process's nice value: below the latency
// generator and the web nodes on the load side's CPUs.
const floodNice = 10

func isHTTPS(name string) bool { return slices.Contains(HTTPSNames, name) }

func isHandshake(name string) bool {
	return name == HTTPSHandshakeECDSA || name == HTTPSHandshakeRSA
}

// negotiateText says what every proxy and the client are told to agree
// on, for the report.
func negotiateText(kind certs.Kind) string {
	return fmt.Sprintf("TLS 1.3 with %s and %s: every proxy is given that one TLS 1.3 suite and that one group (TLS 1.2 is allowed, with ECDHE and AEAD suites only), and ALPN http/1.1; the client (Go's crypto/tls) asks for X25519 only, resumes no session, and pins the %s certificate made for this run (self-signed, %s) instead of verifying a chain",
		peers.TLS13Suite, peers.TLSCurve, kind.Doc(), certs.ServerName)
}

// cert returns this run's certificate of kind, made on first use in the
// run's TLS directory (removed when the run ends).
func (r *runner) cert(kind certs.Kind) (*certs.Files, error) {
	if c, ok := r.certs[kind]; ok {
		return c, nil
	}
	if r.tlsDir == "" {
		return nil, errors.New("no directory for this run's certificates")
	}
	c, err := certs.Write(r.tlsDir, kind)
	if err != nil {
		return nil, err
	}
	r.certs[kind] = c
	return c, nil
}

// clientTLS is the generator's TLS configuration for the current
// scenario, nil for a plain one.
func (r *runner) clientTLS() *tls.Config {
	if r.tls == nil {
		return nil
	}
	return load.ClientTLS(r.tls.Cert.DER, certs.ServerName)
}

// httpsSetup prepares an HTTPS scenario: its certificate, the peers'
// environment with TLS, the check of each peer's configuration (a peer
// that refuses it is left out, its rows say why), and the scenario's
// texts. skip is true when no proxy named terminates TLS.
func (r *runner) httpsSetup(ctx context.Context, s *report.Scenario) (env *peers.Env, run []*peers.Peer, skip bool, err error) {
	o, name := r.o, s.Name
	var tlsPeers, capable []string
	for _, p := range peers.All {
		if p.TLS {
			capable = append(capable, p.Name)
		}
	}
	for _, p := range peersInOrder(r, name) {
		tlsPeers = append(tlsPeers, p.Name)
	}
	if len(tlsPeers) == 0 {
		w := fmt.Sprintf("%s: skipped: none of the proxies named terminates TLS (%s do)", name, strings.Join(capable, ", "))
		r.res.Warnings = append(r.res.Warnings, w)
		fmt.Fprintf(o.Progress, "note: %s\n", w)
		return nil, nil, true, nil
	}
	if name == HTTPSFlood {
		if _, err := os.Stat(r.floodBin()); err != nil {
			return nil, nil, false, fmt.Errorf("%s: %s: not found (make bench builds it, or go build -o %s ./bench/cmd/tlsflood)", name, r.floodBin(), r.floodBin())
		}
	}
	kind := certs.ECDSA
	switch name {
	case HTTPSHandshakeRSA:
		kind = certs.RSA
	case HTTPSFlood:
		kind = o.FloodCert
	}
	cert, err := r.cert(kind)
	if err != nil {
		return nil, nil, false, err
	}
	// Where every connection is a full handshake, no proxy issues tickets
	// or keeps sessions the client will never use.
	r.tls = &peers.TLS{Cert: cert, NoResumption: isHandshake(name) || name == HTTPSFlood}
	e := *r.env
	e.TLS = r.tls
	env = &e
	if run, err = r.checkConfigs(ctx, name, env, r.participants(name)); err != nil {
		return nil, nil, false, err
	}

	s.TLS = negotiateText(kind)
	switch name {
	case HTTPSKeepAlive:
		s.Title, s.Kind = "HTTPS keep-alive small requests, closed loop (TLS terminated at the proxy)", report.Requests
		s.Params = fmt.Sprintf("%d keep-alive TLS connections (one full handshake each, in the warm-up), each sending its next request when the last is answered; %s; the proxy terminates TLS and speaks plain HTTP to the web nodes; %v warm-up, %v measured, median of %s.", o.Conns, sizes(o), o.Warmup, o.Duration, rounds(o.Rounds))
	case HTTPSHandshakeECDSA, HTTPSHandshakeRSA:
		s.Title, s.Kind = fmt.Sprintf("Full TLS handshakes with an %s certificate: a new connection per request", kind.Doc()), report.Handshakes
		s.Params = fmt.Sprintf("%d concurrent connections, each a full handshake, one %s (Connection: close), then closed; the client keeps no session, and every proxy is told to issue no session ticket and keep no session cache (what each did is under the table); CPU per handshake is the proxy's CPU over the handshakes, each with its request; %v warm-up, %v measured, median of %s.", o.Conns, sizes(o), o.Warmup, o.Duration, rounds(o.Rounds))
	case HTTPSBulk:
		s.Title, s.Kind = "Bulk transfer over HTTPS", report.Bulk
		s.Params = fmt.Sprintf("%s through %d keep-alive TLS connections as GETs of a %s object; the generator opens every record the proxy seals, so the load side saturates before the proxy does: read CPU s/GB; median of %s.", bytesText(o.BulkBytes), o.BulkConns, bytesText(int64(o.LargeSize)), rounds(o.Rounds))
	case HTTPSFlood:
		s.Title, s.Kind = "Latency of established HTTPS sessions, alone and during a handshake flood", report.Flood
	}
	s.Params += " Every proxy is told to negotiate " + s.TLS + "."
	return env, run, false, nil
}

// floodParams sets the flood scenario's rate and texts, once the peers
// that run are known.
func (r *runner) floodParams(ctx context.Context, s *report.Scenario, env *peers.Env, run []*peers.Peer) error {
	o := r.o
	if len(run) == 0 {
		return nil
	}
	rate, how, err := r.fixedRate(ctx, rateSpec{
		given: o.TLSRate, givenFlag: "-tls-rate", fraction: o.TLSRateFraction, scenario: HTTPSFlood,
		from: HTTPSKeepAlive, fromText: "the https-keepalive scenario's medians", env: env, peers: run, tls: r.clientTLS(),
	})
	if err != nil {
		return err
	}
	r.floodRate = rate
	s.Title = fmt.Sprintf("Latency of established HTTPS sessions at a fixed %.0f req/s, alone and during a handshake flood", rate)
	s.Params = fmt.Sprintf("%d keep-alive TLS connections, requests due every %.1f µs whatever the proxy does, latency counted from when each was due (no coordinated omission); the rate is %s; %s. "+
		"Each round measures the same proxy twice, %v warm-up and %v measured each: first alone, then while a second generator (fjord-tlsflood, a process of its own at nice %d on the load side's CPUs, so that the latency generator and the web nodes are served first) keeps %d connections at a time doing full handshakes (%s, no resumption), each with one request, as fast as the proxy completes them; "+
		"\"proxy CPU\" is the proxy's CPU time during the flood over its CPUs' time; median of %s. Every proxy is told to negotiate %s.",
		o.Conns, 1e6/rate, how, sizes(o), o.Warmup, o.Duration, floodNice, o.FloodConns, o.FloodCert.Doc(), rounds(o.Rounds), s.TLS)
	return nil
}

func (r *runner) floodBin() string { return filepath.Join(r.o.BinDir, "fjord-tlsflood") }

// checkConfigs has each of ps check its configuration for env, as the
// scenarios whose configurations are new do (HTTPS, rules): run is those
// that accept it; a peer that refuses it is in r.refused, its rounds
// are not run and its row says why; the warnings of accepted checks go
// to r.checkNotes. A peer of such a scenario that then fails to start
// is a row saying so, not the run's end.
func (r *runner) checkConfigs(ctx context.Context, name string, env *peers.Env, ps []*peers.Peer) (run []*peers.Peer, err error) {
	o := r.o
	r.refused, r.checkNotes = map[string]error{}, map[string][]string{}
	for _, p := range ps {
		warnings, err := p.Check(ctx, env)
		for _, w := range warnings {
			r.checkNotes[p.Name] = append(r.checkNotes[p.Name], "its configuration check warned: "+w)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.refused[p.Name] = err
			r.step += o.Rounds // its rounds are not run
			fmt.Fprintf(o.Progress, "%s: %s: %s; its row says so\n", name, p.Name, refusedStatus(err))
			continue
		}
		run = append(run, p)
	}
	return run, nil
}

// refusedStatus is the one-line status of a peer whose configuration
// check failed.
func refusedStatus(err error) string {
	var ref *peers.Refusal
	if errors.As(err, &ref) {
		return "refused: " + ref.First()
	}
	return "check failed: " + firstLineOf(err.Error())
}

// refusedRow fills the row of a peer that refused its configuration.
func refusedRow(row *report.Row, err error) {
	row.Status = refusedStatus(err)
	var ref *peers.Refusal
	if errors.As(err, &ref) {
		lines := ref.Lines
		if ref.Errors > 0 {
			lines = lines[:ref.Errors]
		}
		row.Notes = append(row.Notes, fmt.Sprintf("`%s` refused the configuration HAProxy accepts: %s", ref.Command, strings.Join(lines, "; ")))
		return
	}
	row.Notes = append(row.Notes, err.Error())
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// probeResumption says, for the row's notes, whether the proxy sends
// session tickets and resumes a session that offers one.
func (r *runner) probeResumption(in *peers.Instance) string {
	pr, err := load.ProbeResumption(in.Addrs[0], "/body", r.clientTLS(), 5*time.Second)
	if err != nil {
		return fmt.Sprintf("session resumption probe: %v", err)
	}
	resumed := "not resumed (a full handshake again)"
	if pr.Resumed {
		resumed = "resumed"
	}
	tickets := fmt.Sprintf("%d session tickets", pr.Tickets)
	if pr.Tickets == 1 {
		tickets = "1 session ticket"
	}
	return fmt.Sprintf("%s after a full handshake; a new connection offering one was %s (a probe outside the measured rounds)", tickets, resumed)
}

// flood runs one round of the flood-latency scenario: the open loop on
// established sessions alone, then again while the flood process runs.
func (r *runner) flood(round int, in *peers.Instance) (*measured, error) {
	o := r.o
	base := load.Config{
		Addrs: in.Addrs, Conns: o.Conns, Rate: r.floodRate, Warmup: o.Warmup, Duration: o.Duration,
		KeepAlive: true, ReqSize: o.ReqSize, RespSize: o.RespSize, TLS: r.clientTLS(),
	}
	var done atomic.Int64
	base.Done = &done
	stop := r.live(HTTPSFlood, round, in.Peer.Name, &done, 2*(o.Warmup+o.Duration))
	defer stop()
	alone, err := load.Run(r.ctx, base)
	if err != nil {
		return nil, err
	}

	argv := []string{r.floodBin(), "-addr", strings.Join(in.Addrs, ","), "-conns", strconv.Itoa(o.FloodConns),
		"-warmup", o.Warmup.String(), "-duration", (o.Duration + 500*time.Millisecond).String(),
		"-pin", r.tls.Cert.Cert, "-server-name", certs.ServerName, "-resp-size", strconv.Itoa(o.RespSize), "-nice", strconv.Itoa(floodNice)}
	fl, err := r.env.Group.Start(proc.Spec{Name: "tlsflood", Argv: argv, CPUs: o.LoadCPUs, Log: filepath.Join(o.WorkDir, "tlsflood.log")})
	if err != nil {
		return nil, err
	}
	defer fl.Stop(2 * time.Second)

	cfg := base
	var u0, w0 proc.Usage
	var sampleErr, webErr error
	cfg.Measuring = func() {
		w0, webErr = proc.Sample(r.web.Pid())
		u0, sampleErr = proc.Sample(in.Proc.Pid())
	}
	during, err := load.Run(r.ctx, cfg)
	if err != nil {
		return nil, err
	}
	u1, err := proc.Sample(in.Proc.Pid())
	if err == nil {
		err = sampleErr
	}
	if err != nil {
		return nil, fmt.Errorf("sampling %s: %w (its log: %s)", in.Peer.Name, err, in.Log)
	}
	w1, webErr1 := proc.Sample(r.web.Pid())
	// The flood's window ends half a second after ours; then it reports.
	select {
	case <-fl.Done():
	case <-time.After(o.Warmup + o.Duration + 30*time.Second):
		fl.Stop(2 * time.Second)
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}

	mr := &measured{base: alone.Hist, h: during.Hist}
	var notes []string
	if alone.Errors > 0 {
		notes = append(notes, fmt.Sprintf("alone, %d of %d requests failed (%v)", alone.Errors, alone.Errors+alone.Requests, alone.FirstError))
	}
	if during.Errors > 0 {
		notes = append(notes, fmt.Sprintf("during the flood, %d of %d requests failed (%v)", during.Errors, during.Errors+during.Requests, during.FirstError))
	}
	tlsSeen := map[string]bool{}
	for k := range alone.TLS {
		tlsSeen[k] = true
	}
	for k := range during.TLS {
		tlsSeen[k] = true
	}
	var fr load.FloodReport
	line, ok := load.FloodLine(fl.Output())
	if ok {
		ok = json.Unmarshal([]byte(line), &fr) == nil
	}
	if !ok {
		notes = append(notes, fmt.Sprintf("the flood gave no report (%v): %s", fl.Err(), strings.TrimSpace(lastLines(fl.Output(), 3))))
	} else {
		for k := range fr.TLS {
			tlsSeen[k] = true
		}
		if fr.Errors > 0 {
			notes = append(notes, fmt.Sprintf("the flood: %d of %d handshakes failed (%s)", fr.Errors, fr.Errors+fr.Handshakes, fr.FirstError))
		}
	}
	mr.note = strings.Join(notes, "; ")
	mr.tls = slices.Sorted(maps.Keys(tlsSeen))
	if alone.Requests == 0 || during.Requests == 0 {
		return mr, nil
	}

	la, m := report.Latency(alone.Hist), report.Latency(during.Hist)
	m[report.AloneP50], m[report.AloneP99], m[report.AloneP999] = la[report.P50], la[report.P99], la[report.P999]
	if q, ok := report.Ratio(m[report.P99], la[report.P99]); ok {
		m[report.P99OverAlone] = q
	}
	if q, ok := report.Ratio(m[report.P999], la[report.P999]); ok {
		m[report.P999OverAlone] = q
	}
	m[report.ReqPerSec] = during.ReqPerSec()
	m[report.Errors] = float64(during.Errors)
	m[report.GenCPU] = genShare(during.GenCPU, during.Elapsed, o.LoadCPUs)
	if webErr == nil && webErr1 == nil {
		share := genShare(during.GenCPU+w1.CPU-w0.CPU, during.Elapsed, o.LoadCPUs)
		if ok && fr.Elapsed > 0 {
			share += fr.CPU / (fr.Elapsed * float64(max(1, len(o.LoadCPUs))))
		}
		m[report.LoadCPU] = share
	}
	if ok {
		m[report.FloodPerSec] = fr.PerSec
		m[report.FloodErrors] = float64(fr.Errors)
	}
	m[report.ProxyBusy] = genShare(u1.CPU-u0.CPU, during.Elapsed, o.ProxyCPUs)
	m[report.RSS] = float64(u1.RSS)
	mr.m = m
	return mr, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " / ")
}

// httpsSummary gathers the HTTPS scenarios' figures against HAProxy and
// fjord's targets, when any of them ran.
func (r *runner) httpsSummary() *report.Summary {
	byName := map[string]*report.Scenario{}
	any := false
	for _, s := range r.res.Scenarios {
		byName[s.Name] = s
		any = any || isHTTPS(s.Name)
	}
	if !any {
		return nil
	}
	const ref, target = "haproxy-http", "fjord-http"
	sum := &report.Summary{
		Title: "HTTPS: fjord against HAProxy, and its targets",
		Text: fmt.Sprintf("The HTTPS scenarios' figures side by side (medians; a proxy without a figure says why). fjord's targets: CPU per keep-alive HTTPS request at most %.2f× HAProxy's, per full handshake (ECDSA and RSA) at most %.2f×, per GB over HTTPS at most %.2f×. "+
			"\"TLS cost\" is the same proxy's CPU per keep-alive request over HTTPS divided by its plain-HTTP figure from the keepalive scenario of this run. Every proxy was told to negotiate TLS 1.3 with %s and %s; what each did is under each table.",
			TargetKeepAlive, TargetHandshake, TargetBulk, peers.TLS13Suite, peers.TLSCurve),
		Ref: ref, Target: target,
	}
	for _, p := range peers.All {
		if !p.TLS {
			continue
		}
		named := false
		for _, s := range r.res.Scenarios {
			named = named || isHTTPS(s.Name) && s.Find(p.Name) != nil
		}
		if named && p.Name != ref {
			sum.Peers = append(sum.Peers, p.Name)
		}
	}
	sum.Peers = append([]string{ref}, sum.Peers...)
	ka := byName[HTTPSKeepAlive]
	sum.Add("CPU µs per keep-alive HTTPS request", report.UnitMicros, ka, report.CPUPerReq, TargetKeepAlive)
	sum.AddQuotient("TLS cost: HTTPS ÷ plain HTTP CPU per keep-alive request", ka, byName[KeepAlive], report.CPUPerReq)
	sum.Add("CPU µs per full handshake, "+certs.ECDSA.Doc(), report.UnitMicros, byName[HTTPSHandshakeECDSA], report.CPUPerReq, TargetHandshake)
	sum.Add("CPU µs per full handshake, "+certs.RSA.Doc(), report.UnitMicros, byName[HTTPSHandshakeRSA], report.CPUPerReq, TargetHandshake)
	sum.Add("CPU s per GB over HTTPS", report.UnitSPerGB, byName[HTTPSBulk], report.CPUPerGB, TargetBulk)
	// The whole machine's, the client's TLS included (no direct
	// connection speaks TLS to take it out): no target.
	sum.Add("machine CPU µs per keep-alive HTTPS request", report.UnitMicros, ka, report.MachinePerReq, 0)
	sum.Add("machine CPU µs per full handshake, "+certs.ECDSA.Doc(), report.UnitMicros, byName[HTTPSHandshakeECDSA], report.MachinePerReq, 0)
	sum.Add("machine CPU µs per full handshake, "+certs.RSA.Doc(), report.UnitMicros, byName[HTTPSHandshakeRSA], report.MachinePerReq, 0)
	sum.Add("machine CPU s per GB over HTTPS", report.UnitSPerGB, byName[HTTPSBulk], report.MachinePerGB, 0)
	fl := byName[HTTPSFlood]
	sum.Add("p99 µs of established sessions, alone", report.UnitMicros, fl, report.AloneP99, 0)
	sum.Add("p99 µs of established sessions during the handshake flood", report.UnitMicros, fl, report.P99, 0)
	sum.Add("p99 during the flood ÷ alone", report.UnitRatio, fl, report.P99OverAlone, 0)
	sum.Add("handshakes/s of the flood", report.UnitPerSec, fl, report.FloodPerSec, 0)
	return sum
}

// httpsMachine are the report's lines about TLS: the certificates, and
// each TLS peer's library.
func httpsMachine(env *peers.Env, ps []*peers.Peer, missing map[string]error) []string {
	lines := []string{fmt.Sprintf("HTTPS: certificates made for this run by crypto/x509 (%s and %s, self-signed for %s) and removed after it; the load side is Go's crypto/tls",
		certs.ECDSA.Doc(), certs.RSA.Doc(), certs.ServerName)}
	var libs []string
	for _, p := range ps {
		if _, gone := missing[p.Name]; !p.TLS || gone {
			continue
		}
		if lib := p.TLSLibrary(env); lib != "" {
			libs = append(libs, p.Name+" "+lib)
		}
	}
	if len(libs) > 0 {
		lines = append(lines, "TLS libraries: "+strings.Join(libs, "; "))
	}
	return lines
}
