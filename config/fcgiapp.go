package config

import (
	"fmt"
	"regexp"
	"strconv"
)

// "fcgi-app" sections (HAProxy 2.6's fcgi-app.c): a FastCGI application
// that backends use with "use-fcgi-app" and servers with "proto fcgi".
// fjord does not speak FastCGI, and has neither keyword. It reads and
// checks the section as HAProxy does, so that a configuration declaring
// an application it does not use still loads, and says that the section
// changes nothing.

// fcgiAppState is the fcgi-app section being read. Its ACLs and the
// conditions of its set-param and pass-header lines are private to it,
// as in HAProxy: they live in a proxy of their own, never in
// Config.Proxies, which resolves them when the section ends.
type fcgiAppState struct {
	px        *Proxy
	docroot   bool
	maxReqs   int
	maxPos    Pos
	getValues bool // option get-values
	mpxsConns bool // option mpxs-conns
}

func (p *parser) openFCGIApp(pos Pos, args []string) {
	name := ""
	switch {
	case len(args) == 0 || args[0] == "":
		p.errorf(pos, "'fcgi-app' expects a name")
	case len(args) > 1:
		p.errorf(pos, "'fcgi-app %s': unexpected argument '%s'", args[0], args[1])
	}
	if len(args) > 0 {
		name = args[0]
		if err := checkName("fcgi-app", name); err != nil {
			p.errorf(pos, "%v", err)
		}
	}
	for _, o := range p.fcgiApps {
		if name != "" && o.Name == name {
			p.errorf(pos, "fcgi-app section '%s' has the same name as another one declared at %s", name, o.Pos)
		}
	}
	px := &Proxy{Pos: pos, Section: "fcgi-app", Name: name, Mode: ModeHTTP, Caps: CapBackend}
	p.extra[px] = &proxyExtra{acls: map[string]*ACL{}}
	p.fcgiApps = append(p.fcgiApps, px)
	p.fcgi = &fcgiAppState{px: px, maxReqs: 1}
	p.cur = px
	p.notice(Notice, pos, "fcgi-app '%s': fjord does not speak FastCGI: the section is checked and changes nothing ('use-fcgi-app' and 'proto fcgi' are not supported)", name)
}

// fcgiAppLine reads one line of an fcgi-app section.
func (p *parser) fcgiAppLine(pos Pos, words []string) {
	if err := p.fcgiAppKeyword(pos, words); err != nil {
		p.errorf(pos, "%v", err)
	}
}

func (p *parser) fcgiAppKeyword(pos Pos, words []string) error {
	st := p.fcgi
	kw, args := words[0], words[1:]
	no := false
	if kw == "no" && len(args) > 0 && (args[0] == "option" || args[0] == "log-stderr") {
		no, kw, args = true, args[0], args[1:]
	}
	one := func(what string) error {
		if len(args) != 1 || args[0] == "" {
			return fmt.Errorf("'%s' expects %s as its only argument", kw, what)
		}
		return nil
	}
	switch kw {
	case "docroot":
		if err := one("a path"); err != nil {
			return err
		}
		st.docroot = true
	case "index":
		return one("a script name")
	case "path-info":
		if err := one("a regular expression"); err != nil {
			return err
		}
		if _, err := regexp.Compile(args[0]); err != nil {
			return fmt.Errorf("'path-info': invalid regular expression '%s': %v", args[0], err)
		}
	case "acl":
		if len(args) > 0 && (args[0] == "or" || args[0] == "OR") {
			return fmt.Errorf("acl name '%s' will never match: 'or' is used to express a logical disjunction within a condition", args[0])
		}
		return p.kwACL(st.px, pos, args)
	case "set-param", "pass-header":
		return p.fcgiAppRule(pos, kw, args)
	case "option":
		return p.fcgiAppOption(pos, no, args)
	case "log-stderr":
		if no {
			if len(args) > 0 {
				return fmt.Errorf("'no log-stderr' takes no argument")
			}
			st.px.Logs = nil
			return nil
		}
		if err := p.kwLog(st.px, pos, args); err != nil {
			return fmt.Errorf("'log-stderr': %v", err)
		}
	default:
		return fmt.Errorf("unknown keyword '%s' in 'fcgi-app' section (docroot, index, path-info, acl, set-param, pass-header, option, log-stderr)", words[0])
	}
	return nil
}

// fcgiAppRule reads "set-param NAME FMT [if|unless COND]" and
// "pass-header NAME [if|unless COND]".
func (p *parser) fcgiAppRule(pos Pos, kw string, args []string) error {
	n := 1
	usage := "a header name"
	if kw == "set-param" {
		n, usage = 2, "a parameter name and a value"
	}
	if len(args) < n || args[0] == "" {
		return fmt.Errorf("'%s' expects %s", kw, usage)
	}
	if kw == "set-param" {
		if _, err := p.parseFormat(pos, args[1]); err != nil {
			return fmt.Errorf("'set-param %s': %v", args[0], err)
		}
	}
	if rest := args[n:]; len(rest) > 0 {
		if _, err := p.parseCondition(p.fcgi.px, pos, rest); err != nil {
			return fmt.Errorf("'%s %s': %v", kw, args[0], err)
		}
	}
	return nil
}

// fcgiAppOption reads "[no] option keep-conn|get-values|mpxs-conns" and
// "option max-reqs N".
func (p *parser) fcgiAppOption(pos Pos, no bool, args []string) error {
	st := p.fcgi
	if len(args) == 0 {
		return fmt.Errorf("'option' expects an option name (keep-conn, get-values, mpxs-conns, max-reqs)")
	}
	name := args[0]
	switch name {
	case "keep-conn", "get-values", "mpxs-conns":
		if len(args) > 1 {
			return fmt.Errorf("'option %s' takes no argument (found '%s')", name, args[1])
		}
		switch name {
		case "get-values":
			st.getValues = !no
		case "mpxs-conns":
			st.mpxsConns = !no
		}
	case "max-reqs":
		if no {
			return fmt.Errorf("negation is not supported for option 'max-reqs'")
		}
		if len(args) != 2 {
			return fmt.Errorf("option 'max-reqs' expects an integer argument")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 {
			return fmt.Errorf("option 'max-reqs' expects a strictly positive integer argument (found '%s')", args[1])
		}
		st.maxReqs, st.maxPos = n, pos
	default:
		return fmt.Errorf("unknown option '%s' (keep-conn, get-values, mpxs-conns, max-reqs)", name)
	}
	return nil
}

// endFCGIApp checks the section once it is read: a document root is
// mandatory, and max-reqs means nothing without multiplexing, as in
// HAProxy's cfg_fcgi_apps_postparser.
func (p *parser) endFCGIApp() {
	st := p.fcgi
	p.fcgi = nil
	if !st.docroot {
		p.errorf(st.px.Pos, "fcgi-app '%s': no docroot configured", st.px.Name)
	}
	if st.maxReqs > 1 && !st.getValues && !st.mpxsConns {
		p.notice(Warning, st.maxPos, "fcgi-app '%s': multiplexing not supported, ignore the option 'max-reqs'", st.px.Name)
	}
}
