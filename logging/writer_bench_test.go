package logging

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// BenchmarkWriteLine is the writer goroutine's cost per httplog line to a
// UDP syslog target and to a failing file (/dev/full).
func BenchmarkWriteLine(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	udp, err := openSink(config.LogTarget{Kind: config.LogUDP, Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		b.Skip(err)
	}
	defer full.Close()
	for _, tc := range []struct {
		name string
		s    sink
	}{{"udp", udp}, {"devfull", full}} {
		b.Run(tc.name, func(b *testing.B) {
			lg := &Logger{now: time.Now, hdr: header{pid: "1", hostname: "h"}, json: newJSONEncoder()}
			px := &proxyLog{lg: lg, targets: []*target{{conf: config.LogTarget{Kind: config.LogUDP, Facility: 16, Level: 7, Format: config.LogRFC3164, MaxLen: 1024}, sink: tc.s, health: &sinkHealth{}}}}
			w := &writer{lg: lg}
			it := &item{px: px, rec: *record(engine.RecordHTTP, "GET /index.html HTTP/1.1")}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w.write(it)
			}
		})
	}
}

// BenchmarkRenderLine is the writer's cost of one access line's text:
// httplog and tcplog (HAProxy's predefined formats, beside the
// hand-written code they replaced), and a log-format using many aliases.
//
//	go test -run '^$' -bench RenderLine -benchmem ./logging/
func BenchmarkRenderLine(b *testing.B) {
	http := record(engine.RecordHTTP, "GET /index.html?q=1 HTTP/1.1")
	tcp := record(engine.RecordTCP, "")
	custom := NewFormat(config.MustParseLineFormat(`%{+Q}o %{-Q}ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %U %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %HM %HPO %HQ %HV %Ts %pid %rt`, config.ModeHTTP), nil)
	env := &lineEnv{host: "h", pid: 1}
	for _, tc := range []struct {
		name   string
		render func(dst []byte) []byte
	}{
		{"httplog", func(dst []byte) []byte { return httpLogFormat.Append(dst, http, env) }},
		{"httplog-handwritten", func(dst []byte) []byte { return legacyAppendRecord(dst, http, nil) }},
		{"tcplog", func(dst []byte) []byte { return tcpLogFormat.Append(dst, tcp, env) }},
		{"tcplog-handwritten", func(dst []byte) []byte { return legacyAppendRecord(dst, tcp, nil) }},
		{"log-format", func(dst []byte) []byte { return custom.Append(dst, http, env) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			buf := make([]byte, 0, 1024)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				buf = tc.render(buf[:0])
			}
		})
	}
}
