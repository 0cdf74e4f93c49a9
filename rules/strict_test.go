package rules

import (
	"strings"
	"testing"
)

// headText writes m's fields, one "name: value" a line, for comparison.
func headText(m *Msg) string {
	var b strings.Builder
	for _, h := range m.Headers {
		b.WriteString(string(h.Name) + ": " + string(h.Value) + "\n")
	}
	return b.String()
}

// A rewrite past the head's room fails the rule set in strict mode (the
// default), and is skipped after "strict-mode off"; every evaluation
// starts strict again. What a failed set-header did before it failed (the
// fields it removed) stays done, as in HAProxy.
func TestStrictMode(t *testing.T) {
	const head = "GET /p HTTP/1.1\r\nHost: h\r\nX-Old: 1\r\n\r\n" // 38 bytes, as Msg writes it
	long := strings.Repeat("v", 40)
	for _, tc := range []struct {
		name    string
		rules   string
		room    int
		outcome Outcome
		line    int // the failing rule, counted from 1
		fields  string
		edited  bool
	}{
		{name: "fits", rules: "http-request set-header X-A " + long, room: 100,
			outcome: Continue, fields: "Host: h\nX-Old: 1\nX-A: " + long + "\n", edited: true},
		{name: "strict by default", rules: "http-request set-header X-A " + long + "\nhttp-request set-header X-B " + long, room: 100,
			outcome: Failed, line: 2, fields: "Host: h\nX-Old: 1\nX-A: " + long + "\n"},
		{name: "off skips the failed rewrite", rules: "http-request strict-mode off\nhttp-request set-header X-A " + long +
			"\nhttp-request set-header X-B " + long + "\nhttp-request set-header X-C c", room: 100,
			outcome: Continue, fields: "Host: h\nX-Old: 1\nX-A: " + long + "\nX-C: c\n", edited: true},
		{name: "on again", rules: "http-request strict-mode off\nhttp-request strict-mode on\nhttp-request set-header X-B " + long + long, room: 100,
			outcome: Failed, line: 3, fields: "Host: h\nX-Old: 1\n"},
		{name: "a condition on strict-mode", rules: "http-request strict-mode off if { path /other }\nhttp-request add-header X-B " + long + long, room: 100,
			outcome: Failed, line: 2, fields: "Host: h\nX-Old: 1\n"},
		{name: "set-header removes, then fails", rules: "http-request strict-mode off\nhttp-request set-header X-Old " + long + long, room: 60,
			outcome: Continue, fields: "Host: h\n", edited: true},
		{name: "a value that would break the head", rules: "http-request strict-mode off\nhttp-request set-header X-A %[str(a),url_dec]%[str(%0d%0a),url_dec]", room: 0,
			outcome: Continue, fields: "Host: h\nX-Old: 1\n", edited: true},
		{name: "set-path past the room", rules: "http-request set-path /" + long + long, room: 60, outcome: Failed, line: 1,
			fields: "Host: h\nX-Old: 1\n"},
		{name: "replace-value past the room", rules: "http-request replace-value X-Old 1 " + long + long, room: 60, outcome: Failed, line: 1,
			fields: "Host: h\nX-Old: 1\n"},
		{name: "no room is no limit", rules: "http-request set-header X-A " + long + long + long, room: 0,
			outcome: Continue, fields: "Host: h\nX-Old: 1\nX-A: " + long + long + long + "\n", edited: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lines strings.Builder
			for _, l := range strings.Split(tc.rules, "\n") {
				lines.WriteString("  " + l + "\n")
			}
			fe := frontendRules(t, lines.String())
			rs := NewCompiler().HTTPRules(fe.HTTPRequest)
			var tx Txn
			var m Msg
			fillTxn(&tx, &m, v4Client, mustRequest(t, head))
			m.Room = tc.room
			v := rs.Run(&tx, &m)
			if v.Outcome != tc.outcome {
				t.Fatalf("outcome %v, want %v", v.Outcome, tc.outcome)
			}
			if tc.line > 0 && (v.Rule == nil || v.Rule != fe.HTTPRequest[tc.line-1]) {
				t.Errorf("the rule that failed: %+v, want line %d", v.Rule, tc.line)
			}
			if got := headText(&m); got != tc.fields {
				t.Errorf("fields:\n%s\nwant\n%s", got, tc.fields)
			}
			if m.Edited != tc.edited && tc.outcome != Failed {
				t.Errorf("edited %v", m.Edited)
			}
			// The next evaluation starts strict.
			if tc.outcome == Continue && strings.Contains(tc.rules, "strict-mode off") {
				fillTxn(&tx, &m, v4Client, mustRequest(t, head))
				m.Room = 45
				strict := NewCompiler().HTTPRules(frontendRules(t, "  http-request set-header X-Z zzzzzzzz\n").HTTPRequest)
				if v := strict.Run(&tx, &m); v.Outcome != Failed {
					t.Errorf("a later rule set: %v, want Failed", v.Outcome)
				}
			}
		})
	}
}

// The head's size as Msg writes it, against which Room is counted.
func TestHeadSize(t *testing.T) {
	var tx Txn
	var m Msg
	const head = "GET /p HTTP/1.1\r\nHost: h\r\nX-Old: 1\r\n\r\n"
	fillTxn(&tx, &m, v4Client, mustRequest(t, head))
	if got := m.headSize(); got != len(head) {
		t.Errorf("request: %d, want %d", got, len(head))
	}
	res := Msg{Status: 404, Headers: []Header{{Name: []byte("A"), Value: []byte("b")}}}
	if got, want := res.headSize(), len("HTTP/1.1 404 Not Found\r\nA: b\r\n\r\n"); got != want {
		t.Errorf("response: %d, want %d", got, want)
	}
	res.Reason = []byte("Gone")
	if got, want := res.headSize(), len("HTTP/1.1 404 Gone\r\nA: b\r\n\r\n"); got != want {
		t.Errorf("response with a reason: %d, want %d", got, want)
	}
}

// A message kept (Keep) survives its buffers, and loads back (Load) into
// a message whose edits do not reach the kept one.
func TestMsgKeepLoad(t *testing.T) {
	head := []byte("GET /p?q HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n")
	var tx Txn
	var m, kept, loaded Msg
	fillTxn(&tx, &m, v4Client, mustRequest(t, string(head)))
	m.Edited, m.Room = true, 99
	want := headText(&m)
	arena := m.Keep(&kept, nil)
	for i := range head { // the request's buffer is reused
		head[i] = 'x'
	}
	for i := range m.Headers {
		m.Headers[i] = Header{}
	}
	if got := headText(&kept); got != want || string(kept.Method) != "GET" || string(kept.URI) != "/p?q" || string(kept.Path) != "/p" ||
		!kept.Edited || kept.Room != 99 || kept.Minor != 1 {
		t.Errorf("kept: %+v", kept)
	}
	loaded.Load(&kept)
	loaded.Headers[0].Value = []byte("changed")
	if got := headText(&kept); got != want {
		t.Errorf("an edit of the loaded message reached the kept one: %q", got)
	}
	// The arena is reused when it is large enough.
	if again := kept.Keep(&loaded, arena); &again[:1][0] != &arena[:1][0] {
		t.Errorf("the arena was not reused")
	}
}
