package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Configurations here use literal loopback addresses only, so that checking
// them never needs a name lookup.
const (
	validCfg = `global
	maxconn 100
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 127.0.0.1:18080
	default_backend be
backend be
	server s1 127.0.0.1:18081
`
	// httpDefaults and httpProxies only make a valid configuration
	// together: the path_beg condition needs the defaults' mode http.
	httpDefaults = `defaults
	mode http
	timeout connect 5s
`
	httpProxies = `frontend fe
	bind 127.0.0.1:18080
	use_backend static if { path_beg /static }
	default_backend app
backend static
	server s1 127.0.0.1:18081
backend app
	server s2 127.0.0.1:18082
`
)

// runFjord runs the command line in-process and returns its exit code and
// what it printed.
func runFjord(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersion(t *testing.T) {
	for _, flag := range []string{"-v", "-V"} {
		code, stdout, stderr := runFjord(t, flag)
		if code != 0 {
			t.Errorf("fjord %s exited %d, want 0 (stderr %q)", flag, code, stderr)
		}
		if want := "fjord version " + version + "\n"; stdout != want {
			t.Errorf("fjord %s printed %q, want %q", flag, stdout, want)
		}
		if stderr != "" {
			t.Errorf("fjord %s wrote to stderr: %q", flag, stderr)
		}
	}
}

func TestCheckValid(t *testing.T) {
	path := writeFile(t, t.TempDir(), "valid.cfg", validCfg)
	code, stdout, stderr := runFjord(t, "-c", "-f", path)
	if code != 0 {
		t.Fatalf("fjord -c exited %d, want 0; stderr:\n%s", code, stderr)
	}
	if stdout != "Configuration file is valid\n" {
		t.Errorf("stdout = %q, want exactly %q", stdout, "Configuration file is valid\n")
	}
	if strings.Contains(stderr, "[ALERT]") {
		t.Errorf("stderr has alerts:\n%s", stderr)
	}
}

func TestCheckInvalid(t *testing.T) {
	path := writeFile(t, t.TempDir(), "bad.cfg", validCfg+"\tbogus-keyword 1\n")
	code, stdout, stderr := runFjord(t, "-c", "-f", path)
	if code != 1 {
		t.Fatalf("fjord -c exited %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	want := "[ALERT] parsing [" + path + ":13] : unknown keyword 'bogus-keyword' in 'backend' section\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if !strings.HasSuffix(stderr, "[ALERT] Fatal errors found in configuration.\n") {
		t.Errorf("stderr does not end with the fatal summary:\n%s", stderr)
	}
}

// seedTemplate is the seed article's template as written, in the
// repository's examples.
func seedTemplate(t *testing.T) string {
	t.Helper()
	const path = "../../examples/seed-template.cfg"
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckSeedTemplate(t *testing.T) {
	path := seedTemplate(t)
	code, stdout, stderr := runFjord(t, "-c", "-f", path)
	if code != 1 {
		t.Fatalf("fjord -c on the seed template exited %d, want 1; stderr:\n%s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	var alerts []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "[ALERT] parsing [") {
			alerts = append(alerts, l)
		}
	}
	if len(alerts) != 1 {
		t.Fatalf("want exactly one '[ALERT] parsing [' line, got %d:\n%s", len(alerts), stderr)
	}
	if a := alerts[0]; !strings.Contains(a, ":23] :") || !strings.Contains(a, "static_servers") || !strings.Contains(a, path) {
		t.Errorf("alert %q should name %s:23 and static_servers", a, path)
	}
	for _, want := range []string{
		"[NOTICE] parsing [" + path + ":16] : 'contimeout' is deprecated; it is accepted as 'timeout connect'",
		"[NOTICE] parsing [" + path + ":17] : 'clitimeout' is deprecated; it is accepted as 'timeout client'",
		"[NOTICE] parsing [" + path + ":18] : 'srvtimeout' is deprecated; it is accepted as 'timeout server'",
		"[NOTICE] parsing [" + path + ":29] : backend 'web_servers': in mode http, 'check' performs a layer-7 check",
		"[ALERT] Fatal errors found in configuration.",
	} {
		if !strings.Contains(stderr, "\n"+want) && !strings.HasPrefix(stderr, want) {
			t.Errorf("stderr lacks a line starting %q:\n%s", want, stderr)
		}
	}
}

func TestTwoFilesCombine(t *testing.T) {
	dir := t.TempDir()
	defs := writeFile(t, dir, "defaults.cfg", httpDefaults)
	proxies := writeFile(t, dir, "proxies.cfg", httpProxies)

	code, stdout, stderr := runFjord(t, "-c", "-f", defs, "-f", proxies)
	if code != 0 || stdout != "Configuration file is valid\n" {
		t.Fatalf("fjord -c -f defaults -f proxies: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}

	// The second file alone is invalid, so the first one did count.
	code, _, stderr = runFjord(t, "-c", "-f", proxies)
	if code != 1 || !strings.Contains(stderr, "[ALERT] parsing ["+proxies+":3] : frontend 'fe' is in mode tcp") {
		t.Fatalf("fjord -c -f proxies alone: exit %d, stderr:\n%s", code, stderr)
	}

	// Order matters: defaults apply only to the sections after them.
	code, _, stderr = runFjord(t, "-c", "-f", proxies, "-f", defs)
	if code != 1 || !strings.Contains(stderr, proxies+":3]") {
		t.Fatalf("fjord -c -f proxies -f defaults: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.cfg")
	code, stdout, stderr := runFjord(t, "-c", "-f", missing)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
	want := "[ALERT] parsing [" + missing + "] : cannot read configuration file: no such file or directory\n"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, "no frontend") {
		t.Errorf("an unreadable file also reports a missing frontend:\n%s", stderr)
	}

	// A missing file among good ones still fails, naming only that file.
	good := writeFile(t, t.TempDir(), "valid.cfg", validCfg)
	code, stdout, stderr = runFjord(t, "-c", "-f", good, "-f", missing)
	if code != 1 || stdout != "" || !strings.Contains(stderr, want) || strings.Contains(stderr, "["+good) {
		t.Errorf("good + missing: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
}

func TestNoConfigurationFile(t *testing.T) {
	for _, args := range [][]string{nil, {"-c"}, {"-db"}} {
		code, stdout, stderr := runFjord(t, args...)
		if code != 1 {
			t.Errorf("fjord %q exited %d, want 1", args, code)
		}
		if stdout != "" {
			t.Errorf("fjord %q printed %q on stdout", args, stdout)
		}
		if want := "fjord: no configuration file given (use -f FILE)\n"; stderr != want {
			t.Errorf("fjord %q stderr = %q, want %q", args, stderr, want)
		}
	}
}

func TestBadArguments(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-x"}, "flag provided but not defined: -x"},
		{[]string{"-f"}, "flag needs an argument: -f"},
		{[]string{"-c", "-f", "a.cfg", "extra"}, `fjord: unexpected argument "extra"`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runFjord(t, tt.args...)
		if code != 1 || stdout != "" || strings.Count(stderr, tt.want) != 1 {
			t.Errorf("fjord %q: exit %d, stdout %q, stderr %q; want exit 1 and %q once", tt.args, code, stdout, stderr, tt.want)
		}
	}
	code, stdout, stderr := runFjord(t, "-h")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "usage: fjord") {
		t.Errorf("fjord -h: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestDirectory(t *testing.T) {
	// Glob metacharacters in the directory name are not patterns.
	dir := filepath.Join(t.TempDir(), "conf.d[1]*")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Written in reverse order: only lexical order makes them valid, since
	// the defaults must come before the proxies that use mode http.
	writeFile(t, dir, "20-proxies.cfg", httpProxies)
	writeFile(t, dir, "10-defaults.cfg", httpDefaults)
	// Not loaded: other extensions, hidden files, directories (as HAProxy).
	writeFile(t, dir, "30-notes.txt", "this is not configuration\n")
	writeFile(t, dir, "20-proxies.cfg.bak", "garbage\n")
	writeFile(t, dir, ".40-hidden.cfg", "garbage\n")
	if err := os.Mkdir(filepath.Join(dir, "50-sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runFjord(t, "-c", "-f", dir)
	if code != 0 || stdout != "Configuration file is valid\n" {
		t.Fatalf("fjord -c -f DIR: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}

	// The files really were read, in order: a backend declared in a file
	// sorted earlier makes the one of 20-proxies.cfg a duplicate.
	broken := writeFile(t, dir, "15-broken.cfg", "backend static\n\tserver s1 127.0.0.1:18083\n")
	code, _, stderr = runFjord(t, "-c", "-f", dir)
	want := "[ALERT] parsing [" + filepath.Join(dir, "20-proxies.cfg") + ":5] : backend 'static' has the same name as backend 'static' declared at " + broken + ":1\n"
	if code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, "[ALERT] parsing [") != 1 {
		t.Fatalf("fjord -c -f DIR with a broken file: exit %d, want 1 and only %q; stderr:\n%s", code, want, stderr)
	}

	// Errors come out in lexical file order, each naming its file.
	bad := t.TempDir()
	b := writeFile(t, bad, "b.cfg", "global\n\tbogus-b\n")
	a := writeFile(t, bad, "a.cfg", "global\n\tbogus-a\n")
	code, _, stderr = runFjord(t, "-c", "-f", bad)
	ia := strings.Index(stderr, "[ALERT] parsing ["+a+":2] : unknown keyword 'bogus-a'")
	ib := strings.Index(stderr, "[ALERT] parsing ["+b+":2] : unknown keyword 'bogus-b'")
	if code != 1 || ia < 0 || ib < 0 || ia > ib {
		t.Fatalf("fjord -c -f DIR with errors: exit %d, stderr:\n%s", code, stderr)
	}
}

func TestEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "readme.txt", "no configuration here\n")
	code, stdout, stderr := runFjord(t, "-c", "-f", dir)
	if code != 1 {
		t.Fatalf("fjord -c -f EMPTYDIR exited %d, want 1; stdout %q", code, stdout)
	}
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
	if !strings.Contains(stderr, "[ALERT] parsing ["+dir+"] : ") || !strings.Contains(stderr, "*.cfg") {
		t.Errorf("stderr does not name the directory and *.cfg:\n%s", stderr)
	}
}

// TestReadmeCheckOutput runs the 'fjord -c' commands the README shows on
// the repository's own files and checks that every diagnostic it quotes
// under them is what fjord prints, file and line included.
func TestReadmeCheckOutput(t *testing.T) {
	t.Chdir("../..")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	var out string
	checked := 0
	for _, line := range strings.Split(string(readme), "\n") {
		if cmd, ok := strings.CutPrefix(line, "$ fjord "); ok {
			args = strings.Fields(cmd)
			if _, err := os.Stat(args[len(args)-1]); err != nil {
				args = nil // a file outside the repository (the seed)
				continue
			}
			_, stdout, stderr := runFjord(t, args...)
			out = stdout + stderr
			continue
		}
		if strings.HasPrefix(line, "$ ") {
			args = nil
		}
		if args == nil || !strings.HasPrefix(line, "[") {
			continue
		}
		checked++
		if !strings.Contains(out, line+"\n") {
			t.Errorf("README quotes, under 'fjord %s':\n%s\nwhich it does not print:\n%s", strings.Join(args, " "), line, out)
		}
	}
	if checked == 0 {
		t.Fatal("the README quotes no diagnostic of a command on the repository's files")
	}
}

// The example configurations a user starts from check without a warning
// (notices, which say where fjord differs from HAProxy, are fine).
func TestExamplesCheckWithoutWarnings(t *testing.T) {
	// From the repository's root: the examples name their files (map,
	// certificate) relative to the working directory, as HAProxy reads
	// them, and say to check them from there.
	t.Chdir("../..")
	files, err := filepath.Glob("examples/*.cfg")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		_, _, stderr := runFjord(t, "-c", "-f", f)
		if strings.Contains(stderr, "[WARNING]") {
			t.Errorf("fjord -c -f %s warns:\n%s", f, stderr)
		}
	}
}

// TestCheckCondition runs -cc as HAProxy's reg-tests do
// (reg-tests/startup/check_condition.vtc and the "feature cmd" lines).
func TestCheckCondition(t *testing.T) {
	t.Setenv("TESTVAR", "1")
	tests := []struct {
		name     string
		expr     string
		wantCode int
		wantErr  string // on stderr; "" means nothing there
	}{
		{name: "true", expr: "version_atleast(2.5-dev0)", wantCode: 0},
		{name: "false", expr: "version_atleast(1024)", wantCode: 1},
		{name: "guarded TLS question", expr: "feature(OPENSSL) && ssllib_name_startswith(OpenSSL)", wantCode: 1},
		{name: "features fjord has", expr: "version_atleast(2.5-dev5) && feature(LINUX_SPLICE)", wantCode: 0},
		{name: "quotes as on a configuration line", expr: `streq("foo bar",'foo bar')`, wantCode: 0},
		{name: "environment variable", expr: `defined(TESTVAR) && streq("$TESTVAR","1")`, wantCode: 0},
		{name: "empty is false", expr: "", wantCode: 1},
		{name: "starts with a minus", expr: "-1000 && 200", wantCode: 0},
		{name: "trailing garbage", expr: "200rrr", wantCode: 2, wantErr: "[ALERT] Failed to evaluate condition '200rrr': unexpected 'rrr' at column 4, after a complete condition\n"},
		{name: "extra parenthesis", expr: "!(0))", wantCode: 2, wantErr: "unexpected ')' at column 5"},
		{name: "unmatched quote", expr: `streq(a,"a)`, wantCode: 2, wantErr: `unmatched quote " at column 9`},
		{name: "no TLS library to ask", expr: "openssl_version_atleast(1.1.1)", wantCode: 2, wantErr: "fjord has no TLS library"},
		{name: "variable not set", expr: `streq("$FJORD_TEST_NOPE",x)`, wantCode: 2, wantErr: "environment variable 'FJORD_TEST_NOPE' is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runFjord(t, "-cc", tt.expr)
			if code != tt.wantCode || stdout != "" {
				t.Errorf("fjord -cc %q: exit %d, stdout %q; want exit %d and nothing", tt.expr, code, stdout, tt.wantCode)
			}
			if tt.wantErr == "" && stderr != "" || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("fjord -cc %q: stderr %q, want %q", tt.expr, stderr, tt.wantErr)
			}
		})
	}
}

func TestCheckConditionNeedsAnExpression(t *testing.T) {
	code, stdout, stderr := runFjord(t, "-cc")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "flag needs an argument: -cc") {
		t.Errorf("fjord -cc: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCheckConditionReadsNoConfiguration(t *testing.T) {
	// As in HAProxy, -cc answers and exits: -f is neither needed nor read.
	code, _, stderr := runFjord(t, "-cc", "1", "-f", filepath.Join(t.TempDir(), "missing.cfg"))
	if code != 0 || stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr)
	}
}

// -cc sees the local peer -L names, as HAProxy's does (it sets the name
// while reading its arguments, before evaluating the condition).
func TestCheckConditionSeesTheLocalPeer(t *testing.T) {
	if code, _, stderr := runFjord(t, "-L", "peerA", "-cc", `streq("$HAPROXY_LOCALPEER",peerA)`); code != 0 {
		t.Errorf("exit %d, want 0 (true); stderr %q", code, stderr)
	}
}
