package main

import (
	"log"
	"net"
	"net/http"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/stats"
)

// pageSet holds the stats pages of the sections that enable one.
type pageSet map[string]*stats.Page

func statsPages(src *stats.Sources, cfg *config.Config, logger *log.Logger) pageSet {
	ps := pageSet{}
	for _, px := range cfg.Proxies {
		if p := stats.NewPage(src, px); p != nil {
			p.Log = logger
			ps[px.Name] = p
		}
	}
	return ps
}

// intercept is the engine's hook: a request for a stats URI, in a
// frontend with a page or routed to a backend with one (the seed's
// template puts it in a backend), is the page's. Credentials are checked
// on the head, on the event loop: a request without them is answered 401
// there and then, and only an authorised one leaves the loop for the page.
func (ps pageSet) intercept(frontend, backend string, req *h1.Request) engine.Local {
	if len(ps) == 0 {
		return engine.Local{}
	}
	for _, name := range [2]string{frontend, backend} {
		p := ps[name]
		if p == nil || !p.Matches(req.URI) {
			continue
		}
		if auth, _ := req.Header("Authorization"); !p.Authorized(auth) {
			// The proxy's "errorfile 401", when it has one, goes
			// instead, with the challenge (engine.Local.Authenticate).
			return engine.Local{Reply: p.Unauthorized(), Status: http.StatusUnauthorized, Authenticate: p.Challenge()}
		}
		return engine.Local{Serve: func(c net.Conn) {
			defer c.Close()
			_ = p.ServeConn(c)
		}}
	}
	return engine.Local{}
}

// sslInfo is the engine's TLS counters as the stats report them.
func sslInfo(st engine.TLSStats) stats.SSLInfo {
	return stats.SSLInfo{
		CurrConns: st.Current, CumConns: st.Cumulative,
		Rate: st.Rate, MaxRate: st.MaxRate,
		FrontendKeyRate: st.FrontendKeyRate, FrontendMaxKeyRate: st.FrontendMaxKeyRate,
		FrontendReusePct: st.FrontendReusePct,
		BackendKeyRate:   st.BackendKeyRate, BackendMaxKeyRate: st.BackendMaxKeyRate,
		HandshakeFailures: st.HandshakeFailures, ServerHandshakeFailures: st.ServerHandshakeFailures,
	}
}
