package rules

import (
	"strconv"

	"github.com/fjordlb/fjord/config"
)

// Reply is a compiled HTTP reply, HAProxy's http_reply: the response a
// return, deny or tarpit rule, or an "http-error" line, builds from its
// arguments (status, content-type, hdr, string, file, lf-string,
// lf-file), rendered for each request.
type Reply struct {
	conf *config.HTTPRule
	hdrs []returnHeader
	body *Format // lf-string, lf-file
}

// Reply compiles the response r builds.
func (cp *Compiler) Reply(r *config.HTTPRule) *Reply {
	rp := &Reply{conf: r, body: compileFormat(r.BodyFormat)}
	for _, h := range r.Headers {
		rp.hdrs = append(rp.hdrs, returnHeader{name: h.Name, value: compileFormat(h.Value)})
	}
	return rp
}

// Status is the status the reply answers.
func (rp *Reply) Status() int { return rp.conf.Status }

// Append appends the response: the status line, the content type (when
// the body is not empty) and length, the reply's fields, conn (more fields, each CRLF-terminated:
// the connection field, or nothing) and the body, left out for a HEAD
// request (head). Field names are lower case, as HAProxy's HTX writes
// them; a field whose value renders empty is left out, as HAProxy's
// http_reply_to_htx leaves it, and so is one that would break the head
// (a CR, LF or NUL in the value).
func (rp *Reply) Append(dst []byte, t *Txn, conn string, head bool) []byte {
	c := rp.conf
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(c.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, Reason(c.Status)...)
	dst = append(dst, "\r\n"...)
	body := strBytes(c.Body)
	if rp.body != nil {
		body = rp.body.render(t)
	}
	if c.ContentType != "" && len(body) > 0 { // an empty body has no type, as in HAProxy
		dst = append(dst, "content-type: "...)
		dst = append(dst, c.ContentType...)
		dst = append(dst, "\r\n"...)
	}
	if c.Status != 204 && c.Status != 304 {
		dst = append(dst, "content-length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	for i := range rp.hdrs {
		h := &rp.hdrs[i]
		v := h.value.render(t)
		if len(v) == 0 || !fieldValue(v) {
			continue
		}
		dst = append(dst, h.name...)
		dst = append(dst, ": "...)
		dst = append(dst, v...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, conn...)
	dst = append(dst, "\r\n"...)
	if head {
		return dst
	}
	return append(dst, body...)
}
