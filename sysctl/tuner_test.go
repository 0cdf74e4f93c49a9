package sysctl

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fakeTree writes a /proc/sys-shaped tree of ordinary files: key → content.
func fakeTree(t *testing.T, values map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for k, v := range values {
		p := filepath.Join(root, strings.ReplaceAll(k, ".", "/"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func readTree(t *testing.T, root, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, strings.ReplaceAll(key, ".", "/")))
	if err != nil {
		t.Fatal(err)
	}
	return normalize(string(b))
}

// stock is a kernel as Debian 12 leaves it on a small VDS.
var stock = map[string]string{
	"fs.nr_open":                       "1048576\n",
	"fs.file-max":                      "9223372036854775807\n",
	"fs.pipe-max-size":                 "1048576\n",
	"fs.pipe-user-pages-soft":          "16384\n",
	"fs.pipe-user-pages-hard":          "0\n",
	"net.core.somaxconn":               "4096\n",
	"net.ipv4.tcp_max_syn_backlog":     "512\n",
	"net.ipv4.tcp_tw_reuse":            "2\n",
	"net.ipv4.tcp_migrate_req":         "0\n",
	"net.ipv4.tcp_fin_timeout":         "60\n",
	"net.ipv4.ip_local_reserved_ports": "\n",
	"net.ipv4.ip_local_port_range":     "32768\t60999\n",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// profileNeeds is a configuration of maxconn 4096 on 2 loops listening on
// :80 and :8080.
var profileNeeds = Needs{
	MaxConn: 4096, NoFile: 28000, Backlog: 4096, PipeSize: 64 << 10,
	Pipes: 8192 + 2*512, Ports: []uint16{80, 8080},
}

func TestTunerApply(t *testing.T) {
	type want struct {
		status Status
		after  string // tree content afterwards
		err    string // part of the error
	}
	tests := []struct {
		name  string
		tree  map[string]string
		write func(path, value string) error // nil: the real one
		want  map[string]want                // keys not listed: not checked
	}{
		{
			name: "stock kernel gets the profile",
			tree: stock,
			want: map[string]want{
				"fs.nr_open":                       {status: OK, after: "1048576"},
				"fs.file-max":                      {status: OK, after: "9223372036854775807"},
				"fs.pipe-user-pages-soft":          {status: Applied, after: fmt.Sprint((8192 + 1024) * 16)},
				"fs.pipe-user-pages-hard":          {status: OK, after: "0"},
				"net.core.somaxconn":               {status: OK, after: "4096"},
				"net.ipv4.tcp_max_syn_backlog":     {status: Applied, after: "4096"},
				"net.ipv4.tcp_tw_reuse":            {status: Applied, after: "1"},
				"net.ipv4.tcp_fin_timeout":         {status: Applied, after: "30"},
				"net.ipv4.ip_local_reserved_ports": {status: Applied, after: "8080"},
				"net.ipv4.ip_local_port_range":     {status: Applied, after: "1024 65023"},
			},
		},
		{
			name: "missing settings applied on a small host",
			tree: with(stock, "fs.file-max", "8192\n", "net.core.somaxconn", "128\n", "net.ipv4.tcp_tw_reuse", "0\n"),
			want: map[string]want{
				"fs.file-max":           {status: Applied, after: "100000"},
				"net.core.somaxconn":    {status: Applied, after: "4096"},
				"net.ipv4.tcp_tw_reuse": {status: Applied, after: "1"},
			},
		},
		{
			name: "higher values are left alone",
			tree: with(stock,
				"fs.file-max", "2000000\n",
				"fs.nr_open", "4194304\n",
				"net.core.somaxconn", "65535\n",
				"net.ipv4.tcp_max_syn_backlog", "262144\n",
				"net.ipv4.tcp_fin_timeout", "10\n",
				"fs.pipe-user-pages-soft", "0\n",
				"net.ipv4.ip_local_port_range", "1024\t65535\n",
				"net.ipv4.ip_local_reserved_ports", "8000-9000\n",
			),
			want: map[string]want{
				"fs.file-max":                      {status: OK, after: "2000000"},
				"fs.nr_open":                       {status: OK, after: "4194304"},
				"net.core.somaxconn":               {status: OK, after: "65535"},
				"net.ipv4.tcp_max_syn_backlog":     {status: OK, after: "262144"},
				"net.ipv4.tcp_fin_timeout":         {status: OK, after: "10"},
				"fs.pipe-user-pages-soft":          {status: OK, after: "0"},
				"net.ipv4.ip_local_port_range":     {status: OK, after: "1024 65535"},
				"net.ipv4.ip_local_reserved_ports": {status: OK, after: "8000-9000"},
			},
		},
		{
			name: "a range wider at one end is never narrowed",
			tree: with(stock, "net.ipv4.ip_local_port_range", "2000\t65535\n", "net.ipv4.ip_local_reserved_ports", "9999\n"),
			want: map[string]want{
				"net.ipv4.ip_local_port_range":     {status: Applied, after: "1024 65535"},
				"net.ipv4.ip_local_reserved_ports": {status: Applied, after: "8080,9999"},
			},
		},
		{
			name: "missing key is reported, the rest applied",
			tree: with(stock, "fs.pipe-user-pages-hard", "", "net.ipv4.tcp_tw_reuse", ""),
			want: map[string]want{
				"fs.pipe-user-pages-hard":  {status: Unavailable, err: "does not exist: this kernel (or this network namespace) does not have the setting"},
				"net.ipv4.tcp_tw_reuse":    {status: Unavailable, err: "net/ipv4/tcp_tw_reuse does not exist"},
				"net.ipv4.tcp_fin_timeout": {status: Applied, after: "30"},
			},
		},
		{
			name: "unparsable value is reported",
			tree: with(stock, "net.core.somaxconn", "lots\n"),
			want: map[string]want{
				"net.core.somaxconn": {status: Unavailable, after: "lots", err: `current value: want one number, got "lots"`},
			},
		},
		{
			name: "read-only keys are reported with what to do",
			tree: stock,
			write: func(path, value string) error {
				if strings.HasSuffix(path, "tcp_tw_reuse") {
					return &fs.PathError{Op: "open", Path: path, Err: syscall.EACCES}
				}
				if strings.HasSuffix(path, "tcp_fin_timeout") {
					return &fs.PathError{Op: "open", Path: path, Err: syscall.EROFS}
				}
				return writeValue(path, value)
			},
			want: map[string]want{
				"net.ipv4.tcp_tw_reuse":        {status: Failed, after: "2", err: "permission denied: run as root"},
				"net.ipv4.tcp_fin_timeout":     {status: Failed, after: "60", err: "mounted read-only"},
				"net.ipv4.tcp_max_syn_backlog": {status: Applied, after: "4096"},
			},
		},
		{
			name: "the kernel keeping another value is a failure",
			tree: stock,
			write: func(path, value string) error {
				if strings.HasSuffix(path, "somaxconn") || strings.HasSuffix(path, "tcp_max_syn_backlog") {
					value = "1000"
				}
				return writeValue(path, value)
			},
			want: map[string]want{
				"net.ipv4.tcp_max_syn_backlog": {status: Failed, after: "1000", err: `wrote "4096"`},
			},
		},
		{
			name: "a kernel rounding up is fine",
			tree: with(stock, "fs.pipe-max-size", "65536\n"),
			write: func(path, value string) error {
				if strings.HasSuffix(path, "pipe-max-size") {
					value = "2097152"
				}
				return writeValue(path, value)
			},
			want: map[string]want{
				"fs.pipe-max-size": {status: Applied, after: "2097152"},
			},
		},
		{
			name: "the port range is not widened over unreserved bind ports",
			tree: stock,
			write: func(path, value string) error {
				if strings.HasSuffix(path, "ip_local_reserved_ports") {
					return &fs.PathError{Op: "open", Path: path, Err: syscall.EPERM}
				}
				return writeValue(path, value)
			},
			want: map[string]want{
				"net.ipv4.ip_local_reserved_ports": {status: Failed, after: "", err: "operation not permitted"},
				"net.ipv4.ip_local_port_range":     {status: Failed, after: "32768 60999", err: "not changed because net.ipv4.ip_local_reserved_ports is not in place"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeTree(t, tt.tree)
			tu := Tuner{Root: root, write: tt.write}
			results := tu.Apply(Profile(profileNeeds))
			got := map[string]Result{}
			for _, r := range results {
				got[r.Key] = r
				if r.Reason == "" {
					t.Errorf("%s has no reason", r.Key)
				}
				if (r.Status == Failed || r.Status == Unavailable) != (r.Err != nil) {
					t.Errorf("%s: status %v with error %v", r.Key, r.Status, r.Err)
				}
				if r.Err != nil && !strings.Contains(r.Err.Error(), root) {
					t.Errorf("%s: error does not name the file: %v", r.Key, r.Err)
				}
			}
			for key, w := range tt.want {
				r, ok := got[key]
				if !ok {
					t.Errorf("%s not in the results", key)
					continue
				}
				if r.Status != w.status {
					t.Errorf("%s: status %v, want %v (err %v)", key, r.Status, w.status, r.Err)
				}
				if w.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), w.err)) {
					t.Errorf("%s: error %v, want one containing %q", key, r.Err, w.err)
				}
				if _, present := tt.tree[key]; present {
					if after := readTree(t, root, key); after != w.after {
						t.Errorf("%s is %q afterwards, want %q", key, after, w.after)
					}
				}
			}
		})
	}
}

// TestTunerCheckChangesNothing runs Check on a tree that needs every change
// and compares the files before and after.
func TestTunerCheckChangesNothing(t *testing.T) {
	tree := with(stock, "fs.file-max", "8192\n")
	root := fakeTree(t, tree)
	tu := Tuner{Root: root, write: func(path, _ string) error {
		t.Errorf("Check wrote %s", path)
		return nil
	}}
	results := tu.Check(Profile(profileNeeds))
	pending := 0
	for _, r := range results {
		if r.Status == Pending {
			pending++
			if r.Wanted == r.Current {
				t.Errorf("%s pending with nothing to change (%q)", r.Key, r.Current)
			}
		}
		if r.Status == Applied {
			t.Errorf("%s applied by Check", r.Key)
		}
	}
	// file-max, pipe-user-pages-soft, syn backlog, tw_reuse, migrate_req,
	// fin_timeout, reserved ports, port range.
	if pending != 8 {
		t.Errorf("%d settings pending, want 8: %+v", pending, results)
	}
	for k, v := range tree {
		if got := readTree(t, root, k); got != normalize(v) {
			t.Errorf("%s changed from %q to %q", k, v, got)
		}
	}
	if AllOK(results) {
		t.Error("AllOK with changes pending")
	}
	if again := (Tuner{Root: root}).Apply(Profile(profileNeeds)); Changed(again) == 0 {
		t.Error("Apply changed nothing")
	}
	if !AllOK((Tuner{Root: root}).Check(Profile(profileNeeds))) {
		t.Error("Check after Apply still finds changes")
	}
}

// Changed counts the settings Apply changed.
func Changed(rs []Result) int {
	n := 0
	for _, r := range rs {
		if r.Status == Applied {
			n++
		}
	}
	return n
}

func TestTunerRootMissing(t *testing.T) {
	tu := Tuner{Root: filepath.Join(t.TempDir(), "nowhere")}
	for _, r := range tu.Apply(Profile(Needs{})) {
		if r.Status != Unavailable || !errors.Is(r.Err, fs.ErrNotExist) && !strings.Contains(r.Err.Error(), "does not exist") {
			t.Errorf("%s: %v %v, want Unavailable (does not exist)", r.Key, r.Status, r.Err)
		}
	}
}

func TestProfile(t *testing.T) {
	page := uint64(os.Getpagesize())
	byKey := func(n Needs) map[string]Setting {
		m := map[string]Setting{}
		for _, s := range Profile(n) {
			if _, dup := m[s.Key]; dup {
				t.Errorf("%s twice in the profile", s.Key)
			}
			m[s.Key] = s
		}
		return m
	}
	tests := []struct {
		name string
		n    Needs
		want map[string]string
		none []string // keys that must not be in the profile
	}{
		{
			name: "floors",
			n:    Needs{},
			want: map[string]string{
				"fs.file-max": "100000", "fs.nr_open": "1048576", "net.core.somaxconn": "4096",
				"net.ipv4.tcp_max_syn_backlog": "4096", "fs.pipe-max-size": "1048576",
				"fs.pipe-user-pages-soft": "16384", "net.ipv4.tcp_tw_reuse": "1",
				"net.ipv4.tcp_fin_timeout": "30", "net.ipv4.ip_local_port_range": "1024 65023",
			},
			none: []string{"net.ipv4.ip_local_reserved_ports"},
		},
		{
			name: "a big configuration",
			n: Needs{MaxConn: 1000000, NoFile: 6000000, Backlog: 100000, PipeSize: 1 << 20,
				Pipes: 2000000, Ports: []uint16{80, 443, 8443, 8080, 8080}},
			want: map[string]string{
				"fs.file-max": "12000000", "fs.nr_open": "6000000", "net.core.somaxconn": "100000",
				"fs.pipe-max-size":                 "1048576",
				"fs.pipe-user-pages-soft":          fmt.Sprint(2000000 * ((1 << 20) / page)),
				"net.ipv4.ip_local_reserved_ports": "8080,8443",
			},
		},
		{
			name: "pipes above the kernel's default size",
			n:    Needs{PipeSize: 3 << 20, Pipes: 10},
			want: map[string]string{"fs.pipe-max-size": fmt.Sprint(4 << 20), "fs.pipe-user-pages-soft": "16384"},
		},
		{
			name: "grown bulk pipes counted on top of the ordinary ones",
			n:    Needs{PipeSize: 64 << 10, Pipes: 2000, BulkPipes: 32, BulkPipeSize: 1 << 20},
			want: map[string]string{
				"fs.pipe-max-size":        "1048576",
				"fs.pipe-user-pages-soft": fmt.Sprint(2000*16 + 32*(256-16)),
			},
		},
		{
			name: "nr_open capped at what the kernel takes",
			n:    Needs{NoFile: 1 << 40},
			want: map[string]string{"fs.nr_open": fmt.Sprint(nrOpenMax)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := byKey(tt.n)
			for k, v := range tt.want {
				if m[k].Want != v {
					t.Errorf("%s wants %q, want %q", k, m[k].Want, v)
				}
			}
			for _, k := range tt.none {
				if _, ok := m[k]; ok {
					t.Errorf("%s in the profile", k)
				}
			}
			if r := m["net.ipv4.ip_local_port_range"].Requires; (r != "") != (m["net.ipv4.ip_local_reserved_ports"].Key != "") {
				t.Errorf("port range requires %q", r)
			}
		})
	}
	// Reserved ports come before the range they are carved from.
	s := Profile(profileNeeds)
	if s[len(s)-2].Key != "net.ipv4.ip_local_reserved_ports" || s[len(s)-1].Key != "net.ipv4.ip_local_port_range" {
		t.Errorf("profile order: %s", keys(s))
	}
	if ns := Select(s, Setting.Namespaced); len(ns) != 7 || strings.Contains(keys(ns), "fs.") {
		t.Errorf("namespaced settings: %s", keys(ns))
	}
}

// TestPersistProfile: a sysctl.d file reserves fjord's binds and servers,
// not what happens to listen when it is written; it names those.
func TestPersistProfile(t *testing.T) {
	for _, tt := range []struct {
		name      string
		n         Needs
		reserved  string // "" no reserved ports setting
		rangeNote string // part of the range setting's Detail; "" none
	}{
		{"listeners left out and named", Needs{Ports: []uint16{8080}, ServerPorts: []uint16{8081}, Listening: []uint16{5432, 8080, 40000, 61500}}, "8080-8081", "newly covers: 5432,61500. Not reserved here"},
		{"only listeners: no reserved ports, still named", Needs{Listening: []uint16{5432}}, "", "newly covers: 5432."},
		{"no listener: nothing named", Needs{Ports: []uint16{8080}}, "8080", ""},
		{"a listener that is also a bind is reserved as one, not named", Needs{Ports: []uint16{8080}, Listening: []uint16{8080}}, "8080", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reserved, detail string
			for _, s := range PersistProfile(tt.n) {
				switch s.Key {
				case ReservedPortsKey:
					reserved = s.Want
				case PortRangeKey:
					detail = s.Detail
				}
			}
			if reserved != tt.reserved || (tt.rangeNote == "") != (detail == "") || !strings.Contains(detail, tt.rangeNote) {
				t.Errorf("reserves %q, range detail %q; want %q, a detail containing %q", reserved, detail, tt.reserved, tt.rangeNote)
			}
		})
	}
}

func TestProfileReservations(t *testing.T) {
	tests := []struct {
		name         string
		n            Needs
		want, detail string // "" want: no reserved ports setting
	}{
		{
			name: "nothing above 1024: nothing reserved",
			n:    Needs{Ports: []uint16{80, 443}, ServerPorts: []uint16{9}, Listening: []uint16{22, 25}},
		},
		{
			name:   "binds and local servers reserved wherever they are",
			n:      Needs{Ports: []uint16{8080, 40000}, ServerPorts: []uint16{8083, 8081, 8082, 50000}},
			want:   "8080-8083,40000,50000",
			detail: "fjord's binds 8080,40000; servers on this host 8081-8083,50000",
		},
		{
			name:   "listeners reserved only where the widened range newly covers them",
			n:      Needs{Listening: []uint16{22, 1024, 5432, 32767, 32768, 45000, 60999, 61000, 65023, 65024}},
			want:   "1024,5432,32767,61000,65023",
			detail: "already listening 1024,5432,32767,61000,65023",
		},
		{
			name:   "listeners judged against the range in force, not the kernel's default",
			n:      Needs{Listening: []uint16{5432, 20000, 40000, 61500, 65023}, RangeLow: 10000, RangeHigh: 65000},
			want:   "5432,65023",
			detail: "already listening 5432,65023",
		},
		{
			name: "a range already as wide as fjord's exposes no listener",
			n:    Needs{Listening: []uint16{1024, 5432, 65023}, RangeLow: 1024, RangeHigh: 65535},
		},
		{
			name:   "a port of several kinds is reserved once and named under each",
			n:      Needs{Ports: []uint16{8080, 8080}, ServerPorts: []uint16{8080}, Listening: []uint16{8080, 3306}},
			want:   "3306,8080",
			detail: "fjord's binds 8080; servers on this host 8080; already listening 3306,8080",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res *Setting
			settings := Profile(tt.n)
			for i := range settings {
				if settings[i].Key == "net.ipv4.ip_local_reserved_ports" {
					res = &settings[i]
				}
			}
			if tt.want == "" {
				if res != nil {
					t.Fatalf("reserves %q", res.Want)
				}
				return
			}
			if res == nil {
				t.Fatalf("reserves nothing, want %q", tt.want)
			}
			if res.Want != tt.want || res.Detail != tt.detail {
				t.Errorf("reserves %q (%s), want %q (%s)", res.Want, res.Detail, tt.want, tt.detail)
			}
			if strings.Contains(res.Reason, tt.want) {
				t.Errorf("the reason lists the ports, which the detail already does: %s", res.Reason)
			}
		})
	}
}

func TestPersist(t *testing.T) {
	root := fakeTree(t, with(stock, "fs.file-max", "2000000\n", "fs.pipe-user-pages-hard", ""))
	results := Tuner{Root: root}.Check(Profile(profileNeeds))
	var buf bytes.Buffer
	if err := FormatConf(&buf, results, "/etc/fjord/fjord.cfg"); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	conf, err := ParseConf(strings.NewReader(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, r := range results {
		v, ok := conf[r.Key]
		if r.Status == Unavailable {
			if ok {
				t.Errorf("%s persisted though unreadable", r.Key)
			}
			continue
		}
		if v != r.Wanted {
			t.Errorf("%s persisted as %q, want %q", r.Key, v, r.Wanted)
		}
		if !strings.Contains(text, "# "+wrap(r.Reason, 76)[0]+"\n") {
			t.Errorf("%s: reason not in the file", r.Key)
		}
	}
	if conf["fs.file-max"] != "2000000" {
		t.Errorf("the host's higher fs.file-max was not kept: %q", conf["fs.file-max"])
	}
	if !strings.Contains(text, "# fs.pipe-user-pages-hard: not written") {
		t.Errorf("unreadable key not explained:\n%s", text)
	}
	if gaps := Unpersisted(Profile(profileNeeds), conf); len(gaps) != 1 || gaps[0] != "fs.pipe-user-pages-hard" {
		t.Errorf("Unpersisted = %v", gaps)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "90-fjord.conf")
	if err := WriteConf(path, results, "x.cfg"); err != nil {
		t.Fatal(err)
	}
	if err := WriteConf(path, results, "y.cfg"); err != nil {
		t.Fatalf("replacing its own file: %v", err)
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "derived from y.cfg") {
		t.Errorf("file not replaced:\n%s", b)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	foreign := filepath.Join(dir, "99-host.conf")
	os.WriteFile(foreign, []byte("fs.file-max = 5\n"), 0o644)
	if err := WriteConf(foreign, results, "x.cfg"); err == nil || !strings.Contains(err.Error(), "not written by fjord") {
		t.Errorf("replacing a foreign file: %v", err)
	}
	if err := WriteConf(filepath.Join(dir, "no", "such", "dir.conf"), results, "x.cfg"); err == nil {
		t.Error("no error for a missing directory")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestParseConf(t *testing.T) {
	conf, err := ParseConf(strings.NewReader("# c\n; c\n\n a.b = 1 \n-c/d=2  3\na.b = 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if conf["a.b"] != "4" || conf["c.d"] != "2 3" || len(conf) != 2 {
		t.Errorf("ParseConf = %v", conf)
	}
	for _, bad := range []string{"novalue\n", "= 1\n", "a b = 1\n", "-#x = 1\n", "--x = 1\n"} {
		if _, err := ParseConf(strings.NewReader("# x\n" + bad)); err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("ParseConf(%q) error %v, want one naming line 2", bad, err)
		}
	}
}

func FuzzParseConf(f *testing.F) {
	f.Add("# c\nfs.file-max = 100000\n-net.ipv4.ip_local_port_range = 1024\t65023\n")
	f.Add("a=b\n;x\n= \n")
	f.Fuzz(func(t *testing.T, text string) {
		conf, err := ParseConf(strings.NewReader(text))
		if err != nil {
			return
		}
		// What was parsed formats back to a file that parses the same.
		var b strings.Builder
		for k, v := range conf {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
		again, err := ParseConf(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		for k, v := range conf {
			if again[k] != v {
				t.Fatalf("%s: %q became %q", k, v, again[k])
			}
		}
	})
}

func TestConfValues(t *testing.T) {
	const key = ReservedPortsKey
	tests := []struct {
		name, text string
		want       string // the value found; "" none
		line       int
	}{
		{"an assignment", "net.ipv4.ip_local_reserved_ports = 8080, 8443\n", "8080, 8443", 1},
		{"the last assignment wins", "net.ipv4.ip_local_reserved_ports = 1\n-net.ipv4.ip_local_reserved_ports=2\n", "2", 2},
		{"slash separators", "net/ipv4/ip_local_reserved_ports = 9000\n", "9000", 1},
		{"a glob that matches", "net.ipv4.ip_local_*_ports = 9001\n", "9001", 1},
		{"a glob that does not", "net.ipv4.conf.*.rp_filter = 2\n", "", 0},
		{"systemd's key-only exclusion is skipped", "-net.ipv4.conf.all.rp_filter\n-net.ipv4.ip_local_reserved_ports\nnet.ipv4.ip_local_reserved_ports = 5\n", "5", 3},
		{"lines that are no assignment are skipped", "# c\n; c\n\nnot a setting\n[section]\nfs.file-max = 5\n", "", 0},
		{"another key with '/' and a dot in a name", "net/ipv4/conf/eth0.100/forwarding = 1\n", "", 0},
		{"a bad value is returned for the caller to judge", "net.ipv4.ip_local_reserved_ports = x\n", "x", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := confValues(strings.NewReader(tt.text), key)
			if err != nil {
				t.Fatal(err)
			}
			v, ok := got[key]
			if ok != (tt.want != "") || v.value != tt.want || v.line != tt.line {
				t.Errorf("%q: found %v %+v, want %q on line %d", tt.text, ok, v, tt.want, tt.line)
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	for in, want := range map[string]string{
		"net.ipv4.tcp_tw_reuse":             "net.ipv4.tcp_tw_reuse",
		"net/ipv4/tcp_tw_reuse":             "net.ipv4.tcp_tw_reuse",
		"net/ipv4/conf/eth0.100/forwarding": "net.ipv4.conf.eth0/100.forwarding",
		"net.ipv4.conf.eth0/100.forwarding": "net.ipv4.conf.eth0/100.forwarding",
		"kernel":                            "kernel",
	} {
		if got := normalizeKey(in); got != want {
			t.Errorf("normalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzConfValues(f *testing.F) {
	f.Add("-net.ipv4.conf.all.rp_filter\nnet/ipv4/ip_local_reserved_ports = 8080\n")
	f.Add("net.ipv4.ip_local_*_ports=1\n# x\n;y\nno assignment\n")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := confValues(strings.NewReader(text), ReservedPortsKey)
		if err != nil {
			return
		}
		v, ok := got[ReservedPortsKey]
		if !ok {
			return
		}
		// The value found is on the line named, after its '='.
		lines := strings.Split(text, "\n")
		if v.line < 1 || v.line > len(lines) {
			t.Fatalf("line %d of %d", v.line, len(lines))
		}
		_, after, found := strings.Cut(lines[v.line-1], "=")
		if !found || normalize(after) != v.value {
			t.Fatalf("value %q is not what line %d (%q) assigns", v.value, v.line, lines[v.line-1])
		}
	})
}

// keys lists the keys of settings, for messages.
func keys(settings []Setting) string {
	k := make([]string, len(settings))
	for i, s := range settings {
		k[i] = s.Key
	}
	return strings.Join(k, ", ")
}
