package main

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/load"
	"github.com/valyala/fasthttp"
)

const mainEnv = "FJORD_TLSFLOOD_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		main() // the test binary as tlsflood
		return
	}
	os.Exit(m.Run())
}

func tlsflood(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestFloodProcess runs the command against a crypto/tls server on
// loopback, niced, with the server's certificate pinned, and reads its
// report as the harness does.
func TestFloodProcess(t *testing.T) {
	certPEM, keyPEM, _, err := certs.Generate(certs.ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("ok") }}
	go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair}})) //nolint:errcheck
	defer srv.Shutdown()
	pin := filepath.Join(t.TempDir(), "pin.crt")
	if err := os.WriteFile(pin, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, err := tlsflood(t, "-addr", ln.Addr().String(), "-conns", "2", "-duration", "200ms", "-pin", pin, "-resp-size", "2", "-nice", "5")
	if err != nil {
		t.Fatalf("%v: %s", err, errs)
	}
	line, ok := load.FloodLine(out)
	var r load.FloodReport
	if !ok || json.Unmarshal([]byte(line), &r) != nil || r.Handshakes == 0 || r.Errors != 0 || len(r.TLS) != 1 {
		t.Errorf("report %q", out)
	}

	// Another certificate than the pinned one: every handshake fails.
	other := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not this one")})
	if err := os.WriteFile(pin, other, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err = tlsflood(t, "-addr", ln.Addr().String(), "-conns", "1", "-duration", "100ms", "-pin", pin)
	if line, _ := load.FloodLine(out); err != nil || json.Unmarshal([]byte(line), &r) != nil || r.Handshakes != 0 || !strings.Contains(r.FirstError, "another certificate") {
		t.Errorf("pinned to another certificate: %v, %q", err, out)
	}
}

func TestBadArguments(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{}, "-addr is required"},
		{[]string{"-addr", "192.0.2.1:443"}, "not a loopback address"},
		{[]string{"-addr", "127.0.0.1:1", "-nice", "30"}, "-nice 30"},
		{[]string{"-addr", "127.0.0.1:1", "-pin", "/nonexistent"}, "no such file"},
	} {
		_, errs, err := tlsflood(t, tt.args...)
		if err == nil || !strings.Contains(errs, tt.want) {
			t.Errorf("tlsflood %v: %v, %q; want %q", tt.args, err, errs, tt.want)
		}
	}
}
