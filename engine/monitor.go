package engine

import (
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
)

// compileMonitorFail compiles a frontend's "monitor fail" conditions.
func compileMonitorFail(px *config.Proxy, cp *rules.Compiler) []*rules.Cond {
	var out []*rules.Cond
	for _, c := range px.MonitorFail {
		out = append(out, cp.Cond(c))
	}
	return out
}

// "monitor-uri" and "monitor fail", answered on the loop as HAProxy 2.6
// answers them (http_ana.c, http_wait_for_request): as soon as the head
// is parsed, before anything else looks at the request, with the
// frontend's page for 200 or 503, never forwarded and never logged.

// isMonitorRequest reports whether a request for target asks for the
// monitor URI uri: one starting with '/' is compared with the target's
// path (its query string included), so that an absolute-form target
// matches; any other with the whole target.
func isMonitorRequest(uri string, target []byte) bool {
	if uri[0] == '/' {
		if p := requestPath(target); p != nil && string(p) == uri {
			return true
		}
	}
	return string(target) == uri
}

// monitorReply answers the current request, which asks for the
// frontend's monitor URI, through the frontend's after-response rules,
// as HAProxy's http_reply_and_close does; the connection is then kept
// as after any answer of fjord's own. The request is counted, but
// nothing is logged: "monitor-uri" exists so that probes do not fill
// the logs.
func (s *session) monitorReply(t *rules.Txn) {
	code := 200
	if monitorFails(s.fe.monitorFail, t) {
		code = 503
	}
	a := s.prepareAnswer(code, s.errorAnswer(code, t), nil, answerRules)
	s.fe.counters.CountStatus(a.status)
	s.sendAnswer(a)
}

// monitorFails reports whether a "monitor fail" condition holds for the
// request.
func monitorFails(conds []*rules.Cond, t *rules.Txn) bool {
	for _, c := range conds {
		if c.Match(t) {
			return true
		}
	}
	return false
}
