package stats

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// socketMaxCommands bounds the commands one connection may run, far above
// any batch (a command per server of a large farm, several times over).
// Every line counts, a blank one too. With the idle deadline, it bounds
// how long one client can hold its connection and the goroutine serving
// it.
const socketMaxCommands = 10000

// The answers that refuse input begin with these words, and the
// connection closes after them. A client tells them from an ordinary
// command's error by these words (fjord cli exits 1), since the lines
// they refuse, and any after, were not run.
const (
	AnswerLineTooLong     = "Line too long:"
	AnswerTooManyCommands = "Too many commands on one connection"
)

// apiConn is one runtime API connection. As in HAProxy (src/cli.c), it
// reads lines of commands separated by ';' and runs them in order, each
// answer followed by an empty line. Without prompt mode, the connection
// is closed once the answers are written and nothing more comes within
// a short grace, so a client that sends its commands and reads until the
// end of file (socat, nc, most scripts) needs no half-close; input that
// comes later is not run, and the client is reset so that it knows (see
// Socket.closeNow). "prompt" toggles interactive mode: the connection
// stays open and every answer is followed by "\n> "; "quit" closes it.
type apiConn struct {
	c           stream
	br          *bufio.Reader
	api         *API
	idle        time.Duration
	grace       time.Duration // how long to wait for more input (see more)
	interactive bool
	left        int // commands this connection may still run

	// refused is set once the connection ends by refusing input ("Line
	// too long", "Too many commands"): the client is told why, and must
	// get to read it even while it is still sending (see closeGracefully).
	refused bool
	quit    bool // the client asked to end with "quit"
}

func (a *apiConn) serve() {
	for {
		a.c.SetReadDeadline(time.Now().Add(a.idle))
		line, err := readLine(a.br)
		switch {
		case errors.Is(err, errLineTooLong):
			a.refused = true
			a.write(fmt.Sprintf("%s at most %d bytes per command line.\n\n", AnswerLineTooLong, MaxCommandLine))
			return
		case err != nil && (line == "" || !errors.Is(err, io.EOF)):
			// The end of the input, the client gone, or idle for too
			// long. A line the deadline cut is not run: its end (a
			// server's name, a weight's last digit) may be missing.
			return
		}
		if !a.runLine(line) || err != nil {
			return // quit, a failed write, or the last line before EOF
		}
		if !a.interactive && !a.more() {
			return
		}
	}
}

// runLine runs a line's commands in order and writes their answers. It
// returns false when the connection must close.
func (a *apiConn) runLine(line string) bool {
	var cmds []string
	for _, cmd := range splitCommands(line) {
		if len(commandWords(cmd)) > 0 {
			cmds = append(cmds, cmd) // "show info;" has nothing to answer after ';'
		}
	}
	if len(cmds) == 0 {
		// A line with no command counts as one, with or without prompt
		// mode: otherwise a client streaming blank lines would hold its
		// connection and a 'stats maxconn' slot for as long as it sends.
		if !a.take() {
			return false
		}
		if a.interactive {
			return a.write(a.delimiter()) // the prompt again
		}
		return true
	}
	for _, cmd := range cmds {
		if !a.take() {
			return false
		}
		answer, act := a.api.exec(cmd)
		switch act {
		case actQuit:
			a.quit = true
			return false
		case actPrompt:
			a.interactive = !a.interactive
		}
		// The delimiter follows the mode the command leaves: "prompt"
		// answers with the first prompt, and with a plain empty line
		// when it leaves interactive mode.
		if !a.write(answer + a.delimiter()) {
			return false
		}
	}
	return true
}

// take counts one command, or a line without one, against the
// connection's bound, and says so to the client when the bound is
// reached.
func (a *apiConn) take() bool {
	if a.left == 0 {
		a.refused = true
		a.write(fmt.Sprintf("%s (at most %d): connect again.\n\n", AnswerTooManyCommands, socketMaxCommands))
		return false
	}
	a.left--
	return true
}

// delimiter ends every answer: an empty line, and the prompt in
// interactive mode.
func (a *apiConn) delimiter() string {
	if a.interactive {
		return "\n> "
	}
	return "\n"
}

// write sends s within the idle deadline: a client that does not read its
// answers is closed like one that does not send.
func (a *apiConn) write(s string) bool {
	a.c.SetWriteDeadline(time.Now().Add(a.idle))
	_, err := io.WriteString(a.c, s)
	return err == nil
}

// more reports whether the client sends more, waiting for it at most
// grace: HAProxy keeps a non-interactive connection open only while
// commands wait, which lets a script send several lines at once and
// still see the connection close after the last answer, without a
// half-close. The short wait spares lines from a client a little slower
// than the server; the end of the client's input ends it at once.
func (a *apiConn) more() bool {
	if a.br.Buffered() > 0 {
		return true
	}
	a.c.SetReadDeadline(time.Now().Add(a.grace))
	_, err := a.br.Peek(1)
	return err == nil
}

var errLineTooLong = errors.New("command line too long")

// readLine reads one command line and returns it without its "\n" or
// "\r\n". At EOF, a last line without a newline is returned with io.EOF,
// so that "echo -n cmd | socat" runs cmd as HAProxy does. A line of more
// than MaxCommandLine bytes is errLineTooLong: it is refused, never run
// in pieces.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > MaxCommandLine+len("\r\n") {
			return "", errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		line := string(b)
		if strings.HasSuffix(line, "\n") {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		}
		if len(line) > MaxCommandLine {
			return "", errLineTooLong
		}
		return line, err
	}
}
