package sysctl

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

// tcpLine is a /proc/net/tcp line for a socket in state st.
func tcpLine(slot int, local, st string, inode uint64) string {
	return fmt.Sprintf("%4d: %s 00000000:0000 %s 00000000:00000000 00:00000000 00000000     0        0 %d 1 0000000037ca5937 100 0 0 10 0\n", slot, local, st, inode)
}

func TestParseListening(t *testing.T) {
	tests := []struct {
		name    string
		table   string
		want    []Listener
		wantErr string
	}{
		{"header only", tcpHeader, nil, ""},
		{"empty file", "", nil, ""},
		{"listeners kept in table order", tcpHeader + tcpLine(0, "0100007F:1F91", "0A", 11) + tcpLine(1, "00000000:0050", "0A", 12),
			[]Listener{{8081, 11}, {80, 12}}, ""},
		{"other states skipped", tcpHeader + tcpLine(0, "0100007F:DE6A", "06", 0) + tcpLine(1, "0100007F:1F92", "01", 3), nil, ""},
		{"IPv6 address", tcpHeader + tcpLine(0, "00000000000000000000000001000000:1538", "0A", 7), []Listener{{5432, 7}}, ""},
		{"blank line skipped", tcpHeader + "\n" + tcpLine(0, "00000000:FFFF", "0A", 9), []Listener{{65535, 9}}, ""},
		{"no header", tcpLine(0, "00000000:0050", "0A", 1), nil, "line 1: want the header"},
		{"short line", tcpHeader + "   0: 00000000:0050 00000000:0000 0A\n", nil, "line 2: want 'sl: local_address"},
		{"no slot colon", tcpHeader + strings.Replace(tcpLine(0, "00000000:0050", "0A", 1), "0:", "0", 1), nil, "line 2"},
		{"port not hex", tcpHeader + tcpLine(0, "00000000:00G0", "0A", 1), nil, `line 2: local address "00000000:00G0"`},
		{"port too long", tcpHeader + tcpLine(0, "00000000:10050", "0A", 1), nil, "not ADDR:PORT"},
		{"port short", tcpHeader + tcpLine(0, "00000000:50", "0A", 1), nil, "not ADDR:PORT"},
		{"no port", tcpHeader + tcpLine(0, "00000000", "0A", 1), nil, "not ADDR:PORT"},
		{"inode not a number", tcpHeader + strings.Replace(tcpLine(0, "00000000:0050", "0A", 1), " 1 1 ", " x 1 ", 1), nil, `inode "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseListening(strings.NewReader(tt.table))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listeners %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListeningSockets(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		skip    func(Listener) bool
		want    []uint16
		wantErr string
	}{
		{"IPv4 and IPv6 tables merged, sorted, each port once", "testdata/proc-net", nil, []uint16{2024, 5432, 8081, 40000}, ""},
		{"a process's own sockets left out", "testdata/proc-net", func(l Listener) bool { return l.Inode == 1301 || l.Inode == 1302 }, []uint16{2024, 5432, 40000}, ""},
		{"no tables: nothing listens", t.TempDir(), nil, nil, ""},
		{"a bad table names its file", badTable(t), nil, nil, "tcp6: line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := ListeningSockets(tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ListenerPorts(ls, tt.skip); !slices.Equal(got, tt.want) {
				t.Errorf("ports %v, want %v", got, tt.want)
			}
		})
	}
}

// badTable is a /proc/net with a good tcp and a garbled tcp6.
func badTable(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tcp"), []byte(tcpHeader), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tcp6"), []byte(tcpHeader+"garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestNetDir(t *testing.T) {
	for _, tt := range []struct {
		name string
		tu   Tuner
		want string
	}{
		{"the calling thread's namespace", Tuner{}, "/proc/thread-self/net"},
		{"beside a fake tree", Tuner{Root: "/tmp/x/sys"}, "/tmp/x/net"},
		{"given", Tuner{Root: "/tmp/x/sys", Net: "/tmp/y"}, "/tmp/y"},
	} {
		if got := tt.tu.NetDir(); got != tt.want {
			t.Errorf("%s: NetDir %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParseListening(f *testing.F) {
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join("testdata/proc-net", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(tcpHeader + "\n" + tcpLine(0, "00000000:0050", "0A", 1))
	f.Fuzz(func(t *testing.T, table string) {
		ls, err := parseListening(strings.NewReader(table))
		if err != nil {
			return
		}
		// Every port found is written in the table as ":PORT" in hex, and
		// the sockets written back as a table read the same.
		var b strings.Builder
		b.WriteString(tcpHeader)
		for i, l := range ls {
			hex := fmt.Sprintf("%04x", l.Port)
			if !strings.Contains(strings.ToLower(table), ":"+hex) {
				t.Fatalf("port %d (%s) not in the table %q", l.Port, hex, table)
			}
			b.WriteString(tcpLine(i, "00000000:"+hex, tcpListen, l.Inode))
		}
		again, err := parseListening(strings.NewReader(b.String()))
		if err != nil || !slices.Equal(again, ls) {
			t.Fatalf("sockets %v written as %q read back as %v, %v", ls, b.String(), again, err)
		}
	})
}
