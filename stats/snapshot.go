// Package stats shows what fjord is doing: HAProxy's stats page, CSV and
// JSON, Prometheus metrics, and the runtime API on a Unix socket. It reads
// the counters of the engine, the balancer and the health checks; it never
// runs on an event loop.
package stats

import (
	"fmt"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/health"
)

// Row types, as HAProxy's "type" column.
const (
	TypeFrontend = 0
	TypeBackend  = 1
	TypeServer   = 2
)

// CheckSource reports a server's health-check state (health.Monitor).
type CheckSource interface {
	Status(srv *balancer.Server) (health.ServerStatus, bool)
}

// Sources are what the statistics are read from.
type Sources struct {
	Config    *config.Config
	Frontends func(name string) *balancer.Counters // the engine's per-frontend counters
	Backends  map[string]*balancer.Backend
	Checks    CheckSource // may be nil
	Started   time.Time
	Loops     int // the engine's event loops ("threads"; 0: nbthread's count)
	Version   string
	// DroppedLogs counts log lines lost because the log queue was full
	// (nil: not logging).
	DroppedLogs func() uint64
	// SSL reads the process's TLS counters (nil: fjord serves no TLS).
	SSL func() SSLInfo
}

// SSLInfo are the process's TLS counters, as HAProxy's "show info" names
// them. Rates are per second, over the last second.
type SSLInfo struct {
	CurrConns, CumConns                 int64 // CurrSslConns, CumSslConns
	Rate, MaxRate                       int64 // SslRate, MaxSslRate
	FrontendKeyRate, FrontendMaxKeyRate int64 // SslFrontendKeyRate, SslFrontendMaxKeyRate
	FrontendReusePct                    int64 // SslFrontendSessionReuse_pct
	BackendKeyRate, BackendMaxKeyRate   int64 // SslBackendKeyRate, SslBackendMaxKeyRate
	// Failed handshakes, client and server side: fjord's additions
	// (HAProxy counts them per frontend in its SSL stats module only).
	HandshakeFailures, ServerHandshakeFailures int64
}

// ssl reads the TLS counters, zero when there are none.
func (s *Sources) ssl() SSLInfo {
	if s.SSL == nil {
		return SSLInfo{}
	}
	return s.SSL()
}

// Row is one line of the statistics: a frontend, a server or a backend's
// totals. Fields fjord does not measure are absent (empty in the CSV).
type Row struct {
	PxName, SvName string
	Type           int
	IID, SID       int // proxy and server ids, 1-based, in configuration order

	QCur, QMax, QLimit    int64
	SCur, SMax, SLim      int64
	STot                  int64
	BIn, BOut             int64
	EReq, ECon, EResp     int64
	WRetr, WRedis         int64
	Status                string // OPEN, UP, DOWN, MAINT, DRAIN, "no check", "UP 1/3", ...
	Weight                int64
	Act, Bck              int64 // active / backup servers (1/0 for a server row)
	ChkFail, ChkDown      int64
	LastChg               int64 // seconds since the last state change; -1: none
	Downtime              int64 // seconds; -1: not applicable
	LbTot                 int64
	CheckStatus           string // L7OK, ... (servers with checks)
	CheckCode             int
	CheckDuration         int64  // ms; -1: none
	CheckInfo             string // the last check's reason phrase or error (HAProxy's last_chk)
	HRsp                  [6]int64
	ReqTot                int64
	Checked, Backup, HTTP bool

	srv *balancer.Server // for admin actions
}

// Snapshot reads every counter once, in configuration order: for each
// proxy its frontend row, its servers, then its backend row, as HAProxy.
func (src *Sources) Snapshot() []Row {
	var rows []Row
	now := time.Now()
	for i, px := range src.Config.Proxies {
		iid := i + 1
		http := px.Mode == config.ModeHTTP
		if px.Caps&config.CapFrontend != 0 && src.Frontends != nil {
			if c := src.Frontends(px.Name); c != nil {
				r := counterRow(px.Name, "FRONTEND", TypeFrontend, iid, c)
				r.Status = "OPEN"
				r.SLim = int64(px.MaxConn)
				if r.SLim == 0 {
					r.SLim = int64(src.Config.Global.MaxConn)
				}
				r.HTTP = http
				r.LastChg, r.Downtime, r.CheckDuration = -1, -1, -1
				rows = append(rows, r)
			}
		}
		b := src.Backends[px.Name]
		if px.Caps&config.CapBackend == 0 || b == nil {
			continue
		}
		var act, bck, weight int64
		for _, s := range b.Servers {
			r := src.serverRow(px, b, s, now)
			r.HTTP = http
			rows = append(rows, r)
			if s.Eligible() {
				if s.Conf.Backup {
					bck++
				} else {
					act++
				}
				weight += int64(s.Weight())
			}
		}
		r := counterRow(px.Name, "BACKEND", TypeBackend, iid, &b.Counters)
		r.HTTP = http
		r.Status = backendStatus(len(b.Servers), weight)
		r.Act, r.Bck, r.Weight = act, bck, weight
		r.QCur, r.QMax = b.Counters.QueueCur.Load(), b.Counters.QueueMax.Load()
		r.SLim = int64(px.MaxConn)
		r.LastChg, r.Downtime = sinceNs(b.Counters.LastChange.Load(), now), b.Counters.Downtime.Load()/1e9
		r.CheckDuration = -1
		rows = append(rows, r)
	}
	return rows
}

func counterRow(px, sv string, typ, iid int, c *balancer.Counters) Row {
	r := Row{PxName: px, SvName: sv, Type: typ, IID: iid}
	r.SCur, r.SMax, r.STot = c.CurSessions.Load(), c.MaxSessions.Load(), c.TotSessions.Load()
	r.BIn, r.BOut = c.BytesIn.Load(), c.BytesOut.Load()
	r.EReq, r.ECon, r.EResp = c.ReqErrors.Load(), c.ConnErrors.Load(), c.RespErrors.Load()
	r.WRetr, r.WRedis = c.Retries.Load(), c.Redispatches.Load()
	r.LbTot = c.Selected.Load()
	for i := range r.HRsp {
		r.HRsp[i] = c.Responses[i].Load()
	}
	r.ReqTot = c.Requests.Load()
	return r
}

func (src *Sources) serverRow(px *config.Proxy, b *balancer.Backend, s *balancer.Server, now time.Time) Row {
	r := counterRow(px.Name, s.Name, TypeServer, 0, &s.Counters)
	r.srv = s
	for i, p := range src.Config.Proxies {
		if p == px {
			r.IID = i + 1
		}
	}
	r.SID = s.ID
	r.QCur, r.QMax = s.Counters.QueueCur.Load(), s.Counters.QueueMax.Load()
	r.QLimit = int64(s.Conf.MaxQueue)
	r.SLim = int64(s.Conf.MaxConn)
	r.Weight = int64(s.Weight())
	r.Backup = s.Conf.Backup
	if s.Conf.Backup {
		r.Bck = 1
	} else {
		r.Act = 1
	}
	r.LastChg = sinceNs(s.Counters.LastChange.Load(), now)
	r.Downtime = s.Counters.Downtime.Load() / 1e9
	if !s.Up() && s.Counters.LastChange.Load() > 0 {
		r.Downtime += now.UnixNano()/1e9 - s.Counters.LastChange.Load()/1e9
	}
	r.CheckDuration = -1
	var st health.ServerStatus
	if src.Checks != nil {
		st, r.Checked = src.Checks.Status(s)
	}
	r.Status = serverStatus(s, st, r.Checked)
	if r.Checked {
		r.ChkFail, r.ChkDown = st.Failed, st.Downs
		if st.Last.Status != health.StatusInit {
			r.CheckStatus = string(st.Last.Status)
			r.CheckCode = st.Last.Code
			r.CheckDuration = st.Last.Duration.Milliseconds()
			r.CheckInfo = st.Last.Info
		} else {
			r.CheckStatus = "INI"
		}
	}
	return r
}

// serverStatus is HAProxy's status text: MAINT and DRAIN first, then the
// operational state with "n/m" while a check transition is under way.
func serverStatus(s *balancer.Server, st health.ServerStatus, checked bool) string {
	switch s.Admin() {
	case balancer.Maint:
		return "MAINT"
	case balancer.Drain:
		return "DRAIN"
	}
	if !checked {
		if s.Up() {
			return "no check"
		}
		return "DOWN"
	}
	switch {
	case st.Up && st.Health < st.Rise+st.Fall-1:
		return fmt.Sprintf("UP %d/%d", st.Health-st.Rise+1, st.Fall) // going down
	case st.Up:
		return "UP"
	case st.Health > 0:
		return fmt.Sprintf("DOWN %d/%d", st.Health, st.Rise) // going up
	}
	return "DOWN"
}

// backendStatus is a backend's status: DOWN only when it has servers and
// none of them can take a connection: none is eligible, or those that are
// all have weight 0 (HAProxy's "lbprm.tot_weight > 0"). A backend without
// servers (a "listen" that only serves the stats page, say) is UP, as in
// HAProxy ("!px->srv" in src/stats.c), so that monitoring does not page
// for a proxy that was never meant to forward. Every rendering (CSV, JSON,
// HTML, Prometheus) reads this status.
func backendStatus(servers int, eligibleWeight int64) string {
	if servers > 0 && eligibleWeight == 0 {
		return "DOWN"
	}
	return "UP"
}

func sinceNs(ns int64, now time.Time) int64 {
	if ns == 0 {
		return -1
	}
	return (now.UnixNano() - ns) / 1e9
}
