package stats

import (
	"io"
	"strconv"
	"strings"
)

// csvColumns are HAProxy's CSV fields in its order (doc/management.txt,
// "9.1. CSV format"), so that tools written for HAProxy read fjord's CSV
// unchanged. Fields fjord does not measure are left empty, as HAProxy does
// for fields that do not apply.
var csvColumns = []string{
	"pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
	"dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act",
	"bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid", "throttle",
	"lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status", "check_code", "check_duration", "hrsp_1xx",
	"hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt",
	"srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk", "last_agt", "qtime", "ctime",
	"rtime", "ttime",
}

// CSVHeader is the first line of the CSV, with HAProxy's "# " prefix.
func CSVHeader() string { return "# " + strings.Join(csvColumns, ",") + ",\n" }

// WriteCSV writes the header and one line per row.
func WriteCSV(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString(CSVHeader())
	for i := range rows {
		rows[i].appendCSV(&b)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fields returns the row's CSV values by column name; absent means empty.
func (r *Row) fields() map[string]string {
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	f := map[string]string{
		"pxname": r.PxName, "svname": r.SvName,
		"scur": n(r.SCur), "smax": n(r.SMax), "stot": n(r.STot),
		"bin": n(r.BIn), "bout": n(r.BOut),
		"status": r.Status, "pid": "1", "iid": strconv.Itoa(r.IID), "sid": strconv.Itoa(r.SID),
		"type": strconv.Itoa(r.Type),
	}
	if r.SLim > 0 {
		f["slim"] = n(r.SLim)
	}
	if r.Type != TypeServer {
		f["dreq"], f["dresp"] = "0", "0" // fjord denies nothing yet: no http-request deny
	}
	if r.Type == TypeFrontend {
		f["ereq"] = n(r.EReq)
		if r.HTTP {
			f["req_tot"] = n(r.ReqTot)
		}
	} else {
		f["qcur"], f["qmax"] = n(r.QCur), n(r.QMax)
		f["econ"], f["eresp"] = n(r.ECon), n(r.EResp)
		f["wretr"], f["wredis"] = n(r.WRetr), n(r.WRedis)
		f["weight"], f["act"], f["bck"] = n(r.Weight), n(r.Act), n(r.Bck)
		f["lbtot"] = n(r.LbTot)
		if r.LastChg >= 0 {
			f["lastchg"] = n(r.LastChg)
		}
		if r.Downtime >= 0 && (r.Type == TypeBackend || r.Checked) {
			f["downtime"] = n(r.Downtime)
		}
	}
	if r.Type == TypeServer {
		if r.QLimit > 0 {
			f["qlimit"] = n(r.QLimit)
		}
		if r.Checked {
			f["chkfail"], f["chkdown"] = n(r.ChkFail), n(r.ChkDown)
			f["check_status"] = r.CheckStatus
			if r.CheckCode != 0 {
				f["check_code"] = strconv.Itoa(r.CheckCode)
			}
			if r.CheckDuration >= 0 {
				f["check_duration"] = n(r.CheckDuration)
			}
			if r.CheckInfo != "" {
				f["last_chk"] = r.CheckInfo
			}
		}
	}
	if r.Type == TypeBackend && r.HTTP {
		f["req_tot"] = n(r.ReqTot)
	}
	if r.HTTP {
		for i, name := range []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"} {
			f[name] = n(r.HRsp[i])
		}
	}
	return f
}

func (r *Row) appendCSV(b *strings.Builder) {
	f := r.fields()
	for _, col := range csvColumns {
		b.WriteString(csvEscape(f[col]))
		b.WriteByte(',')
	}
	b.WriteByte('\n')
}

// csvEscape quotes a value holding a comma, a quote or a line break.
func csvEscape(s string) string {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
