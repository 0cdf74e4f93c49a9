package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Error pages: "errorfile", "errorloc", "errorloc302", "errorloc303",
// "errorfiles" and "http-error" in proxies, and "http-errors" sections, as
// HAProxy 2.6 reads them (src/http_htx.c). A proxy's lines apply in order after those of its
// defaults section, each replacing the page an earlier one set for its
// status; "errorfiles" lines are resolved once every section is read, so
// that an http-errors section may come after the proxies that use it.

// ErrorCodes are the statuses whose answers error pages may replace: those
// HAProxy 2.6 generates (src/http.c, http_err_codes). 200 is the answer to
// a "monitor-uri" request.
var ErrorCodes = [...]int{200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504}

// IsErrorCode reports whether code is one of ErrorCodes.
func IsErrorCode(code int) bool {
	for _, c := range ErrorCodes {
		if c == code {
			return true
		}
	}
	return false
}

// ErrorPage is what fjord answers, instead of its own page, for one
// status: the response an "errorfile" holds, the redirect of an
// "errorloc", or the response an "http-error" line builds.
type ErrorPage struct {
	Pos      Pos    // the line that declared it (in a proxy, a defaults or an http-errors section)
	Code     int    // the status whose answer it replaces
	File     string // errorfile: the file, as written; "" for errorloc
	Location string // errorloc: the redirect's target; "" for errorfile

	// Reply is the answer of an "http-error" line that builds its own
	// (status, content-type, hdr, string, file, lf-string or lf-file),
	// as a return rule does; the fields below are then unset, since an
	// lf-string body or a hdr value is rendered for each request.
	Reply *HTTPRule

	// Empty is a file with nothing in it (errorfile 408 /dev/null): the
	// connection is closed without an answer, as HAProxy does.
	Empty bool
	// The response, as read from the file (or built for errorloc):
	// status line, fields in order and body. A Connection field is
	// kept: "close" closes the connection after the page, as in
	// HAProxy, and the engine writes the value the connection calls
	// for.
	Version string // "HTTP/1.1" or "HTTP/1.0"
	Status  int    // the status the response carries (it need not be Code)
	Reason  string
	Fields  []Field
	Body    []byte
}

// Field is one header field of an error page.
type Field struct {
	Name, Value string
}

// HTTPErrors is an "http-errors" section: pages that "errorfiles" lines
// import into proxies.
type HTTPErrors struct {
	Pos   Pos
	Name  string
	Pages map[int]*ErrorPage
}

// errDirective is one errorfile, errorloc or errorfiles line of a proxy
// or defaults section, kept in order until the pages are resolved.
type errDirective struct {
	pos      Pos
	kw       string     // the keyword, for messages
	page     *ErrorPage // errorfile, errorloc
	section  string     // errorfiles: the http-errors section
	codes    []int      // errorfiles: the statuses imported; nil: all. reset: the statuses
	reset    bool       // http-error ... default-errorfiles: forget the page for codes
	defaults bool       // the line is a defaults section's
}

// what names the line for messages about its http-errors section, with
// one of its statuses (0: none; an http-error line has one).
func (d *errDirective) what(code int) string {
	switch {
	case d.kw == "http-error":
		return fmt.Sprintf("http-error status %d errorfiles %s", d.codes[0], d.section)
	case code != 0:
		return fmt.Sprintf("errorfiles %s %d", d.section, code)
	}
	return "errorfiles " + d.section
}

// sizedPage is an error page whose size is checked against tune.bufsize
// once the whole configuration is read (the global section may come
// later, or in another file).
type sizedPage struct {
	pos  Pos
	what string // "errorfile 503 FILE", for the message
	size int
}

// errorFile is a file an errorfile line read, kept so that a file named on
// several lines is read and checked once, as HAProxy does.
type errorFile struct {
	raw  []byte
	page ErrorPage // the response fields only
	err  error
}

// errorCode reads the status code of an error page keyword.
func errorCode(kw, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("'%s': expects an HTTP status code, not '%s'", kw, v)
	}
	if !IsErrorCode(n) {
		return 0, fmt.Errorf("'%s': status code %d is not one fjord or HAProxy answers itself (one of %s)", kw, n, errorCodeList())
	}
	return n, nil
}

func errorCodeList() string {
	s := make([]string, len(ErrorCodes))
	for i, c := range ErrorCodes {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ", ")
}

// kwErrorfile reads "errorfile CODE FILE" in a proxy or defaults section.
func (p *parser) kwErrorfile(px *Proxy, pos Pos, args []string) error {
	pg, err := p.errorfile(pos, args)
	if err != nil {
		return err
	}
	p.addErrDirective(px, &errDirective{pos: pos, kw: "errorfile", page: pg})
	return nil
}

// errorfile reads the arguments of an errorfile line, in a proxy or an
// http-errors section, and the file it names.
func (p *parser) errorfile(pos Pos, args []string) (*ErrorPage, error) {
	if len(args) != 2 || args[1] == "" {
		return nil, fmt.Errorf("'errorfile' expects a status code and a file")
	}
	code, err := errorCode("errorfile", args[0])
	if err != nil {
		return nil, err
	}
	path := args[1]
	f := p.errFiles[path]
	if f == nil {
		f = &errorFile{}
		f.raw, f.err = readErrorFile(path)
		if f.err == nil {
			f.err = parseErrorResponse(f.raw, &f.page)
			if f.err != nil {
				f.err = fmt.Errorf("not a valid HTTP response: %v", f.err)
			}
		}
		p.errFiles[path] = f
	}
	what := "errorfile " + args[0] + " " + path
	if f.err != nil {
		return nil, fmt.Errorf("'%s': %v", what, f.err)
	}
	pg := f.page
	pg.Pos, pg.Code, pg.File = pos, code, path
	p.sized = append(p.sized, sizedPage{pos: pos, what: what, size: len(f.raw)})
	return &pg, nil
}

// readErrorFile reads an error file as HAProxy does: the size the file
// has when it is opened, so that a character device such as /dev/null
// is an empty page. It opens without blocking, so that a FIFO cannot
// hold the parser.
func readErrorFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %v", unwrapPathErr(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %v", unwrapPathErr(err))
	}
	switch m := st.Mode(); {
	case m.IsDir():
		return nil, errors.New("cannot read the file: it is a directory")
	case m&os.ModeCharDevice != 0 && st.Size() == 0:
		return nil, nil // /dev/null: nothing to read
	case !m.IsRegular():
		return nil, errors.New("cannot read the file: it is not a regular file")
	case st.Size() > maxBufSize:
		return nil, fmt.Errorf("the file has %d bytes, more than tune.bufsize can ever be (%d)", st.Size(), maxBufSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, st.Size()))
	if err != nil {
		return nil, fmt.Errorf("cannot read the file: %v", unwrapPathErr(err))
	}
	return b, nil
}

// parseErrorResponse checks that raw is one complete HTTP/1 response as
// HAProxy's http_str_to_htx does, and fills pg with its parts. An empty
// raw is an empty page. Lines may end in CRLF or LF.
func parseErrorResponse(raw []byte, pg *ErrorPage) error {
	if len(raw) == 0 {
		pg.Empty = true
		return nil
	}
	rest := raw
	line, rest, ok := cutLine(rest)
	if !ok {
		return errors.New("line 1: the status line does not end with a line break")
	}
	if len(line) < 12 || string(line[:5]) != "HTTP/" || !isDigit(line[5]) || line[6] != '.' || !isDigit(line[7]) ||
		line[8] != ' ' || !isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) || len(line) > 12 && line[12] != ' ' {
		return fmt.Errorf("line 1: expects a status line such as 'HTTP/1.1 503 Service Unavailable', found %q", line)
	}
	pg.Version = string(line[:8])
	pg.Status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	if len(line) > 12 {
		pg.Reason = string(line[13:])
	}
	if i := ctlIndex(pg.Reason); i >= 0 {
		return fmt.Errorf("line 1: the reason phrase holds %q", pg.Reason[i])
	}
	if pg.Status < 100 || pg.Status < 200 && pg.Status != 101 {
		// HAProxy refuses the interim statuses but 101.
		return fmt.Errorf("line 1: status %d cannot be an error page's", pg.Status)
	}
	clen := int64(-1)
	for n := 2; ; n++ {
		line, rest, ok = cutLine(rest)
		if !ok {
			return fmt.Errorf("line %d: the head does not end with an empty line", n)
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return fmt.Errorf("line %d: a header line folded onto the one before (obs-fold) is not supported", n)
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("line %d: expects a header field 'Name: value', found %q", n, line)
		}
		name := string(line[:colon])
		for i := 0; i < len(name); i++ {
			if !isTokenChar(rune(name[i])) {
				return fmt.Errorf("line %d: the field name %q holds %q", n, name, name[i])
			}
		}
		value := strings.Trim(string(line[colon+1:]), " \t")
		if i := ctlIndex(value); i >= 0 {
			return fmt.Errorf("line %d: the value of %s holds %q", n, name, value[i])
		}
		switch strings.ToLower(name) {
		case "transfer-encoding":
			return fmt.Errorf("line %d: Transfer-Encoding is not supported: an error page is sent whole, with its Content-Length or until the connection closes", n)
		case "content-length":
			v, err := strconv.ParseInt(value, 10, 64)
			if err != nil || v < 0 || value == "" || value[0] == '+' {
				return fmt.Errorf("line %d: invalid Content-Length %q", n, value)
			}
			if clen >= 0 && clen != v {
				return fmt.Errorf("line %d: a second Content-Length (%d) differs from the first (%d)", n, v, clen)
			}
			clen = v
		}
		pg.Fields = append(pg.Fields, Field{Name: name, Value: value})
	}
	switch {
	case pg.Status == 204 || pg.Status == 304:
		if len(rest) > 0 {
			return fmt.Errorf("a %d response has no body, and the file has %d bytes after the head", pg.Status, len(rest))
		}
	case clen >= 0 && clen != int64(len(rest)):
		return fmt.Errorf("the body has %d bytes, and Content-Length says %d", len(rest), clen)
	}
	pg.Body = rest
	return nil
}

// cutLine returns the first line of b without its CRLF or LF, and what
// follows it; ok is false when b has no line break.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// ctlIndex is the index of the first control byte of s other than a tab,
// or -1.
func ctlIndex(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return i
		}
	}
	return -1
}

// kwErrorloc reads "errorloc CODE URL", "errorloc302 CODE URL" and
// "errorloc303 CODE URL": the answer is a redirect to URL, built as
// HAProxy's http_parse_errorloc builds it.
func kwErrorloc(kw string, redirect int) func(*parser, *Proxy, Pos, []string) error {
	return func(p *parser, px *Proxy, pos Pos, args []string) error {
		if len(args) != 2 || args[1] == "" {
			return fmt.Errorf("'%s' expects a status code and a URL", kw)
		}
		code, err := errorCode(kw, args[0])
		if err != nil {
			return err
		}
		url := args[1]
		for i := 0; i < len(url); i++ {
			if c := url[i]; c <= ' ' || c == 0x7f {
				return fmt.Errorf("'%s %s': the URL holds %q, which a Location field cannot carry", kw, args[0], c)
			}
		}
		pg := &ErrorPage{Pos: pos, Code: code, Location: url, Version: "HTTP/1.1", Status: redirect,
			Reason: RedirectReason(redirect), Fields: []Field{
				{"Cache-Control", "no-cache"},
				{"Content-length", "0"},
				{"Location", url},
			}}
		// HAProxy's message: the status line, the three fields, the end.
		size := len("HTTP/1.1 302 ") + len(pg.Reason) + 2 + 2
		for _, f := range pg.Fields {
			size += len(f.Name) + 2 + len(f.Value) + 2
		}
		p.sized = append(p.sized, sizedPage{pos: pos, what: kw + " " + args[0], size: size})
		p.addErrDirective(px, &errDirective{pos: pos, kw: kw, page: pg})
		return nil
	}
}

// kwErrorfiles reads "errorfiles NAME [CODE...]".
func (p *parser) kwErrorfiles(px *Proxy, pos Pos, args []string) error {
	if len(args) == 0 || args[0] == "" {
		return fmt.Errorf("'errorfiles' expects the name of an http-errors section, and optionally status codes")
	}
	d := &errDirective{pos: pos, kw: "errorfiles", section: args[0]}
	for _, a := range args[1:] {
		code, err := errorCode("errorfiles "+args[0], a)
		if err != nil {
			return err
		}
		d.codes = append(d.codes, code)
	}
	p.addErrDirective(px, d)
	return nil
}

func (p *parser) addErrDirective(px *Proxy, d *errDirective) {
	d.defaults = px.Section == "defaults"
	x := p.extra[px]
	x.errs = append(x.errs, d)
	p.errDirectives = append(p.errDirectives, d)
}

// openHTTPErrors opens an "http-errors NAME" section.
func (p *parser) openHTTPErrors(pos Pos, args []string) {
	s := &HTTPErrors{Pos: pos, Pages: map[int]*ErrorPage{}}
	p.curErrs = s
	switch {
	case len(args) == 0 || args[0] == "":
		p.errorf(pos, "'http-errors' needs a name")
		return // its lines are still checked
	case len(args) > 1:
		p.errorf(pos, "'http-errors %s': unexpected argument '%s'", args[0], args[1])
	}
	s.Name = args[0]
	if err := checkName("http-errors section", s.Name); err != nil {
		p.errorf(pos, "%v", err)
	}
	for _, o := range p.cfg.HTTPErrors {
		if o.Name == s.Name {
			p.errorf(pos, "http-errors section '%s' is already declared at %s", s.Name, o.Pos)
			return
		}
	}
	p.cfg.HTTPErrors = append(p.cfg.HTTPErrors, s)
}

// httpErrorsLine reads one line of an http-errors section: only
// "errorfile CODE FILE".
func (p *parser) httpErrorsLine(pos Pos, words []string) {
	if words[0] != "errorfile" {
		p.errorf(pos, "unknown keyword '%s' in 'http-errors' section (it holds only 'errorfile CODE FILE' lines)", words[0])
		return
	}
	pg, err := p.errorfile(pos, words[1:])
	if err != nil {
		p.errorf(pos, "%v", err)
		return
	}
	s := p.curErrs
	if old := s.Pages[pg.Code]; old != nil {
		p.notice(Warning, pos, "'errorfile %d' replaces the one at %s: an http-errors section has one page per status, as in HAProxy", pg.Code, old.Pos)
	}
	s.Pages[pg.Code] = pg
}

// validateErrorPages resolves every proxy's error pages, its defaults'
// lines first, and checks what could only be checked once everything was
// read: the http-errors sections errorfiles names, and the pages' sizes
// against tune.bufsize.
func (p *parser) validateErrorPages() {
	byName := map[string]*HTTPErrors{}
	for _, s := range p.cfg.HTTPErrors {
		byName[s.Name] = s
	}
	for _, d := range p.errDirectives {
		if d.page != nil || d.reset {
			continue
		}
		s := byName[d.section]
		if s == nil {
			p.errorf(d.pos, "'%s': no http-errors section is named '%s'", d.what(0), d.section)
			continue
		}
		for _, c := range d.codes {
			if s.Pages[c] == nil {
				p.notice(Warning, d.pos, "'%s': http-errors section '%s' (at %s) has no page for %d, so it keeps the one it had", d.what(c), s.Name, s.Pos, c)
			}
		}
	}
	for _, px := range p.cfg.Proxies {
		pages := map[int]*ErrorPage{}
		for _, d := range p.extra[px].errs {
			if d.page != nil {
				pages[d.page.Code] = d.page
				continue
			}
			if d.reset {
				for _, c := range d.codes {
					delete(pages, c)
				}
				continue
			}
			s := byName[d.section]
			if s == nil {
				continue
			}
			if d.codes == nil {
				for c, pg := range s.Pages {
					pages[c] = pg
				}
			}
			for _, c := range d.codes {
				if pg := s.Pages[c]; pg != nil {
					pages[c] = pg
				}
			}
		}
		for _, d := range p.extra[px].errs {
			if px.Mode == ModeTCP && !d.defaults {
				p.notice(Warning, d.pos, "'%s' has no effect in %s: it is in mode tcp, where fjord answers nothing itself", d.kw, px)
			}
		}
		if len(pages) > 0 {
			px.ErrorPages = pages
		}
	}
	if max := p.cfg.Global.TuneBufSize; max > 0 {
		for _, s := range p.sized {
			if s.size > max {
				p.errorf(s.pos, "'%s': the response has %d bytes, more than tune.bufsize (%d)", s.what, s.size, max)
			}
		}
	}
}

// kwHTTPError reads "http-error status CODE [content-type TYPE]
// [default-errorfiles | errorfile FILE | errorfiles NAME | file FILE |
// lf-file FILE | string STR | lf-string FMT] [hdr NAME FMT]...", HAProxy
// 2.2's: the answer for one status, read as a return rule reads its own
// (replyArgs). It takes its place among the proxy's errorfile, errorloc
// and errorfiles lines, the last one for a status winning, as in
// HAProxy's proxy_check_errors: "errorfile" and "errorfiles" import a
// page, "default-errorfiles" forgets the one the proxy had (a backend
// then answers with the frontend's page, a frontend with fjord's own),
// and the others build a response per request, their lf-string and hdr
// values rendered with the request at hand.
func (p *parser) kwHTTPError(px *Proxy, pos Pos, args []string) error {
	const what = "'http-error'"
	r := &HTTPRule{Pos: pos, Action: ActReturn}
	format := func(s string) (*Format, error) {
		f, err := p.parseFormat(pos, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", what, err)
		}
		return f, nil
	}
	if err := p.replyArgs(r, what, args, format); err != nil {
		return err
	}
	if !IsErrorCode(r.Status) {
		return fmt.Errorf("%s: status code %d is not one fjord or HAProxy answers itself (one of %s)", what, r.Status, errorCodeList())
	}
	d := &errDirective{pos: pos, kw: "http-error"}
	switch {
	case r.DefaultErrorfiles:
		d.reset, d.codes = true, []int{r.Status}
	case r.Errorfiles != "":
		d.section, d.codes = r.Errorfiles, []int{r.Status}
	case r.Errorfile != nil:
		pg := *r.Errorfile // the file's response, whatever its status line says
		pg.Code = r.Status
		d.page = &pg
	default:
		d.page = &ErrorPage{Pos: pos, Code: r.Status, Reply: r}
	}
	p.addErrDirective(px, d)
	return nil
}

// errorfileAny reads a file an http-request deny or return answers with
// ("errorfile FILE"): a response of any status.
func (p *parser) errorfileAny(pos Pos, path string) (*ErrorPage, error) {
	f := p.errFiles[path]
	if f == nil {
		f = &errorFile{}
		f.raw, f.err = readErrorFile(path)
		if f.err == nil {
			f.err = parseErrorResponse(f.raw, &f.page)
			if f.err != nil {
				f.err = fmt.Errorf("not a valid HTTP response: %v", f.err)
			}
		}
		p.errFiles[path] = f
	}
	if f.err != nil {
		return nil, fmt.Errorf("'errorfile %s': %v", path, f.err)
	}
	pg := f.page
	pg.Pos, pg.Code, pg.File = pos, pg.Status, path
	p.sized = append(p.sized, sizedPage{pos: pos, what: "errorfile " + path, size: len(f.raw)})
	return &pg, nil
}

// resolveReplyErrorfiles finds the page of the http-errors section each
// "errorfiles NAME" answer names, for the rule's status.
func (p *parser) resolveReplyErrorfiles() {
	for _, r := range p.replyErrorfiles {
		var sec *HTTPErrors
		for _, s := range p.cfg.HTTPErrors {
			if s.Name == r.Errorfiles {
				sec = s
			}
		}
		if sec == nil {
			p.errorf(r.Pos, "'errorfiles %s': no http-errors section is named '%s'", r.Errorfiles, r.Errorfiles)
			continue
		}
		r.Errorfile = sec.Pages[r.Status] // nil: the proxy's page answers
	}
}
