package stick

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDataSpec(t *testing.T) {
	tests := []struct {
		item string
		want DataSpec
		err  string
	}{
		{"http_req_rate(10s)", DataSpec{HTTPReqRate, 10000}, ""},
		{"conn_rate(3000)", DataSpec{ConnRate, 3000}, ""},
		{"gpc0_rate(1m)", DataSpec{GPC0Rate, 60000}, ""},
		{"bytes_out_rate(1500us)", DataSpec{BytesOutRate, 2}, ""}, // rounded up, as parse_time_err
		{"server_id", DataSpec{ServerID, 0}, ""},
		{"gpt0", DataSpec{GPT0, 0}, ""},
		{"bytes_in_cnt", DataSpec{BytesInCnt, 0}, ""},
		{"http_req_rate", DataSpec{}, `"http_req_rate" needs a period`},
		{"http_req_rate()", DataSpec{}, `"http_req_rate" needs a period`},
		{"gpc0(10s)", DataSpec{}, `unexpected argument to data type "gpc0"`},
		{"http_req_rate(10x)", DataSpec{}, `invalid unit in period "10x"`},
		{"http_req_rate(0)", DataSpec{}, `period "0" must be more than 0`},
		{"http_req_rate(25d)", DataSpec{}, "too large"},
		{"http_req_rate(10s", DataSpec{}, `malformed data type "http_req_rate(10s"`},
		{"gpc1", DataSpec{}, `unknown data type "gpc1"`},
		{"", DataSpec{}, `unknown data type ""`},
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			got, err := ParseDataSpec(tt.item)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseDataSpecs(t *testing.T) {
	got, err := ParseDataSpecs("http_req_rate(10s),gpc0,conn_cur")
	if err != nil {
		t.Fatal(err)
	}
	want := []DataSpec{{HTTPReqRate, 10000}, {GPC0, 0}, {ConnCur, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if _, err := ParseDataSpecs("gpc0,gpc0"); !errors.Is(err, ErrDuplicateData) {
		t.Errorf("a type stored twice: err = %v, want ErrDuplicateData", err)
	}
	if _, err := ParseDataSpecs(""); err == nil {
		t.Error("an empty list parsed")
	}
}

func TestDataTypeKinds(t *testing.T) {
	// HAProxy 2.6 stktable_data_types' std_type for each.
	want := map[DataType]ValueKind{
		ServerID: SInt, GPT0: UInt, GPC0: UInt, GPC0Rate: Freq,
		ConnCnt: UInt, ConnRate: Freq, ConnCur: UInt, SessCnt: UInt, SessRate: Freq,
		HTTPReqCnt: UInt, HTTPReqRate: Freq, HTTPErrCnt: UInt, HTTPErrRate: Freq,
		BytesInCnt: ULL, BytesInRate: Freq, BytesOutCnt: ULL, BytesOutRate: Freq,
	}
	for d := DataType(0); d < NumDataTypes; d++ {
		if d.Kind() != want[d] {
			t.Errorf("%s: kind %d, want %d", d, d.Kind(), want[d])
		}
		if got, ok := LookupDataType(d.String()); !ok || got != d {
			t.Errorf("%s does not parse back to itself", d)
		}
	}
}
