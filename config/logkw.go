package config

import (
	"fmt"
)

// The keywords of custom log formats.

// lineFormatKw reads "log-format": one argument (spaces escaped or
// quoted), compiled at once so that a mistake is reported at its line.
// Mode http aliases are accepted here and checked against each frontend's
// mode once the configuration is read (validateLineFormats), as HAProxy
// does.
func lineFormatKw(kw string) func(*parser, *Proxy, Pos, []string) error {
	return func(p *parser, px *Proxy, pos Pos, args []string) error {
		if len(args) == 0 || args[0] == "" {
			return fmt.Errorf("'%s' expects a format string", kw)
		}
		if len(args) > 1 {
			return fmt.Errorf("'%s' expects only one argument, don't forget to escape spaces! (found '%s' after the format)", kw, args[1])
		}
		f, warnings, err := ParseLineFormat(kw, args[0], ModeHTTP)
		if err != nil {
			return fmt.Errorf("failed to parse %s: %v", kw, err)
		}
		for _, w := range warnings {
			p.notice(Warning, pos, "'%s': %s", kw, w)
		}
		for _, n := range f.Nodes {
			if n.Var == FormatSample {
				return fmt.Errorf("'%s': %%[%s]: %%[...] in %s comes with the rule language: fjord cannot evaluate sample expressions yet", kw, n.Text, kw)
			}
		}
		f.Pos = pos
		switch kw {
		case "log-format":
			if px.Section == "defaults" && (px.HTTPLog || px.TCPLog || px.LogFormat != nil) {
				p.notice(Warning, pos, "'log-format' overrides previous '%s' in 'defaults' section", logFormatOrigin(px))
			}
			px.LogFormat = f
			px.HTTPLog, px.TCPLog = false, false
		}
		return nil
	}
}

// logFormatOrigin names what decides a proxy's traffic lines now.
func logFormatOrigin(px *Proxy) string {
	switch {
	case px.HTTPLog:
		return "option httplog"
	case px.TCPLog:
		return "option tcplog"
	}
	return "log-format"
}

// validateLineFormats checks a frontend's formats against its mode: an
// alias reserved for mode http is an error in a tcp frontend, at the line
// of the format (which may be a defaults section's).
func (p *parser) validateLineFormats(px *Proxy) {
	for _, f := range []**LineFormat{&px.LogFormat} {
		if *f == nil || px.Mode == ModeHTTP {
			continue
		}
		nf, _, err := ParseLineFormat((*f).Keyword, (*f).Text, px.Mode)
		if err != nil {
			p.errorf((*f).Pos, "%s: failed to parse %s: %v", px, (*f).Keyword, err)
			*f = nil
			continue
		}
		nf.Pos = (*f).Pos
		*f = nf
	}
}
