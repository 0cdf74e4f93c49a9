package sysctl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// tcpListen is the state /proc/net/tcp prints for a listening socket
// (TCP_LISTEN in the kernel's enum, in hex).
const tcpListen = "0A"

// Listener is a listening TCP socket of the namespace.
type Listener struct {
	Port uint16
	// Inode identifies the socket: fstat(2) of a descriptor of it gives
	// the same number, so a process can tell its own sockets apart.
	Inode uint64
}

// ListeningSockets returns the TCP sockets in the LISTEN state in the
// network namespace whose /proc/net is dir (from dir/tcp and dir/tcp6),
// sorted by port. A file that does not exist (a kernel without IPv6)
// counts as no sockets. The kernel prints every socket in these tables,
// so Tuner.Listening asks it for the listeners alone where it can.
//
// /proc/net shows the namespace of the process that opens it; a caller
// that changes the namespace of one thread reads /proc/thread-self/net.
func ListeningSockets(dir string) ([]Listener, error) {
	var out []Listener
	for _, name := range []string{"tcp", "tcp6"} {
		path := filepath.Join(dir, name)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the listening sockets: %w", err)
		}
		l, err := parseListening(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, l...)
	}
	sortListeners(out)
	return out, nil
}

func sortListeners(ls []Listener) {
	slices.SortStableFunc(ls, func(a, b Listener) int { return int(a.Port) - int(b.Port) })
}

// ListenerPorts returns the ports of ls that skip does not reject, sorted,
// each once. skip nil keeps them all.
func ListenerPorts(ls []Listener, skip func(Listener) bool) []uint16 {
	var ports []uint16
	for _, l := range ls {
		if skip == nil || !skip(l) {
			ports = append(ports, l.Port)
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// parseListening reads a /proc/net/tcp or tcp6 table and returns every
// socket in the LISTEN state, in table order. The first line is the
// header; each other line is
//
//	sl: local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
//
// with addresses as ADDR:PORT in hex. It is read a line at a time: a busy
// host has hundreds of thousands of connections in it.
func parseListening(r io.Reader) ([]Listener, error) {
	var out []Listener
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return nil, sc.Err()
	}
	if f := strings.Fields(sc.Text()); len(f) < 4 || f[0] != "sl" {
		return nil, fmt.Errorf("line 1: want the header 'sl local_address rem_address st ...', got %q", sc.Text())
	}
	for n := 2; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
			return nil, fmt.Errorf("line %d: want 'sl: local_address rem_address st ... inode', got %q", n, sc.Text())
		}
		if f[3] != tcpListen {
			continue
		}
		_, hex, ok := strings.Cut(f[1], ":")
		port, err := strconv.ParseUint(hex, 16, 16)
		if !ok || err != nil || len(hex) != 4 {
			return nil, fmt.Errorf("line %d: local address %q is not ADDR:PORT in hex", n, f[1])
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: inode %q is not a number", n, f[9])
		}
		out = append(out, Listener{Port: uint16(port), Inode: inode})
	}
	return out, sc.Err()
}
