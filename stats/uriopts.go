package stats

import (
	"bytes"
	"fmt"
	"strings"
)

// outputFormat is what a stats URI asks for.
type outputFormat uint8

const (
	formatHTML  outputFormat = iota
	formatCSV                // ";csv"
	formatJSON               // ";json"
	formatTyped              // "show stat typed" (the page has no ";typed")
)

// uriOptions are the ";name" options HAProxy reads after the stats URI,
// as in "/haproxy?stats;csv;norefresh".
type uriOptions struct {
	format    outputFormat
	up        bool   // ";up": hide servers that are down or in maintenance
	norefresh bool   // ";norefresh": no <meta http-equiv="refresh">
	status    string // ";st=CODE": the outcome of an admin action, shown once
}

// Admin action outcomes (";st=CODE"), HAProxy's codes and messages.
const (
	stDone = "DONE"
	stNone = "NONE"
	stPart = "PART"
	stErrP = "ERRP"
	stExcd = "EXCD"
	stDeny = "DENY"
	stUnkn = "UNKN"
)

var statusMessages = map[string]string{
	stDone: "Action processed successfully.",
	stNone: "Nothing has changed.",
	stPart: "Action partially processed.",
	stErrP: "Action not processed because of invalid parameters: the action is not applicable to the backend, or the backend or a server does not exist.",
	stExcd: "Action not processed: the request was too large. Retry with fewer servers at a time.",
	stDeny: "Action denied.",
	stUnkn: "Unexpected result.",
}

// maxURIOptions bounds how many ";" options a target may carry; a real
// one has at most four, so more is garbage, not a request to honour.
const maxURIOptions = 16

// parseURIOptions reads the options in rest, the request-target after the
// stats URI. Whatever precedes the first ';' is ignored: HAProxy matches
// the stats URI as a prefix, so "/haproxy?stats&x" is the page too.
//
// Unlike HAProxy, which looks for each option anywhere in the target and
// ignores everything else, fjord refuses an option it does not know (and
// contradictory ones) with an error naming it, so that a typing mistake
// in a monitoring script shows as an error, not as a page in the wrong
// format.
func parseURIOptions(rest []byte) (uriOptions, error) {
	var o uriOptions
	i := bytes.IndexByte(rest, ';')
	if i < 0 {
		return o, nil
	}
	rest = rest[i+1:]
	for n := 0; ; n++ {
		if n == maxURIOptions {
			return o, fmt.Errorf("too many ';' options (at most %d)", maxURIOptions)
		}
		tok := rest
		more := false
		if j := bytes.IndexByte(rest, ';'); j >= 0 {
			tok, rest, more = rest[:j], rest[j+1:], true
		}
		if err := o.apply(tok); err != nil {
			return o, err
		}
		if !more {
			return o, nil
		}
	}
}

func (o *uriOptions) apply(tok []byte) error {
	setFormat := func(f outputFormat) error {
		if o.format != formatHTML && o.format != f {
			return fmt.Errorf("';csv' and ';json' cannot be combined")
		}
		o.format = f
		return nil
	}
	switch {
	case len(tok) == 0: // ";;" or a trailing ';'
		return nil
	case string(tok) == "csv":
		return setFormat(formatCSV)
	case string(tok) == "json":
		return setFormat(formatJSON)
	case string(tok) == "up":
		o.up = true
	case string(tok) == "norefresh":
		o.norefresh = true
	case bytes.HasPrefix(tok, []byte("st=")):
		code := string(tok[3:])
		if _, ok := statusMessages[code]; !ok {
			return fmt.Errorf("unknown action status ';st=%s' (expected one of DONE, NONE, PART, ERRP, EXCD, DENY, UNKN)", printable(code))
		}
		o.status = code
	default:
		return fmt.Errorf("unknown stats option ';%s' (supported: ;csv, ;json, ;up, ;norefresh, ;st=CODE)", printable(string(tok)))
	}
	return nil
}

// suffix renders the options back, in a canonical order, for links and
// redirects. withFormat and withStatus choose whether the output format
// and the one-shot status are kept.
func (o uriOptions) suffix(withFormat, withStatus bool) string {
	var b strings.Builder
	if withFormat {
		switch o.format {
		case formatCSV:
			b.WriteString(";csv")
		case formatJSON:
			b.WriteString(";json")
		}
	}
	if o.up {
		b.WriteString(";up")
	}
	if o.norefresh {
		b.WriteString(";norefresh")
	}
	if withStatus && o.status != "" {
		b.WriteString(";st=" + o.status)
	}
	return b.String()
}

// printable keeps an echoed option short and free of control bytes, since
// it goes back to the client in an error message.
func printable(s string) string {
	const limit = 40
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return '?'
		}
		return r
	}, s)
}
