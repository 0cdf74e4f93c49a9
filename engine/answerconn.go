package engine

import "net"

// answerConn is the client connection of a request answered off the loop
// (handOff). It counts the bytes written to the client and keeps the start
// of the answer, so that the access log gets the status and size HAProxy
// logs for its own pages.
type answerConn struct {
	net.Conn
	n    int64
	head [len("HTTP/1.1 200")]byte
	got  int
}

func (c *answerConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.got < len(c.head) {
		c.got += copy(c.head[c.got:], b[:n])
	}
	c.n += int64(n)
	return n, err
}

// status is the status code of the answer's status line, -1 when none was
// written (or it is not one).
func (c *answerConn) status() int {
	h := c.head[:c.got]
	if len(h) < len(c.head) || string(h[:5]) != "HTTP/" || h[8] != ' ' {
		return -1
	}
	code := 0
	for _, d := range h[9:12] {
		if d < '0' || d > '9' {
			return -1
		}
		code = code*10 + int(d-'0')
	}
	return code
}
