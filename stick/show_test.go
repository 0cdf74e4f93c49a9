package stick

import (
	"regexp"
	"strings"
	"testing"
)

// dump renders a table as "show table NAME" does.
func dump(tb *Table) string {
	out := tb.AppendHeader(nil)
	tb.Walk(func(s *Snapshot) bool {
		out = tb.AppendEntry(out, s)
		return true
	})
	return string(out)
}

func parsedKey(t *testing.T, tb *Table, text string) []byte {
	t.Helper()
	k, err := tb.KeyType().ParseKey(nil, text)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestShowTableMatchesHAProxy renders what the HAProxy 2.6 reg-test
// http-rules/converters_ipmask_concat_strcmp_field_word.vtc expects of
// "show table be1", and matches it with that test's own pattern: entries
// in HAProxy's key order, exp=0 for a table that does not expire, data in
// HAProxy's type order whatever the store order.
func TestShowTableMatchesHAProxy(t *testing.T) {
	tb := newTable(t, Config{Name: "be1", Key: KeyType{KeyIPv6, 16}, Size: 20, Store: specs(t, "conn_cnt,gpc0")}, &clock{})
	for _, k := range []string{"2001:db8:c001:c01a::", "::ffff:192.168.1.101", "::ffff:192.168.1.0"} {
		e, _, err := tb.GetOrCreate(parsedKey(t, tb, k))
		if err != nil {
			t.Fatal(err)
		}
		tb.Inc(e, ConnCnt, ConnRate)
		tb.Release(e)
	}
	want := regexp.MustCompile(`^# table: be1, type: ipv6, size:20, used:3\n0x[a-f0-9]+: key=::ffff:192\.168\.1\.0 use=0 exp=[[:digit:]]+ gpc0=0 conn_cnt=1\n0x[a-f0-9]+: key=::ffff:192\.168\.1\.101 use=0 exp=[[:digit:]]+ gpc0=0 conn_cnt=1\n0x[a-f0-9]+: key=2001:db8:c001:c01a:[0:]+ use=0 exp=[[:digit:]]+ gpc0=0 conn_cnt=1\n`)
	got := dump(tb)
	if !want.MatchString(got) {
		t.Errorf("show table gave\n%s", got)
	}
	if strings.Count(got, " exp=0 ") != 3 {
		t.Errorf("a table without expire shows exp other than 0:\n%s", got)
	}
}

func TestShowEntryFields(t *testing.T) {
	clk := &clock{}
	clk.set(1000)
	tb := newTable(t, Config{Name: "st", Key: KeyType{KeyString, 31}, Size: 10, Expire: 10000,
		Store: specs(t, "http_req_rate(10s),server_id,bytes_out_cnt")}, clk)
	e, _, _ := tb.GetOrCreate(parsedKey(t, tb, "a b"))
	tb.SetServerID(e, -2)
	tb.AddRate(e, HTTPReqRate, 3)
	tb.AddCount(e, BytesOutCnt, 1<<40)
	clk.advance(10)
	var line string
	tb.Walk(func(s *Snapshot) bool {
		line = string(tb.AppendEntry(nil, s))
		return true
	})
	want := regexp.MustCompile(`^0x[0-9a-f]+: key=a\\ b use=1 exp=9990 server_id=-2 http_req_rate\(10000\)=3 bytes_out_cnt=1099511627776\n$`)
	if !want.MatchString(line) {
		t.Errorf("entry line %q", line)
	}
	tb.Release(e)
}

// TestShowTableOrdersIntegersAsHAProxy: HAProxy stores integer keys in
// host order and its tree compares bytes, so on x86 256 sorts before 1.
func TestShowTableOrdersIntegersAsHAProxy(t *testing.T) {
	tb := newTable(t, Config{Name: "i", Key: KeyType{KeyInteger, 4}, Size: 10}, &clock{})
	for _, k := range []string{"1", "256", "2"} {
		create(t, tb, parsedKey(t, tb, k))
	}
	var keys []string
	tb.Walk(func(s *Snapshot) bool {
		keys = append(keys, string(tb.KeyType().AppendKeyText(nil, s.Key)))
		return true
	})
	if got := strings.Join(keys, ","); got != "256,1,2" {
		t.Errorf("integer keys walked as %s, want 256,1,2", got)
	}
}

func TestWalkSkipsExpiredAndStops(t *testing.T) {
	clk := &clock{}
	tb := newTable(t, Config{Name: "x", Size: 10, Expire: 100}, clk)
	create(t, tb, ipKey(1))
	clk.advance(50)
	create(t, tb, ipKey(2))
	create(t, tb, ipKey(3))
	clk.advance(60) // key 1 expired
	n := 0
	tb.Walk(func(s *Snapshot) bool {
		if string(s.Key) == string(ipKey(1)) {
			t.Error("walked an expired entry")
		}
		n++
		return false
	})
	if n != 1 {
		t.Errorf("Walk went on after fn returned false: %d calls", n)
	}
	if got := string(tb.AppendHeader(nil)); got != "# table: x, type: ip, size:10, used:3\n" {
		t.Errorf("header %q", got)
	}
	tb.Sweep(0)
	if got := string(tb.AppendHeader(nil)); got != "# table: x, type: ip, size:10, used:2\n" {
		t.Errorf("header after Sweep %q", got)
	}
}
