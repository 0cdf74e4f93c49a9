package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// writeBundle writes a self-signed certificate for names and its key in
// one PEM file, HAProxy's bundle, and returns a pool that trusts it.
func writeBundle(t *testing.T, path string, serial int64, names ...string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return pool
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
	roots := writeBundle(t, cert, 1, "fjord.test")
	fe := freeAddr(t)
	cfgPath := httpConfig(t, dir, fe+" ssl crt "+cert, be.addr, "")
	fp := startFjord(t, nil, "-db", "-f", cfgPath)
	fp.log.wait(t, 0, "TLS: handshakes on up to", 20*time.Second)
	fp.log.wait(t, 0, "listening on "+fe, 20*time.Second)
	if err := get(httpsClient(roots), "https://"+fe+"/", "ok"); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, fe, roots); got != 1 {
		t.Fatalf("serial %d served", got)
	}

	// A new certificate, read by the process the reload starts.
	roots = writeBundle(t, cert, 2, "fjord.test")
	from, next := reloadAndWaitOld(t, fp)
	fp.log.wait(t, from, "listening on "+fe, 20*time.Second)
	if got := servedSerial(t, fe, roots); got != 2 {
		t.Fatalf("after the reload, serial %d is served", got)
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
	if got := servedSerial(t, fe, roots); got != 2 || !alive(next) {
		t.Fatalf("after a failed reload, serial %d is served (process alive: %v)", got, alive(next))
	}
}

// 'server ... ssl check' from the configuration: the checks speak TLS to
// the server (a plain check of a TLS port would take it DOWN, and the
// requests get 503), and so does the traffic.
func TestTLSServerFromConfiguration(t *testing.T) {
	dir := t.TempDir()
	cert := filepath.Join(dir, "backend.pem")
	writeBundle(t, cert, 7, "backend.test")
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
