package stats

import (
	"strconv"
	"strings"
)

// typedKind is HAProxy's description of a field in its "typed" output
// (management.txt 9.2): the value's type, then three tags, origin (M
// metric, S status, K key, C config), nature (G gauge, L limit, M max,
// R rate, C counter, D duration, A age, N name, O output, a average) and
// scope (P process, S service).
type typedKind struct {
	typ  string // u32, u64, s32 or str
	tags string
}

// typedKinds are HAProxy 2.6's, taken from stats_fill_fe_stats,
// stats_fill_be_stats and stats_fill_sv_stats in src/stats.c. They are
// the same for every row type except act and bck (see kindOf).
var typedKinds = map[string]typedKind{
	"pxname": {"str", "KNS"}, "svname": {"str", "KNS"},
	"qcur": {"u32", "MGP"}, "qmax": {"u32", "MMP"},
	"scur": {"u32", "MGP"}, "smax": {"u32", "MMP"}, "slim": {"u32", "CLP"},
	"stot": {"u64", "MCP"}, "bin": {"u64", "MCP"}, "bout": {"u64", "MCP"},
	"dreq": {"u64", "MCP"}, "dresp": {"u64", "MCP"}, "ereq": {"u64", "MCP"},
	"econ": {"u64", "MCP"}, "eresp": {"u64", "MCP"},
	"wretr": {"u64", "MCP"}, "wredis": {"u64", "MCP"},
	"status": {"str", "SGP"}, "weight": {"u32", "MaP"},
	"act": {"u32", "MGP"}, "bck": {"u32", "MGP"},
	"chkfail": {"u64", "MCP"}, "chkdown": {"u64", "MCP"},
	"lastchg": {"u32", "MAP"}, "downtime": {"u32", "MCP"}, "qlimit": {"u32", "CGS"},
	"pid": {"u32", "KGP"}, "iid": {"u32", "KGS"}, "sid": {"u32", "KGS"},
	"throttle": {"u32", "MaP"}, "lbtot": {"u64", "MCP"}, "tracked": {"str", "CNS"},
	"type": {"u32", "CGS"}, "rate": {"u32", "MRP"}, "rate_lim": {"u32", "CLP"}, "rate_max": {"u32", "MMP"},
	"check_status": {"str", "MOP"}, "check_code": {"u32", "MOP"}, "check_duration": {"u64", "MDP"},
	"hrsp_1xx": {"u64", "MCP"}, "hrsp_2xx": {"u64", "MCP"}, "hrsp_3xx": {"u64", "MCP"},
	"hrsp_4xx": {"u64", "MCP"}, "hrsp_5xx": {"u64", "MCP"}, "hrsp_other": {"u64", "MCP"},
	"hanafail": {"u64", "MCP"}, "req_rate": {"u32", "MRP"}, "req_rate_max": {"u32", "MMP"},
	"req_tot": {"u64", "MCP"}, "cli_abrt": {"u64", "MCP"}, "srv_abrt": {"u64", "MCP"},
	"comp_in": {"u64", "MCP"}, "comp_out": {"u64", "MCP"}, "comp_byp": {"u64", "MCP"}, "comp_rsp": {"u64", "MCP"},
	"lastsess": {"s32", "MAP"}, "last_chk": {"str", "MOP"}, "last_agt": {"str", "MOP"},
	"qtime": {"u32", "MaP"}, "ctime": {"u32", "MaP"}, "rtime": {"u32", "MaP"}, "ttime": {"u32", "MaP"},
}

func kindOf(col string, rowType int) typedKind {
	k := typedKinds[col]
	if rowType == TypeServer && (col == "act" || col == "bck") {
		k.tags = "SGP" // a server's own active/backup flag is a status
	}
	return k
}

// appendTyped writes rows in HAProxy's "show stat typed" format: one line
// per field the CSV fills, "T.IID.SID.POS.NAME.PID:TAGS:TYPE:VALUE", where
// T is F, B or S and POS the field's CSV column (HAProxy's field number).
// An object's fields are contiguous, in column order.
func appendTyped(b []byte, rows []Row) []byte {
	for i := range rows {
		r := &rows[i]
		obj := [...]byte{TypeFrontend: 'F', TypeBackend: 'B', TypeServer: 'S'}[r.Type]
		f := r.fields()
		for pos, col := range csvColumns {
			v := f[col]
			if v == "" {
				continue
			}
			k := kindOf(col, r.Type)
			b = append(b, obj, '.')
			b = strconv.AppendInt(b, int64(r.IID), 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(r.SID), 10)
			b = append(b, '.')
			b = strconv.AppendInt(b, int64(pos), 10)
			b = append(b, '.')
			b = append(b, col...)
			b = append(b, ".1:"...) // the process number: fjord is one process
			b = append(b, k.tags...)
			b = append(b, ':')
			b = append(b, k.typ...)
			b = append(b, ':')
			b = append(b, typedValue(v)...)
			b = append(b, '\n')
		}
	}
	return b
}

// typedValue keeps a value on its line: names come from the configuration
// and statuses from fjord, but a line break would end the line early.
func typedValue(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, v)
}
