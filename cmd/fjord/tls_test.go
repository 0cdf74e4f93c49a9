package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/tls/testcert"
)

// writeBundle writes a new self-signed certificate for names as HAProxy's
// bundle, and returns a pool that trusts it and its serial number.
func writeBundle(t *testing.T, path string, names ...string) (*x509.CertPool, int64) {
	t.Helper()
	c, pool := testcert.SelfSigned(t, names...)
	if err := os.WriteFile(path, testcert.PEM(t, c), 0o600); err != nil {
		t.Fatal(err)
	}
	return pool, c.Leaf.SerialNumber.Int64()
}

func httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "fjord.test"}, DisableKeepAlives: true,
	}}
}

// servedSerial is the serial number of the certificate fjord serves.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) int64 {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "fjord.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// A 'bind ... ssl crt FILE' line serves HTTPS from the file; a reload
// reads the certificates again; a certificate that no longer loads keeps
// the running process serving, and the log names the file and why.
func TestTLSBindFromConfiguration(t *testing.T) {
	be := startBackend(t, 0)
	dir := t.TempDir()
	cert := filepath.Join(dir, "site.pem")
	roots, first := writeBundle(t, cert, "fjord.test")
	fe := freeAddr(t)
	cfgPath := httpConfig(t, dir, fe+" ssl crt "+cert, be.addr, "")
	fp := startFjord(t, nil, "-db", "-f", cfgPath)
	fp.log.wait(t, 0, "TLS: handshakes on up to", 20*time.Second)
	fp.log.wait(t, 0, "listening on "+fe, 20*time.Second)
	if err := get(httpsClient(roots), "https://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, fe, roots); got != first {
		t.Fatalf("serial %d served, want %d", got, first)
	}

	// A new certificate, read by the process the reload starts.
	roots, second := writeBundle(t, cert, "fjord.test")
	from, next := reloadAndWaitOld(t, fp)
	fp.log.wait(t, from, "listening on "+fe, 20*time.Second)
	if got := servedSerial(t, fe, roots); got != second {
		t.Fatalf("after the reload, serial %d is served, want %d", got, second)
	}

	// A certificate that does not load: the reload fails, and the
	// process goes on with the one it has.
	if err := os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	from = fp.log.len()
	if err := syscall.Kill(next, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	fp.log.wait(t, from, "reload: [ALERT] "+cfgPath+":", 20*time.Second)
	fp.log.wait(t, from, cert, 20*time.Second)
	fp.log.wait(t, from, "reload failed: the configuration is not valid; still serving", 20*time.Second)
	if got := servedSerial(t, fe, roots); got != second || !alive(next) {
		t.Fatalf("after a failed reload, serial %d is served (process alive: %v)", got, alive(next))
	}
}

// 'server ... ssl check' from the configuration: the checks speak TLS to
// the server (a plain check of a TLS port would take it DOWN, and the
// requests get 503), and so does the traffic.
func TestTLSServerFromConfiguration(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "backend.pem")
	writeBundle(t, cert, "backend.test")
	pair, err := tls.LoadX509KeyPair(cert, cert)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over TLS to "+r.TLS.ServerName)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	fe := freeAddr(t)
	cfgPath := filepath.Join(dir, "fjord.cfg")
	writeConfig(t, cfgPath, fe, ln.Addr().String()+" ssl verify required ca-file "+cert+" sni str(backend.test) check inter 200ms rise 1", "")
	fp := startFjord(t, nil, "-db", "-f", cfgPath)
	fp.log.wait(t, 0, "listening on "+fe, 20*time.Second)
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		if lastErr = get(c, "http://"+fe+"/", "over TLS to backend.test"); lastErr == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // waiting for the first check to pass
	}
	t.Fatalf("through fjord to a TLS server: %v\n%s", lastErr, fp.log)
}

// curl, the client users try first, over TLS 1.2 and 1.3.
func TestTLSWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl command: install the Debian package curl")
	}
	be := startBackend(t, 0)
	dir := t.TempDir()
	cert := filepath.Join(dir, "site.pem")
	writeBundle(t, cert, "fjord.test")
	fe := freeAddr(t)
	fp := startFjord(t, nil, "-db", "-f", httpConfig(t, dir, fe+" ssl crt "+cert+" alpn http/1.1", be.addr, ""))
	fp.log.wait(t, 0, "listening on "+fe, 20*time.Second)
	_, port, _ := net.SplitHostPort(fe)
	for _, version := range [][]string{{"--tlsv1.2", "--tls-max", "1.2"}, {"--tlsv1.3"}} {
		args := append([]string{"-sS", "--max-time", "10", "--cacert", cert, "--resolve", "fjord.test:" + port + ":127.0.0.1",
			"-w", " %{http_code} %{ssl_verify_result}"}, version...)
		out, err := exec.Command(curl, append(args, "https://fjord.test:"+port+"/")...).CombinedOutput()
		if err != nil || string(out) != "ok 200 0" {
			t.Errorf("curl %s: %q, %v", version[0], out, err)
		}
	}
}
