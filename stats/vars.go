package stats

import (
	"strings"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
)

// getVar is HAProxy's "get var <name>": a proc variable's type and value,
// with the bytes that are not printable shown as '.'. As in HAProxy, the
// line has no newline of its own: the answer's delimiter ends it, so no
// empty line follows (scripts and VTest's tests match "<value>$").
func (a *API) getVar(args []string) string {
	if len(args) == 0 {
		return "Missing process-wide variable identifier.\n"
	}
	n, err := config.ProcVarName(args[0])
	if err != nil {
		return "'get var': " + err.Error() + ".\n"
	}
	v, ok := rules.ProcVar(n)
	if !ok {
		return "Variable not found.\n"
	}
	text := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return '.'
		}
		return r
	}, v.Text())
	return args[0] + ": type=" + v.TypeName() + " value=<" + text + ">"
}

// setVar is HAProxy's experimental "set var <name> [fmt|expr]
// {<fmt>|<expr>}": a proc variable set as a global set-var or set-var-fmt
// line would set it. It answers nothing when it succeeds.
func (a *API) setVar(args []string) string {
	switch len(args) {
	case 0:
		return "Missing process-wide variable identifier.\n"
	case 1:
		return "Missing either 'expr', 'fmt' or expression.\n"
	}
	isFmt, value := false, args[1]
	if len(args) > 2 {
		switch args[1] {
		case "fmt":
			isFmt = true
		case "expr":
		default:
			return "'set var': arg type must be either 'expr' or 'fmt' but got '" + clip(args[1]) + "'.\n"
		}
		if len(args) > 3 {
			return "'set var': unexpected '" + clip(args[3]) + "' after the value (escape spaces with '\\').\n"
		}
		value = args[2]
	}
	vs, err := config.CLIVarSet(a.Src.Config, args[0], isFmt, value)
	if err != nil {
		return "'set var': " + err.Error() + ".\n"
	}
	rules.SetProcVar(vs, backendsEnv{a.Src})
	return ""
}

// experimentalMode is HAProxy's "experimental-mode [on|off]": without an
// argument it says whether the mode is on; "on" and "off" switch it for
// this connection.
func (a *API) experimentalMode(args []string) string {
	if len(args) == 0 {
		if a.experimental {
			return "experimental-mode is ON\n"
		}
		return "experimental-mode is OFF\n"
	}
	switch args[0] {
	case "on":
		a.experimental = true
	case "off":
		a.experimental = false
	default:
		return "'experimental-mode' expects 'on' or 'off', not '" + clip(args[0]) + "'.\n"
	}
	return ""
}

// backendsEnv answers the runtime API's nbsrv() from the backends the
// stats read.
type backendsEnv struct{ src *Sources }

func (e backendsEnv) UsableServers(name string) int {
	b := e.src.Backends[name]
	if b == nil {
		return -1
	}
	return b.Available()
}
