package stats

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
)

// API executes runtime API commands (HAProxy's management.txt, section 9.3)
// at a socket's level.
type API struct {
	Src   *Sources
	Level config.APILevel // the zero value acts as operator, HAProxy's default

	// experimental is the connection's "experimental-mode on": it lets
	// the commands HAProxy marks experimental run (and be listed).
	experimental bool
}

type command struct {
	words []string // the fixed words that name it
	level config.APILevel
	usage string
	run   func(a *API, args []string) string
	act   connAction

	experimental bool // runs only in experimental mode
	unlisted     bool // left out of help, as HAProxy leaves it out
}

// connAction is what a command asks of the connection it came on.
type connAction uint8

const (
	actNone   connAction = iota
	actPrompt            // toggle interactive mode
	actQuit              // close the connection
)

// connCommand is the run of a command the connection carries out itself.
func connCommand(*API, []string) string { return "" }

var commands []command

func init() {
	commands = []command{
		{words: []string{"help"}, level: config.LevelUser, usage: "help                         : this message", run: (*API).help},
		{words: []string{"prompt"}, level: config.LevelUser, usage: "prompt                       : toggle interactive mode with prompt", run: connCommand, act: actPrompt},
		{words: []string{"quit"}, level: config.LevelUser, usage: "quit                         : disconnect", run: connCommand, act: actQuit},
		{words: []string{"show", "info"}, level: config.LevelUser, usage: "show info                    : report information about the running process", run: (*API).showInfo},
		{words: []string{"show", "stat"}, level: config.LevelUser, usage: "show stat [{<px>|<iid>} <type> <sid>] [typed|json] [up] [no-maint] : report counters for each proxy and server", run: (*API).showStat},
		{words: []string{"show", "servers", "state"}, level: config.LevelUser, usage: "show servers state [<backend>] : dump volatile server information", run: (*API).showServersState},
		{words: []string{"get", "weight"}, level: config.LevelUser, usage: "get weight <bk>/<srv>        : report a server's current weight", run: (*API).getWeight},
		{words: []string{"set", "weight"}, level: config.LevelAdmin, usage: "set weight <bk>/<srv> <w>[%] : change a server's weight", run: (*API).setWeight},
		{words: []string{"disable", "server"}, level: config.LevelAdmin, usage: "disable server <bk>/<srv>    : put a server in maintenance mode", run: (*API).disableServer},
		{words: []string{"enable", "server"}, level: config.LevelAdmin, usage: "enable server <bk>/<srv>     : take a server out of maintenance mode", run: (*API).enableServer},
		{words: []string{"set", "server"}, level: config.LevelAdmin, usage: "set server <bk>/<srv> state ready|drain|maint : change a server's administrative state", run: (*API).setServer},
		{words: []string{"get", "var"}, level: config.LevelOperator, usage: "get var <name>               : retrieve contents of a process-wide variable", run: (*API).getVar},
		{words: []string{"set", "var"}, level: config.LevelOperator, usage: "set var <name> [fmt|expr] {<fmt>|<expr>}: set variable from an expression or a format", run: (*API).setVar, experimental: true},
		{words: []string{"experimental-mode"}, level: config.LevelAdmin, run: (*API).experimentalMode, unlisted: true},
	}
}

// Exec runs one command and returns its answer: empty, or lines each
// ending in a newline, none of them empty (the socket ends each answer
// with an empty line), except "get var", whose one line has no newline,
// as in HAProxy. "prompt" and "quit" answer nothing here: only a
// connection can carry them out.
func (a *API) Exec(line string) string {
	answer, _ := a.exec(line)
	return answer
}

// exec is Exec, also saying what the command asks of the connection.
func (a *API) exec(line string) (string, connAction) {
	words := commandWords(line)
	if len(words) == 0 {
		return "", actNone
	}
	for _, c := range commands {
		if len(words) < len(c.words) || !equalWords(words[:len(c.words)], c.words) {
			continue
		}
		if a.level() < c.level {
			return "Permission denied\n", actNone
		}
		if c.experimental && !a.experimental {
			return "This command is restricted to experimental mode only.\n", actNone
		}
		return c.run(a, words[len(c.words):]), c.act
	}
	return "Unknown command: '" + clip(line) + "'. Please enter one of the following commands only :\n" + a.usage(), actNone
}

func (a *API) level() config.APILevel {
	if a.Level == 0 {
		return config.LevelOperator
	}
	return a.Level
}

func equalWords(a, b []string) bool {
	for i := range b {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// clip keeps an echoed unknown command short and printable.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

func (a *API) usage() string {
	var b strings.Builder
	for _, c := range commands {
		if a.level() >= c.level && !c.unlisted && (a.experimental || !c.experimental) {
			b.WriteString("  " + c.usage + "\n")
		}
	}
	return b.String()
}

func (a *API) help([]string) string { return a.usage() }

func (a *API) showInfo([]string) string {
	src := a.Src
	up := time.Since(src.Started)
	var cur, cum int64
	for _, r := range src.Snapshot() {
		if r.Type == TypeFrontend {
			cur += r.SCur
			cum += r.STot
		}
	}
	g := &src.Config.Global
	nb := g.NbThread
	if src.Loops > 0 {
		nb = src.Loops
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Name: fjord\nVersion: %s\nPid: %d\n", src.Version, os.Getpid())
	fmt.Fprintf(&b, "Uptime: %dd %dh%02dm%02ds\nUptime_sec: %d\n",
		int(up.Hours())/24, int(up.Hours())%24, int(up.Minutes())%60, int(up.Seconds())%60, int(up.Seconds()))
	fmt.Fprintf(&b, "Nbthread: %d\nMaxconn: %d\nCurrConns: %d\nCumConns: %d\n", nb, g.MaxConn, cur, cum)
	ssl := src.ssl()
	// In HAProxy's order; MaxSslConns and SslRateLimit are 0: fjord has
	// no maxsslconn or maxsslrate.
	fmt.Fprintf(&b, "MaxSslConns: 0\nCurrSslConns: %d\nCumSslConns: %d\n", ssl.CurrConns, ssl.CumConns)
	fmt.Fprintf(&b, "SslRate: %d\nSslRateLimit: 0\nMaxSslRate: %d\n", ssl.Rate, ssl.MaxRate)
	fmt.Fprintf(&b, "SslFrontendKeyRate: %d\nSslFrontendMaxKeyRate: %d\nSslFrontendSessionReuse_pct: %d\n",
		ssl.FrontendKeyRate, ssl.FrontendMaxKeyRate, ssl.FrontendReusePct)
	fmt.Fprintf(&b, "SslBackendKeyRate: %d\nSslBackendMaxKeyRate: %d\n", ssl.BackendKeyRate, ssl.BackendMaxKeyRate)
	fmt.Fprintf(&b, "SslHandshakeFailures: %d\nSslServerHandshakeFailures: %d\n", ssl.HandshakeFailures, ssl.ServerHandshakeFailures)
	var dropped uint64
	if src.DroppedLogs != nil {
		dropped = src.DroppedLogs()
	}
	fmt.Fprintf(&b, "DroppedLogs: %d\n", dropped)
	return b.String()
}

// showStat is HAProxy's "show stat [domain proxy] [{<px>|<iid>} <type>
// <sid>] [typed|json] [up] [no-maint]": the CSV, HAProxy's typed lines or
// the stats page's JSON, for every object or those selected.
func (a *API) showStat(args []string) string {
	o, msg := parseShowStat(args, a.Src)
	if msg != "" {
		return msg
	}
	rows := o.selected(a.Src.Snapshot())
	switch o.format {
	case formatJSON:
		return string(appendJSON(nil, rows))
	case formatTyped:
		return string(appendTyped(nil, rows))
	}
	var b strings.Builder
	WriteCSV(&b, rows)
	return b.String()
}

// showStatOptions are the arguments of "show stat".
type showStatOptions struct {
	format  outputFormat // formatCSV, formatJSON or formatTyped
	bound   bool         // only the objects below
	iid     int          // a proxy's id; -1: every proxy
	types   int          // 1 frontends, 2 backends, 4 servers, ORed; -1: all
	sid     int          // a server's id; -1: every server
	up      bool         // hide servers that are down or in maintenance
	noMaint bool         // hide servers in maintenance
}

// parseShowStat reads "show stat"'s arguments, or returns the message
// that says what is wrong. HAProxy ignores a word it does not know and
// reads a name that is not a number as 0; fjord refuses both, naming the
// word, so that a typing mistake shows as an error, not as the CSV when
// JSON was wanted.
func parseShowStat(args []string, src *Sources) (showStatOptions, string) {
	o := showStatOptions{format: formatCSV}
	if len(args) > 0 && args[0] == "domain" {
		switch {
		case len(args) < 2:
			return o, "Invalid statistics domain.\n"
		case args[1] == "resolvers" || args[1] == "dns":
			return o, "fjord has no resolvers: 'show stat domain proxy' is the only domain.\n"
		case args[1] != "proxy":
			return o, "Invalid statistics domain.\n"
		}
		args = args[2:]
	}
	if len(args) >= 3 && !showStatWords[args[0]] {
		o.bound = true
		o.iid = proxyID(args[0], src)
		if o.iid == 0 {
			return o, "No such proxy.\n"
		}
		var err error
		if o.types, err = strconv.Atoi(args[1]); err != nil {
			return o, "show stat: '" + clip(args[1]) + "' is not an object type: 1 frontends, 2 backends, 4 servers, their sum, or -1 for all.\n"
		}
		if o.sid, err = strconv.Atoi(args[2]); err != nil {
			return o, "show stat: '" + clip(args[2]) + "' is not a server id (-1 for all).\n"
		}
		args = args[3:]
	}
	formatSet := false
	for _, w := range args {
		switch w {
		case "typed", "json":
			f := map[string]outputFormat{"typed": formatTyped, "json": formatJSON}[w]
			if formatSet && f != o.format {
				return o, "show stat: 'typed' and 'json' cannot be combined.\n"
			}
			o.format, formatSet = f, true
		case "up":
			o.up = true
		case "no-maint":
			o.noMaint = true
		case "desc":
			return o, "show stat: 'desc' is not supported by fjord (it has no field descriptions).\n"
		default:
			return o, "show stat: unknown argument '" + clip(w) + "': expected typed, json, up or no-maint" +
				" (after an optional '<proxy> <type> <sid>').\n"
		}
	}
	return o, ""
}

// showStatWords are the words that cannot start a '<px> <type> <sid>'.
var showStatWords = map[string]bool{"typed": true, "json": true, "up": true, "no-maint": true, "desc": true}

// proxyID is the id of the proxy named s, else s as a number (-1: every
// proxy), else 0.
func proxyID(s string, src *Sources) int {
	for i, px := range src.Config.Proxies {
		if px.Name == s {
			return i + 1
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > len(src.Config.Proxies) {
		return 0
	}
	return n
}

func (o showStatOptions) selected(rows []Row) []Row {
	if o.up {
		rows = hideDown(rows)
	}
	out := rows[:0]
	for _, r := range rows {
		switch {
		case o.noMaint && r.Type == TypeServer && r.Status == "MAINT":
			continue
		case o.bound && o.iid != -1 && r.IID != o.iid:
			continue
		case o.bound && o.types&(1<<r.Type) == 0:
			continue
		case o.bound && r.Type == TypeServer && o.sid != -1 && r.SID != o.sid:
			continue
		}
		out = append(out, r)
	}
	return out
}

// showServersState dumps HAProxy's "show servers state" format version 1
// (the columns it can fill; the rest are 0 or "-").
func (a *API) showServersState(args []string) string {
	var b strings.Builder
	b.WriteString("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord\n")
	found := len(args) == 0
	for i, px := range a.Src.Config.Proxies {
		be := a.Src.Backends[px.Name]
		if be == nil || (len(args) > 0 && args[0] != px.Name) {
			continue
		}
		found = true
		now := time.Now()
		for _, s := range be.Servers {
			op := 0 // SRV_ST_STOPPED
			if s.Up() {
				op = 2 // SRV_ST_RUNNING
			}
			admin := 0
			switch s.Admin() {
			case balancer.Maint:
				admin = 1 // SRV_ADMF_FMAINT
			case balancer.Drain:
				admin = 8 // SRV_ADMF_FDRAIN
			}
			since := int64(0)
			if t := s.Counters.LastChange.Load(); t > 0 {
				since = (now.UnixNano() - t) / 1e9
			}
			checkStatus, checkHealth := 0, 0
			if a.Src.Checks != nil {
				if st, ok := a.Src.Checks.Status(s); ok {
					checkStatus, checkHealth = 6, st.Health // HCHK_STATUS_* is not mirrored: 6 means checked
				}
			}
			addr := "-" // a Unix socket's, as HAProxy writes it
			if s.Addr.IsValid() {
				addr = s.Addr.Addr().String()
			}
			fmt.Fprintf(&b, "%d %s %d %s %s %d %d %d %d %d %d 0 %d 0 0 0 0 - %d -\n",
				i+1, px.Name, s.ID, s.Name, addr, op, admin, s.Weight(), s.Conf.Weight, since,
				checkStatus, checkHealth, s.Addr.Port())
		}
	}
	if !found {
		return "Can't find backend.\n"
	}
	return b.String()
}

// server resolves "backend/server".
func (a *API) server(arg string) (*balancer.Server, string) {
	bk, sv, ok := strings.Cut(arg, "/")
	if !ok || bk == "" || sv == "" {
		return nil, "Require 'backend/server'.\n"
	}
	be := a.Src.Backends[bk]
	if be == nil {
		return nil, "No such backend.\n"
	}
	s := be.Server(sv)
	if s == nil {
		return nil, "No such server.\n"
	}
	return s, ""
}

func (a *API) getWeight(args []string) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	s, msg := a.server(args[0])
	if s == nil {
		return msg
	}
	return fmt.Sprintf("%d (initial %d)\n", s.Weight(), initialWeight(s.Conf))
}

func initialWeight(c *config.Server) int {
	if c.Weight == 0 {
		return 1
	}
	return c.Weight
}

func (a *API) setWeight(args []string) string {
	if len(args) != 2 {
		return "Require 'backend/server' and 'weight' or 'weight%'.\n"
	}
	s, msg := a.server(args[0])
	if s == nil {
		return msg
	}
	v := args[1]
	pct := strings.HasSuffix(v, "%")
	n, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
	if err != nil || n < 0 {
		return "Invalid weight: '" + clip(v) + "'.\n"
	}
	if pct {
		n = initialWeight(s.Conf) * n / 100
	}
	if n > 256 {
		return "Absolute weight can only be between 0 and 256 inclusive.\n"
	}
	s.SetWeight(n)
	return ""
}

func (a *API) disableServer(args []string) string { return a.setAdmin(args, balancer.Maint) }
func (a *API) enableServer(args []string) string  { return a.setAdmin(args, balancer.Ready) }

func (a *API) setAdmin(args []string, st balancer.Admin) string {
	if len(args) != 1 {
		return "Require 'backend/server'.\n"
	}
	s, msg := a.server(args[0])
	if s == nil {
		return msg
	}
	s.SetAdmin(st)
	return ""
}

func (a *API) setServer(args []string) string {
	if len(args) != 3 || args[1] != "state" {
		return "'set server <bk>/<srv>' only supports 'state ready|drain|maint'.\n"
	}
	states := map[string]balancer.Admin{"ready": balancer.Ready, "drain": balancer.Drain, "maint": balancer.Maint}
	st, ok := states[args[2]]
	if !ok {
		return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
	}
	return a.setAdmin(args[:1], st)
}
