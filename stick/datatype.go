package stick

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DataType is one kind of value a table stores per entry ("store ..."). The
// order is HAProxy 2.6's STKTABLE_DT_* order, which is the order "show table"
// prints them in.
type DataType uint8

// The data types fjord stores, in HAProxy's order.
const (
	ServerID     DataType = iota // server_id: signed 32-bit
	GPT0                         // gpt0: unsigned 32-bit
	GPC0                         // gpc0: unsigned 32-bit
	GPC0Rate                     // gpc0_rate(T)
	ConnCnt                      // conn_cnt: unsigned 32-bit
	ConnRate                     // conn_rate(T)
	ConnCur                      // conn_cur: unsigned 32-bit
	SessCnt                      // sess_cnt: unsigned 32-bit
	SessRate                     // sess_rate(T)
	HTTPReqCnt                   // http_req_cnt: unsigned 32-bit
	HTTPReqRate                  // http_req_rate(T)
	HTTPErrCnt                   // http_err_cnt: unsigned 32-bit
	HTTPErrRate                  // http_err_rate(T)
	BytesInCnt                   // bytes_in_cnt: unsigned 64-bit
	BytesInRate                  // bytes_in_rate(T)
	BytesOutCnt                  // bytes_out_cnt: unsigned 64-bit
	BytesOutRate                 // bytes_out_rate(T)

	// NumDataTypes is the number of data types; arrays indexed by DataType
	// have this length.
	NumDataTypes
)

// ValueKind is how a data type's value is stored: HAProxy's std_type.
type ValueKind uint8

// The value kinds, HAProxy's STD_T_*.
const (
	SInt ValueKind = iota + 1 // STD_T_SINT: int32
	UInt                      // STD_T_UINT: uint32, wrapping as C's unsigned int
	ULL                       // STD_T_ULL: uint64
	Freq                      // STD_T_FRQP: a FreqCtr read over the type's period
)

var dataTypeInfo = [NumDataTypes]struct {
	name string
	kind ValueKind
}{
	ServerID:     {"server_id", SInt},
	GPT0:         {"gpt0", UInt},
	GPC0:         {"gpc0", UInt},
	GPC0Rate:     {"gpc0_rate", Freq},
	ConnCnt:      {"conn_cnt", UInt},
	ConnRate:     {"conn_rate", Freq},
	ConnCur:      {"conn_cur", UInt},
	SessCnt:      {"sess_cnt", UInt},
	SessRate:     {"sess_rate", Freq},
	HTTPReqCnt:   {"http_req_cnt", UInt},
	HTTPReqRate:  {"http_req_rate", Freq},
	HTTPErrCnt:   {"http_err_cnt", UInt},
	HTTPErrRate:  {"http_err_rate", Freq},
	BytesInCnt:   {"bytes_in_cnt", ULL},
	BytesInRate:  {"bytes_in_rate", Freq},
	BytesOutCnt:  {"bytes_out_cnt", ULL},
	BytesOutRate: {"bytes_out_rate", Freq},
}

// String returns the type's HAProxy name, without period.
func (d DataType) String() string {
	if d >= NumDataTypes {
		return "DataType(" + strconv.Itoa(int(d)) + ")"
	}
	return dataTypeInfo[d].name
}

// Kind returns how the type's value is stored.
func (d DataType) Kind() ValueKind {
	if d >= NumDataTypes {
		return 0
	}
	return dataTypeInfo[d].kind
}

// IsRate reports whether the type is a rate, which takes a period.
func (d DataType) IsRate() bool { return d.Kind() == Freq }

// words is the number of 32-bit words the type takes in an entry.
func (d DataType) words() int {
	switch d.Kind() {
	case ULL:
		return 2
	case Freq:
		return 3
	}
	return 1
}

// LookupDataType returns the type HAProxy calls name ("http_req_rate").
func LookupDataType(name string) (DataType, bool) {
	for d := DataType(0); d < NumDataTypes; d++ {
		if dataTypeInfo[d].name == name {
			return d, true
		}
	}
	return 0, false
}

// DataSpec is one "store" item: a data type and, for rates, the period in
// milliseconds over which it is measured.
type DataSpec struct {
	Type   DataType
	Period uint32 // ms; 0 for types that are not rates
}

// String returns the spec as "show table" names its column:
// "http_req_rate(10000)", "gpc0".
func (s DataSpec) String() string {
	if !s.Type.IsRate() {
		return s.Type.String()
	}
	return s.Type.String() + "(" + strconv.FormatUint(uint64(s.Period), 10) + ")"
}

// ErrDuplicateData reports a data type stored twice in one table. HAProxy
// warns and keeps the first; errors.Is lets a caller do the same.
var ErrDuplicateData = errors.New("data type already stored")

// ParseDataSpec parses one "store" item: a type name, with "(period)" for
// rates and only for them ("http_req_rate(10s)", "gpc0"). The period is a
// HAProxy time, milliseconds unless a unit (us, ms, s, m, h, d) follows.
func ParseDataSpec(item string) (DataSpec, error) {
	name, arg, hasArg, err := splitDataItem(item)
	if err != nil {
		return DataSpec{}, err
	}
	d, ok := LookupDataType(name)
	if !ok {
		return DataSpec{}, fmt.Errorf("store: unknown data type %q", name)
	}
	if !d.IsRate() {
		if hasArg {
			return DataSpec{}, fmt.Errorf("store: unexpected argument to data type %q in %q (only rates take a period)", name, item)
		}
		return DataSpec{Type: d}, nil
	}
	if !hasArg || arg == "" {
		return DataSpec{}, fmt.Errorf("store: data type %q needs a period, as in %s(10s)", name, name)
	}
	p, err := ParsePeriod(arg)
	if err != nil {
		return DataSpec{}, fmt.Errorf("store: %s: %w", item, err)
	}
	return DataSpec{Type: d, Period: p}, nil
}

// splitDataItem splits "name(arg)" into its parts.
func splitDataItem(item string) (name, arg string, hasArg bool, err error) {
	open := strings.IndexByte(item, '(')
	if open < 0 {
		if strings.IndexByte(item, ')') >= 0 {
			return "", "", false, fmt.Errorf("store: unbalanced ')' in %q", item)
		}
		return item, "", false, nil
	}
	if !strings.HasSuffix(item, ")") || strings.Count(item, "(") != 1 || strings.Count(item, ")") != 1 {
		return "", "", false, fmt.Errorf("store: malformed data type %q (expected name(period))", item)
	}
	return item[:open], item[open+1 : len(item)-1], true, nil
}

// ParseDataSpecs parses a "store" list: items separated by commas
// ("http_req_rate(10s),gpc0,conn_cur"). A type given twice is an error
// wrapping ErrDuplicateData.
func ParseDataSpecs(list string) ([]DataSpec, error) {
	if list == "" {
		return nil, errors.New("store: missing data type list")
	}
	var seen [NumDataTypes]bool
	var specs []DataSpec
	for _, item := range strings.Split(list, ",") {
		s, err := ParseDataSpec(item)
		if err != nil {
			return nil, err
		}
		if seen[s.Type] {
			return specs, fmt.Errorf("store: %q: %w", s.Type.String(), ErrDuplicateData)
		}
		seen[s.Type] = true
		specs = append(specs, s)
	}
	return specs, nil
}

// ParsePeriod parses a rate's period as HAProxy's parse_time_err does with
// milliseconds as the default unit: a decimal number, then an optional unit,
// the result rounded up to whole milliseconds. HAProxy only warns about
// characters after the unit; fjord refuses them, and refuses a zero period,
// which HAProxy would divide by when reading the rate.
func ParsePeriod(s string) (uint32, error) {
	i := 0
	var v uint64
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		v = v*10 + uint64(s[i]-'0')
		if v >= 1<<40 {
			return 0, fmt.Errorf("period %q is too large (at most 2147483647ms)", s)
		}
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid period %q (expected a number with an optional unit us, ms, s, m, h or d)", s)
	}
	var mult, div uint64 = 1, 1
	switch s[i:] {
	case "", "ms":
	case "us":
		div = 1000
	case "s":
		mult = 1000
	case "m":
		mult = 60 * 1000
	case "h":
		mult = 3600 * 1000
	case "d":
		mult = 86400 * 1000
	default:
		return 0, fmt.Errorf("invalid unit in period %q (expected us, ms, s, m, h or d)", s)
	}
	r := (v*mult + div - 1) / div
	if r > math.MaxInt32 {
		return 0, fmt.Errorf("period %q is too large (at most 2147483647ms)", s)
	}
	if r == 0 {
		return 0, fmt.Errorf("period %q must be more than 0", s)
	}
	return uint32(r), nil
}
