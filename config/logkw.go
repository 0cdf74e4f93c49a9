package config

import (
	"fmt"
	"strings"
)

// The keywords of custom log formats and captures.

// lineFormatKw reads "log-format", "log-format-sd" and "unique-id-format":
// one argument (spaces escaped or
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
		for i := range f.Nodes {
			n := &f.Nodes[i]
			if n.Var != FormatSample {
				continue
			}
			if n.Sample >= MaxFormatSamples {
				return fmt.Errorf("'%s': more than %d sample expressions %%[...] in one format", kw, MaxFormatSamples)
			}
			e, err := p.parseExpr(pos, n.Text)
			if err != nil {
				return fmt.Errorf("'%s': %v", kw, err)
			}
			if e.Need()&(ReadsRes|ReadsServer) != 0 && kw == "unique-id-format" {
				return fmt.Errorf("'%s': %%[%s] reads the response, which does not exist when the id is made", kw, n.Text)
			}
			n.Expr = e
		}
		f.Pos = pos
		switch kw {
		case "log-format":
			if px.Section == "defaults" && (px.HTTPLog || px.TCPLog || px.LogFormat != nil) {
				p.notice(Warning, pos, "'log-format' overrides previous '%s' in 'defaults' section", logFormatOrigin(px))
			}
			px.LogFormat = f
			px.HTTPLog, px.TCPLog = false, false
		case "log-format-sd":
			px.LogFormatSD = f
		case "unique-id-format":
			px.UniqueIDFormat = f
		}
		return nil
	}
}

// logFormatOrigin names what decides a proxy's traffic lines now.
func logFormatOrigin(px *Proxy) string {
	switch {
	case px.LogFormat != nil && px.LogFormat.Keyword == "option httplog clf":
		return "option httplog clf"
	case px.HTTPLog:
		return "option httplog"
	case px.TCPLog:
		return "option tcplog"
	}
	return "log-format"
}

func kwUniqueIDHeader(_ *parser, px *Proxy, _ Pos, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("'unique-id-header' expects a header name")
	}
	if !isToken(args[0]) {
		return fmt.Errorf("'unique-id-header': invalid header name '%s'", args[0])
	}
	px.UniqueIDHeader = args[0]
	return nil
}

// kwCapture reads "capture request header NAME len N" and "capture
// response header NAME len N".
func kwCapture(_ *parser, px *Proxy, pos Pos, args []string) error {
	if len(args) > 0 && args[0] == "cookie" {
		return fmt.Errorf("'capture cookie' is not supported: fjord has no cookie persistence, and %%CC and %%CS are always '-'")
	}
	if len(args) < 2 || (args[0] != "request" && args[0] != "response") || args[1] != "header" {
		return fmt.Errorf("'capture' expects 'request header NAME len LENGTH' or 'response header NAME len LENGTH' ('capture cookie' is not supported)")
	}
	what := "capture " + args[0] + " header"
	if len(args) != 5 || args[3] != "len" {
		return fmt.Errorf("'%s' expects NAME len LENGTH", what)
	}
	if !isToken(args[2]) {
		return fmt.Errorf("'%s': invalid header name '%s'", what, args[2])
	}
	return addCapture(px, what, args[0] == "request", args[2], args[4], pos)
}

// kwDeclare reads "declare capture request|response len N": a slot for
// the rule language's "http-request capture" to fill. Until it comes, the
// slot is shown empty, where HAProxy would show its value.
func kwDeclare(_ *parser, px *Proxy, pos Pos, args []string) error {
	if len(args) != 4 || args[0] != "capture" || (args[1] != "request" && args[1] != "response") || args[2] != "len" {
		return fmt.Errorf("'declare' expects 'capture request len LENGTH' or 'capture response len LENGTH'")
	}
	return addCapture(px, "declare capture "+args[1], args[1] == "request", "", args[3], pos)
}

func addCapture(px *Proxy, what string, request bool, header, length string, pos Pos) error {
	n, err := parseInt(what+" len", length, 1, MaxCaptureBytes)
	if err != nil {
		return err
	}
	list := &px.CaptureResponse
	if request {
		list = &px.CaptureRequest
	}
	if len(*list) == MaxCaptures {
		return fmt.Errorf("'%s': too many captures in %s: fjord keeps at most %d per direction", what, px, MaxCaptures)
	}
	total := n
	for _, c := range px.CaptureRequest {
		total += c.Len
	}
	for _, c := range px.CaptureResponse {
		total += c.Len
	}
	if total > MaxCaptureBytes {
		return fmt.Errorf("'%s': the captures of %s would keep %d bytes per request; fjord keeps at most %d (the sum of the lengths)", what, px, total, MaxCaptureBytes)
	}
	*list = append(*list, Capture{Pos: pos, Header: header, Len: n})
	return nil
}

// keepSampleExprs gives the %[expr] nodes of nf, a format read again
// for its proxy's mode, the expressions read with the first reading: the
// same nodes, numbered alike.
func keepSampleExprs(nf, old *LineFormat) {
	exprs := map[int]*Expr{}
	for _, n := range old.Nodes {
		if n.Var == FormatSample {
			exprs[n.Sample] = n.Expr
		}
	}
	for i := range nf.Nodes {
		if n := &nf.Nodes[i]; n.Var == FormatSample {
			n.Expr = exprs[n.Sample]
		}
	}
}

func isToken(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return !isTokenChar(r) }) < 0
}

// validateLineFormats checks a frontend's formats against its mode: an
// alias reserved for mode http is an error in a tcp frontend, at the line
// of the format (which may be a defaults section's).
func (p *parser) validateLineFormats(px *Proxy) {
	for _, f := range []**LineFormat{&px.LogFormat, &px.LogFormatSD, &px.UniqueIDFormat} {
		if *f == nil || px.Mode == ModeHTTP {
			continue
		}
		if (*f).Keyword == "option httplog clf" {
			*f = nil // tcplog instead, as HAProxy does (validateFrontend warns)
			continue
		}
		nf, _, err := ParseLineFormat((*f).Keyword, (*f).Text, px.Mode)
		if err != nil {
			p.errorf((*f).Pos, "%s: failed to parse %s: %v", px, (*f).Keyword, err)
			*f = nil
			continue
		}
		nf.Pos = (*f).Pos
		keepSampleExprs(nf, *f)
		*f = nf
	}
	if px.UniqueIDHeader != "" {
		switch {
		case px.UniqueIDFormat == nil:
			p.notice(Warning, px.Pos, "%s: 'unique-id-header %s' has no effect without 'unique-id-format'", px, px.UniqueIDHeader)
		case px.Mode != ModeHTTP:
			p.notice(Warning, px.Pos, "%s: 'unique-id-header %s' has no effect in mode tcp: there is no request to add it to", px, px.UniqueIDHeader)
		}
	}
	if px.Mode != ModeHTTP {
		for _, c := range append(append([]Capture(nil), px.CaptureRequest...), px.CaptureResponse...) {
			if c.Header != "" {
				p.notice(Warning, c.Pos, "%s is in mode tcp: a header capture captures nothing there", px)
				break
			}
		}
	}
}
