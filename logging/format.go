package logging

import (
	"bytes"
	"strconv"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// AppendRecord appends the line of r in HAProxy's format for its kind
// (httplog, tcplog, the connect line or the connection error line), the
// client address anonymised by a (nil: as it is).
func AppendRecord(dst []byte, r *engine.AccessRecord, a *Anonymizer) []byte {
	if r.Kind == engine.RecordConnError {
		// HAProxy's line for a connection that failed before a stream.
		dst = appendClient(dst, r, a)
		dst = append(dst, " ["...)
		dst = appendDate(dst, r.Accept)
		dst = append(dst, "] "...)
		dst = append(dst, r.Frontend...)
		dst = append(dst, '/')
		dst = append(dst, r.Bind...)
		dst = append(dst, ": "...)
		return append(dst, r.Error...)
	}
	if r.Kind == engine.RecordConnect {
		if r.Client.IsValid() {
			dst = append(dst, "Connect from "...)
			dst = a.AppendAddrPort(dst, r.Client)
			dst = append(dst, " to "...)
			dst = (*Anonymizer)(nil).AppendAddrPort(dst, r.Local) // fjord's own: never anonymised
		} else {
			// A Unix socket's client: HAProxy names only the listener.
			dst = append(dst, "Connect to "...)
			dst = appendClient(dst, r, a)
		}
		dst = append(dst, " ("...)
		dst = append(dst, r.Frontend...)
		if r.HTTPMode {
			return append(dst, "/HTTP)"...)
		}
		return append(dst, "/TCP)"...)
	}
	env := lineEnv{anon: a}
	if r.Kind == engine.RecordHTTP {
		return httpLogFormat.Append(dst, r, &env)
	}
	return tcpLogFormat.Append(dst, r, &env)
}

// httplog and tcplog are HAProxy's predefined formats (config.HTTPLogFormat
// is HAProxy 1.5's httplog, the line fjord has always written).
var (
	httpLogFormat = NewFormat(config.MustParseLineFormat(config.HTTPLogFormat, config.ModeHTTP), nil)
	tcpLogFormat  = NewFormat(config.MustParseLineFormat(config.TCPLogFormat, config.ModeTCP), nil)
)

// appendClient writes the client as HAProxy's %ci:%cp does: its address
// and port, anonymised by a, or for a client of a Unix socket, which has
// neither, "unix:" and the id of the listener it came through.
func appendClient(dst []byte, r *engine.AccessRecord, a *Anonymizer) []byte {
	if !r.Client.IsValid() {
		dst = append(dst, "unix:"...)
		return strconv.AppendInt(dst, int64(r.Listener), 10)
	}
	return a.AppendAddrPort(dst, r.Client)
}

// jsonEncoder renders records and events as one JSON object per line
// ("log-format-json"), with zap's encoder.
type jsonEncoder struct{ records, events zapcore.Encoder }

func newJSONEncoder() *jsonEncoder {
	conf := zapcore.EncoderConfig{
		TimeKey:        "time",
		LevelKey:       "level",
		EncodeTime:     zapcore.RFC3339NanoTimeEncoder,
		EncodeLevel:    func(l zapcore.Level, e zapcore.PrimitiveArrayEncoder) { e.AppendString(levelName(int(l))) },
		EncodeDuration: zapcore.MillisDurationEncoder,
	}
	records := zapcore.NewJSONEncoder(conf) // no message: the fields say it all
	conf.MessageKey = "msg"
	return &jsonEncoder{records: records, events: zapcore.NewJSONEncoder(conf)}
}

// record appends r as JSON: the fields of HAProxy's line, by name.
func (j *jsonEncoder) record(dst []byte, r *engine.AccessRecord, a *Anonymizer) []byte {
	client, port := "unix", uint16(r.Listener) // a Unix socket's client, as %ci and %cp say it
	if r.Client.IsValid() {
		client, port = string(a.AppendAddr(nil, r.Client.Addr())), r.Client.Port()
	}
	var fields []zapcore.Field
	kind := [...]string{engine.RecordConnect: "connect", engine.RecordTCP: "tcp", engine.RecordHTTP: "http", engine.RecordConnError: "error"}[r.Kind]
	fields = append(fields,
		zap.String("type", kind),
		zap.String("client_ip", client),
		zap.Uint16("client_port", port),
		zap.String("frontend", r.Frontend),
	)
	if r.Kind == engine.RecordConnError {
		fields = append(fields, zap.String("bind", r.Bind))
		return j.encode(j.records, dst, r.Accept, levelInfo, r.Error, fields)
	}
	if r.Kind == engine.RecordConnect {
		local := r.Local.String()
		if !r.Local.IsValid() {
			local = "unix:" + strconv.Itoa(r.Listener) // a Unix socket: its listener's id
		}
		fields = append(fields, zap.String("local", local), zap.Bool("http", r.HTTPMode))
		return j.encode(j.records, dst, r.Accept, levelInfo, "", fields)
	}
	fields = append(fields,
		zap.String("backend", r.Backend),
		zap.String("server", r.Server),
	)
	if r.Kind == engine.RecordHTTP {
		fields = append(fields, zap.Int64("tq", r.Tq))
	}
	fields = append(fields, zap.Int64("tw", r.Tw), zap.Int64("tc", r.Tc))
	if r.Kind == engine.RecordHTTP {
		fields = append(fields, zap.Int64("tr", r.Tr))
	}
	fields = append(fields, zap.Int64("tt", r.Tt))
	if r.Kind == engine.RecordHTTP {
		fields = append(fields, zap.Int("status", r.Status))
	}
	term := string(r.Term[:])
	if r.Kind == engine.RecordHTTP {
		term += "--"
	}
	fields = append(fields,
		zap.Int64("bytes", r.Bytes),
		zap.String("termination_state", term),
		zap.Int64("actconn", r.ActConn),
		zap.Int64("feconn", r.FeConn),
		zap.Int64("beconn", r.BeConn),
		zap.Int64("srv_conn", r.SrvConn),
		zap.Int("retries", r.Retries),
		zap.Bool("redispatched", r.Redispatched),
		zap.Int64("srv_queue", r.SrvQueue),
		zap.Int64("backend_queue", r.BeQueue),
	)
	if r.ASAP {
		// tt and bytes are numbers: that they may be partial (the
		// '+' of the text line) is a field of its own.
		fields = append(fields, zap.Bool("logasap", true))
	}
	if r.Kind == engine.RecordHTTP {
		if r.RequestLen == 0 {
			fields = append(fields, zap.String("request", "<BADREQ>"))
		} else {
			fields = append(fields, zap.ByteString("request", r.RequestLine()))
		}
	}
	// Captured headers, in the order of the capture lines; an absent
	// header is "", as in the text line.
	captured := func(key string, from, n int) {
		if n == 0 {
			return
		}
		vs := make([]string, n)
		for i := range vs {
			v, _ := r.Caps.Slot(from + i)
			vs[i] = string(v)
		}
		fields = append(fields, zap.Strings(key, vs))
	}
	captured("captured_request_headers", 0, int(r.Caps.NReq))
	captured("captured_response_headers", int(r.Caps.NReq), int(r.Caps.NRsp))
	if r.IDLen > 0 {
		fields = append(fields, zap.ByteString("unique_id", r.UniqueIDBytes()))
	}
	return j.encode(j.records, dst, r.Accept, levelInfo, "", fields)
}

// event appends an event message as JSON.
func (j *jsonEncoder) event(dst []byte, at time.Time, level int, msg string) []byte {
	return j.encode(j.events, dst, at, level, msg, nil)
}

func (j *jsonEncoder) encode(enc zapcore.Encoder, dst []byte, at time.Time, level int, msg string, fields []zapcore.Field) []byte {
	buf, err := enc.EncodeEntry(zapcore.Entry{Time: at, Level: zapcore.Level(level), Message: msg}, fields)
	if err != nil {
		return append(dst, `{"error":"log record could not be encoded"}`...)
	}
	dst = append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...) // framing adds its own
	buf.Free()
	return dst
}
