package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/bench/report"
)

// fakeFjord makes a bin directory whose fjord is script, beside the real
// web nodes, io.Copy proxy and flood.
func fakeFjord(t *testing.T, script string) string {
	t.Helper()
	bin := t.TempDir()
	for _, f := range []string{"fjord-webnode", "fjord-iocopy", "fjord-tlsflood"} {
		if err := os.Symlink(filepath.Join(binDir, f), filepath.Join(bin, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "fjord"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

func readResults(t *testing.T, out string) *report.Results {
	t.Helper()
	var res report.Results
	data, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &res
}

// TestHTTPSRefused: a fjord whose configuration check refuses the TLS
// configuration has rows saying so in every HTTPS scenario, the summary
// says "refused", and the run goes on and ends well.
func TestHTTPSRefused(t *testing.T) {
	script := "#!/bin/sh\n[ \"$1\" = -c ] || { echo 'started without a check' >&2; exit 3; }\n" +
		"echo \"[ALERT] parsing [$3:6] : unknown keyword 'ssl-default-bind-options' in 'global' section\" >&2\n" +
		"echo \"[ALERT] parsing [$3:24] : bind option 'ssl': TLS termination is not supported by fjord\" >&2\n" +
		"echo '[ALERT] Fatal errors found in configuration.' >&2\nexit 1\n"
	out := t.TempDir()
	args := small(t, out)
	args[1] = fakeFjord(t, script)
	code, stdout, errs := bench(t, append(args, "-proxies", "fjord-http", "-scenarios", "https-keepalive,https-handshake-rsa,https-bulk,https-flood-latency")...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	want := "| fjord-http | refused: fjord-https.cfg:6: unknown keyword 'ssl-default-bind-options' in 'global' section (and 1 more error) |"
	if n := strings.Count(stdout, want); n != 4 {
		t.Errorf("%d rows %q, want one per HTTPS scenario:\n%s", n, want, stdout)
	}
	if !strings.Contains(stdout, "bind option 'ssl': TLS termination is not supported by fjord") {
		t.Error("the notes do not hold fjord's other error")
	}
	if strings.Contains(stdout, "| direct |") {
		t.Error("direct has a row in an HTTPS scenario")
	}
	res := readResults(t, out)
	if len(res.Summaries) != 1 {
		t.Fatalf("%d summaries", len(res.Summaries))
	}
	for _, row := range res.Summaries[0].Rows {
		want := "refused"
		if row.Scenario == "" { // https-handshake-ecdsa did not run
			want = "not run"
		}
		if row.Status["fjord-http"] != want || row.Status["haproxy-http"] != "not run" {
			t.Errorf("summary row %q: %v", row.Figure, row.Status)
		}
	}
	if !strings.Contains(stdout, "### HTTPS: fjord against HAProxy, and its targets") {
		t.Errorf("no summary table:\n%s", stdout)
	}
}

// TestHTTPSStartFailure: a fjord that accepts its configuration and then
// fails to start fails its HTTPS rows, not the run.
func TestHTTPSStartFailure(t *testing.T) {
	script := "#!/bin/sh\n[ \"$1\" = -c ] && { echo \"[WARNING] parsing [$3:8] : 'ssl-default-bind-ciphersuites' is not honored\" >&2; echo 'Configuration file is valid'; exit 0; }\n" +
		"echo \"[ALERT] $2: cannot load the certificate\" >&2\nexit 1\n"
	out := t.TempDir()
	args := small(t, out)
	args[1] = fakeFjord(t, script)
	code, stdout, errs := bench(t, append(args, "-proxies", "fjord-http", "-scenarios", "https-keepalive,https-handshake-ecdsa")...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	if n := strings.Count(stdout, "| fjord-http | failed: fjord-http: exited while starting"); n != 2 {
		t.Errorf("%d failed rows, want 2:\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "cannot load the certificate") {
		t.Error("the notes do not hold fjord's log")
	}
	if !strings.Contains(stdout, "- fjord-http: its configuration check warned: fjord-https.cfg:8: 'ssl-default-bind-ciphersuites' is not honored") {
		t.Errorf("the notes do not hold the check's warning:\n%s", stdout)
	}
}

// TestHTTPSNoTLSPeer: with no proxy that terminates TLS named, the HTTPS
// scenarios are skipped with a warning.
func TestHTTPSNoTLSPeer(t *testing.T) {
	out := t.TempDir()
	code, stdout, errs := bench(t, append(small(t, out), "-proxies", "iocopy", "-scenarios", "keepalive,https-keepalive")...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	if !strings.Contains(stdout, "https-keepalive: skipped: none of the proxies named terminates TLS (fjord-http, haproxy-http, nginx-http do)") {
		t.Errorf("no warning:\n%s", stdout)
	}
	if res := readResults(t, out); len(res.Scenarios) != 1 || len(res.Summaries) != 0 {
		t.Errorf("%d scenarios, %d summaries; want keepalive alone", len(res.Scenarios), len(res.Summaries))
	}
}

// TestHTTPSRun runs every HTTPS scenario, short, through HAProxy when it
// is installed: every row has its figures, and says what it negotiated.
func TestHTTPSRun(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy is not installed (make bench-deps)")
	}
	out := t.TempDir()
	args := append(small(t, out), "-proxies", "haproxy-http", "-rounds", "1", "-tls-rate", "200", "-flood-conns", "2",
		"-scenarios", "keepalive,https-keepalive,https-handshake-ecdsa,https-handshake-rsa,https-bulk,https-flood-latency")
	code, stdout, errs := bench(t, args...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	res := readResults(t, out)
	want := map[string][]string{
		"https-keepalive":       {report.CPUPerReq, report.P99},
		"https-handshake-ecdsa": {report.CPUPerReq, report.ReqPerSec},
		"https-handshake-rsa":   {report.CPUPerReq, report.ReqPerSec},
		"https-bulk":            {report.CPUPerGB, report.GBPerSec},
		"https-flood-latency":   {report.AloneP99, report.P99, report.P99OverAlone, report.FloodPerSec, report.ProxyBusy},
	}
	for _, s := range res.Scenarios {
		if s.Name == "keepalive" {
			continue
		}
		row := s.Find("haproxy-http")
		if row == nil || row.Status != "" || len(row.Rounds) != 1 {
			t.Errorf("%s: haproxy-http row %+v", s.Name, row)
			continue
		}
		for _, m := range want[s.Name] {
			if _, ok := row.Median[m]; !ok {
				t.Errorf("%s: no %s in %v (notes %q)", s.Name, m, row.Median, row.Notes)
			}
		}
		if len(row.TLS) != 1 || row.TLS[0] != "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ALPN http/1.1" {
			t.Errorf("%s: negotiated %q", s.Name, row.TLS)
		}
		delete(want, s.Name)
	}
	if len(want) > 0 {
		t.Errorf("scenarios missing: %v", want)
	}
	if len(res.Summaries) != 1 || res.Summaries[0].Rows[1].Values["haproxy-http"] <= 0 {
		t.Errorf("summary: %+v", res.Summaries)
	}
	for _, n := range []string{"cpu-per-handshake", "latency-https-flood-latency"} {
		if _, err := os.Stat(filepath.Join(out, n+".svg")); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(stdout, "TLS libraries: haproxy-http OpenSSL") {
		t.Error("the machine lines do not name HAProxy's OpenSSL")
	}
}
