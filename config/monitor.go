package config

import (
	"fmt"
)

// "monitor-uri" and "monitor fail", as HAProxy 2.6 reads them
// (cfgparse-listen.c): a frontend answers requests for its monitor URI
// itself, 200, or 503 when a "monitor fail" condition holds.

func (p *parser) kwMonitorURI(px *Proxy, pos Pos, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("'monitor-uri' expects a URI")
	}
	px.MonitorURI = args[0]
	x := p.extra[px]
	x.monitorPos, x.monitorInherited = pos, false
	return nil
}

func (p *parser) kwMonitor(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 || args[0] != "fail" {
		found := ""
		if len(args) > 0 {
			found = fmt.Sprintf(" (found '%s')", args[0])
		}
		return fmt.Errorf("'monitor' expects 'fail if|unless CONDITION'%s", found)
	}
	if len(args) == 1 {
		return fmt.Errorf("'monitor fail' expects 'if CONDITION' or 'unless CONDITION'")
	}
	cond, err := p.parseCondition(px, pos, args[1:])
	if err != nil {
		return fmt.Errorf("'monitor fail': %v", err)
	}
	px.MonitorFail = append(px.MonitorFail, cond)
	return nil
}

// validateMonitor checks the monitor settings of a proxy once its mode is
// known. A monitor-uri in a mode tcp frontend is an error when the
// frontend sets it itself, as a redirect rule is there; one it has from
// its defaults section gets HAProxy's warning, since a defaults section
// serves tcp and http proxies alike.
func (p *parser) validateMonitor(px *Proxy) {
	if px.Caps&CapFrontend == 0 {
		px.MonitorURI = "" // a backend's, from its defaults: backends have no clients
		return
	}
	x := p.extra[px]
	if px.Mode == ModeTCP {
		switch {
		case px.MonitorURI == "":
		case x.monitorInherited:
			p.notice(Warning, px.Pos, "%s is in mode tcp: the 'monitor-uri' of its defaults section (at %s) is ignored, as in HAProxy", px, x.monitorPos)
			px.MonitorURI = ""
		default:
			p.errorf(x.monitorPos, "%s is in mode tcp: 'monitor-uri' answers HTTP requests and needs 'mode http' (HAProxy ignores it with a warning)", px)
		}
		for _, c := range px.MonitorFail {
			p.errorf(c.Pos, "%s is in mode tcp: 'monitor fail' needs 'mode http'", px)
		}
		return
	}
	if px.MonitorURI == "" && len(px.MonitorFail) > 0 {
		p.notice(Warning, px.MonitorFail[0].Pos, "%s: 'monitor fail' has no effect without 'monitor-uri'", px)
	}
}
