package stats

import (
	"fmt"
	"html/template"
	"io"
	"os"
	goruntime "runtime" // "runtime" is a test type in this package
	"strconv"
	"strings"
	"time"

	"github.com/fjordlb/fjord/health"
)

// The HTML page is HAProxy's stats page made readable on a phone: one
// table per proxy (frontend row, server rows, backend row) in a box that
// scrolls sideways with the name column kept in view, HAProxy's status
// colours, and no script or external resource. html/template escapes
// every name and value.

// columnGroup is a group of columns under one heading, as HAProxy's.
type columnGroup struct {
	Title string
	Cols  []column
}

type column struct {
	Title, Help string
}

var (
	baseGroups = []columnGroup{
		{"Queue", []column{{"Cur", "queued requests now"}, {"Max", "most queued"}, {"Limit", "maxqueue"}}},
		{"Sessions", []column{{"Cur", "sessions now"}, {"Max", "most sessions"}, {"Limit", "maxconn"}, {"Total", "sessions since start"}, {"LbTot", "times chosen by the algorithm"}}},
		{"Bytes", []column{{"In", "bytes from clients"}, {"Out", "bytes to clients"}}},
		{"Denied", []column{{"Req", "requests denied"}, {"Resp", "responses denied"}}},
		{"Errors", []column{{"Req", "bad requests"}, {"Conn", "failed connections"}, {"Resp", "bad responses"}}},
		{"Warnings", []column{{"Retr", "retries"}, {"Redis", "redispatches"}}},
		{"Server", []column{{"Status", "state and time since the last change"}, {"LastChk", "last health check"}, {"Wght", "weight"}, {"Act", "active"}, {"Bck", "backup"}, {"Chk", "failed checks"}, {"Dwn", "UP to DOWN transitions"}, {"Dwntme", "total downtime"}}},
	}
	httpGroup = columnGroup{"HTTP responses", []column{{"1xx", ""}, {"2xx", ""}, {"3xx", ""}, {"4xx", ""}, {"5xx", ""}, {"other", ""}}}
	// The CSV columns shown, in baseGroups' order; names starting with
	// '=' are cells rowCells computes.
	baseCells = []string{
		"qcur", "qmax", "qlimit",
		"scur", "smax", "slim", "stot", "lbtot",
		"bin", "bout",
		"dreq", "dresp",
		"ereq", "econ", "eresp",
		"wretr", "wredis",
		"=status", "=lastchk", "weight", "=act", "=bck", "chkfail", "chkdown", "=downtime",
	}
	httpCells = []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"}
)

type htmlPage struct {
	Title       string
	Refresh     int    // seconds; 0: no refresh
	Version     string // "" with "stats hide-version"
	GoVersion   string
	PID         int
	Uptime      string
	MaxConn     int
	NbThread    int
	CurConns    int64
	TotConns    int64
	DroppedLogs uint64
	SSL         *SSLInfo // nil: no TLS
	Message     string
	MessageOK   bool
	Links       []htmlLink
	FormAction  string
	Proxies     []*htmlProxy
	AdminActive bool
}

type htmlLink struct{ Href, Text string }

type htmlProxy struct {
	Name, Anchor string
	Mode         string
	Groups       []columnGroup
	Rows         []htmlRow
	Admin        bool   // a backend whose servers the form may change
	BackendRef   string // the form's "b" value
}

type htmlRow struct {
	Class    string // status colour
	Name     string
	Anchor   string
	Checkbox bool
	Cells    []htmlCell
}

type htmlCell struct{ Text, Title string }

// renderHTML writes the page for rows. admin says whether this request
// may use the admin form.
func (p *Page) renderHTML(w io.Writer, rows []Row, opts uriOptions, admin bool) error {
	up := time.Since(p.src.Started)
	g := &p.src.Config.Global
	v := &htmlPage{
		Title:       "Statistics Report for fjord",
		PID:         os.Getpid(),
		Uptime:      formatUptime(up),
		MaxConn:     g.MaxConn,
		NbThread:    g.NbThread,
		FormAction:  p.uri + opts.suffix(false, false),
		AdminActive: admin,
	}
	if p.src.SSL != nil {
		ssl := p.src.SSL()
		v.SSL = &ssl
	}
	if p.src.DroppedLogs != nil {
		v.DroppedLogs = p.src.DroppedLogs()
	}
	if p.src.Loops > 0 {
		v.NbThread = p.src.Loops
	}
	if !p.hideVersion {
		v.Version, v.GoVersion = p.src.Version, goruntime.Version()
	}
	if p.refresh > 0 && !opts.norefresh {
		v.Refresh = p.refresh
	}
	if opts.status != "" {
		v.Message = statusMessages[opts.status]
		v.MessageOK = opts.status == stDone || opts.status == stNone
	}
	v.Links = p.links(opts)
	var hp *htmlProxy
	for i := range rows {
		r := &rows[i]
		if r.Type == TypeFrontend {
			v.CurConns += r.SCur
			v.TotConns += r.STot
		}
		if hp == nil || r.IID != rows[i-1].IID {
			// Snapshot keeps each proxy's rows together.
			hp = p.newHTMLProxy(r, admin)
			v.Proxies = append(v.Proxies, hp)
		}
		hp.Rows = append(hp.Rows, htmlRow{
			Class:    rowClass(r),
			Name:     r.SvName,
			Anchor:   r.PxName + "/" + r.SvName,
			Checkbox: hp.Admin && r.Type == TypeServer,
			Cells:    rowCells(r, r.HTTP),
		})
	}
	return pageTemplate.Execute(w, v)
}

func (p *Page) newHTMLProxy(r *Row, admin bool) *htmlProxy {
	hp := &htmlProxy{Name: r.PxName, Anchor: r.PxName, Mode: "tcp", Groups: baseGroups}
	if r.HTTP {
		hp.Mode = "http"
		hp.Groups = append(baseGroups[:len(baseGroups):len(baseGroups)], httpGroup)
	}
	if b := p.src.Backends[r.PxName]; admin && b != nil && len(b.Servers) > 0 {
		hp.Admin = true
		hp.BackendRef = "#" + strconv.Itoa(r.IID)
	}
	return hp
}

// links are HAProxy's display options, keeping the other options.
func (p *Page) links(opts uriOptions) []htmlLink {
	opts.status, opts.format = "", formatHTML
	href := func(o uriOptions) string { return p.uri + o.suffix(true, false) }
	var ls []htmlLink
	t := opts
	t.up = !opts.up
	if opts.up {
		ls = append(ls, htmlLink{href(t), "Show all servers"})
	} else {
		ls = append(ls, htmlLink{href(t), "Hide DOWN servers"})
	}
	if p.refresh > 0 {
		t = opts
		t.norefresh = !opts.norefresh
		if opts.norefresh {
			ls = append(ls, htmlLink{href(t), "Enable refresh"})
		} else {
			ls = append(ls, htmlLink{href(t), "Disable refresh"})
		}
	}
	ls = append(ls, htmlLink{href(opts), "Refresh now"})
	t = opts
	t.format = formatCSV
	ls = append(ls, htmlLink{href(t), "CSV export"})
	t.format = formatJSON
	ls = append(ls, htmlLink{href(t), "JSON export"})
	if p.promURI != "" {
		ls = append(ls, htmlLink{p.promURI, "Prometheus metrics"})
	}
	return ls
}

// rowClass picks HAProxy's colour for a row.
func rowClass(r *Row) string {
	switch r.Type {
	case TypeFrontend:
		return "px"
	case TypeBackend:
		if r.Status == "DOWN" {
			return "down"
		}
		return "px"
	}
	s := r.Status
	switch {
	case s == "MAINT":
		return "maint"
	case s == "DRAIN":
		return "drain"
	case s == "no check":
		return "nochk"
	case s == "UP":
		if r.Backup {
			return "bup"
		}
		return "up"
	case strings.HasPrefix(s, "UP "):
		return "gdown" // up, but failing checks: going down
	case strings.HasPrefix(s, "DOWN "):
		return "gup" // down, but passing checks: going up
	}
	return "down"
}

// rowCells are a row's values in the column order of baseGroups (and
// httpGroup for HTTP proxies), empty where the CSV is.
func rowCells(r *Row, http bool) []htmlCell {
	f := r.fields()
	cells := make([]htmlCell, 0, len(baseCells)+len(httpCells))
	for _, col := range baseCells {
		var c htmlCell
		switch col {
		default:
			c.Text = f[col]
		case "=status":
			c = statusCell(r)
		case "=lastchk":
			c = lastCheckCell(r)
		case "=act":
			c.Text = actBck(r, r.Act)
		case "=bck":
			c.Text = actBck(r, r.Bck)
		case "=downtime":
			if d, ok := f["downtime"]; ok {
				n, _ := strconv.ParseInt(d, 10, 64)
				c.Text = humanTime(n)
			}
		}
		cells = append(cells, c)
	}
	if http {
		for _, col := range httpCells {
			cells = append(cells, htmlCell{Text: f[col]})
		}
	}
	return cells
}

// statusCell is "UP 2h3m": the status and the time since it changed.
func statusCell(r *Row) htmlCell {
	c := htmlCell{Text: r.Status}
	if r.Type != TypeFrontend && r.LastChg >= 0 {
		c.Text += " " + humanTime(r.LastChg)
		c.Title = "last change " + strconv.FormatInt(r.LastChg, 10) + "s ago"
	}
	return c
}

// lastCheckCell is "L7OK/200 in 3ms", as HAProxy's LastChk, with its
// tip: the status's description and the check's info, which say why a
// check failed ("Layer6 invalid response: SSL handshake failure (...)").
func lastCheckCell(r *Row) htmlCell {
	if r.Type != TypeServer || !r.Checked {
		return htmlCell{}
	}
	s := r.CheckStatus
	if r.CheckCode != 0 {
		s += "/" + strconv.Itoa(r.CheckCode)
	}
	if r.CheckDuration >= 0 && r.CheckStatus != "INI" {
		s += " in " + strconv.FormatInt(r.CheckDuration, 10) + "ms"
	}
	tip := health.Status(r.CheckStatus).Description()
	if r.CheckInfo != "" {
		tip += ": " + r.CheckInfo
	}
	return htmlCell{Text: s, Title: tip}
}

// actBck is "Y" or "-" on a server row, a count on the backend row.
func actBck(r *Row, n int64) string {
	switch r.Type {
	case TypeServer:
		if n > 0 {
			return "Y"
		}
		return "-"
	case TypeBackend:
		return strconv.FormatInt(n, 10)
	}
	return ""
}

// humanTime is HAProxy's compact duration: "5d2h", "2h3m", "3m10s", "12s".
func humanTime(s int64) string {
	switch {
	case s < 0:
		return ""
	case s >= 86400:
		return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
	case s >= 3600:
		return fmt.Sprintf("%dh%dm", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

// formatUptime is HAProxy's "0d 2h03m04s".
func formatUptime(d time.Duration) string {
	s := int64(d / time.Second)
	return fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
}

var pageTemplate = template.Must(template.New("stats").Parse(pageHTML))

// pageHTML: colours are HAProxy's (UP green, going down yellow, going up
// orange, DOWN red, DRAIN blue, MAINT blue-grey, no check grey, backup UP
// light blue, proxies beige).
const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{- if .Refresh}}
<meta http-equiv="refresh" content="{{.Refresh}}">
{{- end}}
<title>{{.Title}}</title>
<style>
body{font:13px/1.35 system-ui,-apple-system,Segoe UI,Roboto,Arial,sans-serif;margin:8px;color:#000;background:#fff}
h1{font-size:17px;margin:0 0 4px;color:#fff;background:#20a0d0;padding:4px 6px}
h2{font-size:14px;margin:14px 0 0;padding:3px 6px;color:#ff4;background:#b00040;display:inline-block;border-radius:3px 3px 0 0}
h2 small{color:#fff;font-weight:normal}
.info{margin:4px 0}
nav a{display:inline-block;margin:2px 8px 2px 0;color:#00c}
.msg{padding:6px;border:1px solid;margin:6px 0}.ok{background:#d0ffd0;border-color:#080}.err{background:#ffd0d0;border-color:#c00}
.wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;white-space:nowrap}
th,td{border:1px solid #999;padding:2px 4px}
th{background:#20d0d0;font-weight:600}
td{text-align:right}
.n{position:sticky;left:0;text-align:left;background:inherit;z-index:1}
th.n{background:#20d0d0}
tr{background:#fff}
.px{background:#e8e8d0}.up{background:#c0ffc0}.bup{background:#b0d0ff}.gdown{background:#ffffa0}.gup{background:#ffd020}
.down{background:#ff9090}.drain{background:#20a0ff}.maint{background:#b8c4d6}.nochk{background:#e0e0e0}
.act{margin:4px 0}
.legend span{display:inline-block;padding:1px 5px;margin:2px;border:1px solid #999}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="info">{{if .Version}}fjord {{.Version}} ({{.GoVersion}}) · {{end}}pid {{.PID}} · uptime {{.Uptime}} · threads {{.NbThread}} · maxconn {{.MaxConn}} · current conns {{.CurConns}} · total {{.TotConns}} · dropped log lines {{.DroppedLogs}}</p>
{{with .SSL}}<p class="info">SSL: current {{.CurrConns}} · total {{.CumConns}} · {{.Rate}}/s (max {{.MaxRate}}) · full handshakes {{.FrontendKeyRate}}/s (max {{.FrontendMaxKeyRate}}) · reused {{.FrontendReusePct}}% · to servers {{.BackendKeyRate}}/s · failed handshakes {{.HandshakeFailures}} (to servers {{.ServerHandshakeFailures}})</p>{{end}}
<nav>{{range .Links}}<a href="{{.Href}}">{{.Text}}</a>{{end}}</nav>
{{- with .Message}}
<p class="msg {{if $.MessageOK}}ok{{else}}err{{end}}">{{.}}</p>
{{- end}}
{{- range .Proxies}}
<section id="{{.Anchor}}">
<h2>{{.Name}} <small>{{.Mode}}</small></h2>
{{- if .Admin}}
<form method="post" action="{{$.FormAction}}">
{{- end}}
<div class="wrap"><table>
<thead><tr><th class="n" rowspan="2">{{.Name}}</th>{{range .Groups}}<th colspan="{{len .Cols}}">{{.Title}}</th>{{end}}</tr>
<tr>{{range .Groups}}{{range .Cols}}<th{{with .Help}} title="{{.}}"{{end}}>{{.Title}}</th>{{end}}{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr class="{{.Class}}" id="{{.Anchor}}"><td class="n">{{if .Checkbox}}<input type="checkbox" name="s" value="{{.Name}}"> {{end}}{{.Name}}</td>{{range .Cells}}<td{{with .Title}} title="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{- end}}
</tbody></table></div>
{{- if .Admin}}
<p class="act"><label>Action on the checked servers: <select name="action">
<option value="">choose…</option>
<option value="ready">Set state to READY</option>
<option value="drain">Set state to DRAIN</option>
<option value="maint">Set state to MAINT</option>
</select></label><input type="hidden" name="b" value="{{.BackendRef}}"> <button type="submit">Apply</button></p>
</form>
{{- end}}
</section>
{{- end}}
<p class="legend">Legend: <span class="up">UP</span><span class="bup">backup UP</span><span class="gdown">UP, going down</span><span class="gup">DOWN, going up</span><span class="down">DOWN</span><span class="drain">DRAIN</span><span class="maint">MAINT</span><span class="nochk">no check</span></p>
</body></html>
`
