package engine

import (
	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
)

// serverPool is what a session needs from its backend's balancer: a server
// slot for a new connection (or a place in the queue), and giving it back.
// The algorithms behind it are the balancer's business.
type serverPool interface {
	// The request goes by value: a pointer through this interface would
	// escape, and cost an allocation per connection.
	Acquire(req balancer.Request, avoid *balancer.Server, w balancer.Waiter) (*balancer.Server, error)
	Release(s *balancer.Server)
	Cancel(w balancer.Waiter) bool
}

// backend is the engine's view of a backend section: its settings, the
// pool that chooses servers, and the counters sessions update.
type backend struct {
	serverPool
	Name     string
	Conf     *config.Proxy
	Counters *balancer.Counters
	id       int // HAProxy's proxy id (be_id): its position in the configuration, from 1
	// sniFromHost: a server is named over TLS by the request's Host,
	// which the session keeps for it.
	sniFromHost bool
	// redirects are the backend's "redirect" rules, tried once a request
	// is routed here (a listen section's are its frontend's: tried once).
	redirects []redirectRule
	// tcpContent are the backend's "tcp-request content" rules;
	// inspectsReq: in tcp mode they read the client's first bytes.
	tcpContent  []tcpRule
	inspectsReq bool
	// tcpResponse are its "tcp-response content" rules.
	tcpResponse []tcpRule
	// rules are the backend's http-request/-response rules; nil: none.
	rules *httpRuleSets
	// pages are its error pages by status, nil where it has none (the
	// frontend's answer then), or nil altogether.
	pages *errorPages
}

func newBackend(b *balancer.Backend, cp *rules.Compiler) *backend {
	return &backend{serverPool: b, Name: b.Name, Conf: b.Conf, Counters: &b.Counters,
		redirects: newRedirects(b.Conf.Redirects, cp), tcpContent: newTCPRules(b.Conf.TCPContent, cp),
		rules: newHTTPRuleSets(b.Conf, cp), pages: newErrorPages(b.Conf, nil, cp),
		tcpResponse: newTCPRules(b.Conf.TCPResponse, cp), inspectsReq: inspects(b.Conf, false)}
}
