package engine

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// webNode is an HTTP server on loopback that names itself in every answer
// and echoes request bodies on /echo.
func webNode(t testing.TB, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Served-By", name)
		switch {
		case r.URL.Path == "/echo":
			// Read it all first: the answer's framing follows the query.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			if r.URL.Query().Get("chunked") == "" {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			} else {
				// Flushing before the body forces chunked framing,
				// whatever the size.
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
			}
			w.Write(body)
		case r.URL.Path == "/xff":
			fmt.Fprintf(w, "%s|%s", r.Header.Get("X-Forwarded-For"), r.Header.Get("Connection"))
		default:
			fmt.Fprintf(w, "%s %s %s", name, r.Method, r.URL.Path)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// httpSeedConfig is the seed article's topology: a frontend sending static
// paths to one pool and the rest to another, round robin.
func httpSeedConfig(t testing.TB, extra string, web []string, static []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
%s
frontend http_front
  bind 127.0.0.1:%d
  acl url_static path_beg /images /stylesheets /javascripts
  use_backend static_servers if url_static
  default_backend web_servers
backend web_servers
  balance roundrobin
`, extra, freePort(t))
	for i, a := range web {
		fmt.Fprintf(&sb, "  server web%02d %s\n", i+1, a)
	}
	sb.WriteString("backend static_servers\n  balance roundrobin\n")
	for i, a := range static {
		fmt.Fprintf(&sb, "  server static%02d %s\n", i+1, a)
	}
	return sb.String()
}

// httpRoundTrip writes raw on c and reads one response.
func httpRoundTrip(t testing.TB, c net.Conn, br *bufio.Reader, raw string) (*http.Response, string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	return readResponse(t, br, nil)
}

func readResponse(t testing.TB, br *bufio.Reader, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	resp.Body.Close()
	return resp, string(body)
}

func TestHTTPRoutesEveryRequestOnKeepAlive(t *testing.T) {
	web1, web2 := webNode(t, "web01"), webNode(t, "web02")
	static := webNode(t, "static01")
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{web1, web2}, []string{static}))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	var webs []string
	for _, tc := range []struct{ path, pool string }{
		{"/", "web"},
		{"/images/logo.png", "static"},
		{"/", "web"},
		{"/stylesheets/a.css", "static"},
		{"/imagesX", "web"}, // path_beg is a prefix match, like HAProxy: /imagesX is static too
	} {
		resp, body := httpRoundTrip(t, c, br, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: status %d", tc.path, resp.StatusCode)
		}
		by := resp.Header.Get("X-Served-By")
		want := tc.pool
		if tc.path == "/imagesX" {
			want = "static"
		}
		if !strings.HasPrefix(by, want) {
			t.Fatalf("GET %s served by %s, want the %s pool", tc.path, by, want)
		}
		if !strings.HasSuffix(body, tc.path) {
			t.Fatalf("GET %s: body %q", tc.path, body)
		}
		if want == "web" {
			webs = append(webs, by)
		}
	}
	if len(webs) != 2 || webs[0] == webs[1] {
		t.Fatalf("round robin over the web pool on one connection: %v", webs)
	}
}

func TestHTTPBodiesByteExact(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{web}, []string{web}))
	sizes := []int{0, 1, 16 << 10, 1 << 20, 64 << 20}
	if testing.Short() {
		sizes = sizes[:4]
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	for _, size := range sizes {
		data := make([]byte, size)
		rand.Read(data)
		want := sha256.Sum256(data)
		for _, reqChunked := range []bool{false, true} {
			for _, respChunked := range []bool{false, true} {
				name := fmt.Sprintf("%dB/req-chunked=%v/resp-chunked=%v", size, reqChunked, respChunked)
				url := "http://" + addr + "/echo"
				if respChunked {
					url += "?chunked=1"
				}
				var body io.Reader = bytes.NewReader(data)
				if reqChunked {
					body = io.MultiReader(bytes.NewReader(data)) // unknown length: chunked
				}
				req, _ := http.NewRequest("POST", url, body)
				if !reqChunked {
					req.ContentLength = int64(size)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				h := sha256.New()
				n, err := io.Copy(h, resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("%s: body: %v", name, err)
				}
				if n != int64(size) || !bytes.Equal(h.Sum(nil), want[:]) {
					t.Fatalf("%s: got %d bytes, sha mismatch=%v", name, n, !bytes.Equal(h.Sum(nil), want[:]))
				}
				if gotChunked := len(resp.TransferEncoding) > 0; gotChunked != respChunked && size > 0 {
					t.Fatalf("%s: response chunked=%v", name, gotChunked)
				}
			}
		}
	}
}

func TestHTTPPipelinedAnsweredInOrder(t *testing.T) {
	web1, web2 := webNode(t, "web01"), webNode(t, "web02")
	static := webNode(t, "static01")
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{web1, web2}, []string{static}))
	c := dial(t, addr)
	paths := []string{"/a", "/images/b", "/c", "/javascripts/d", "/e"}
	var all strings.Builder
	for _, p := range paths {
		all.WriteString("GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, all.String())
	br := bufio.NewReader(c)
	for _, p := range paths {
		_, body := readResponse(t, br, nil)
		if !strings.HasSuffix(body, " GET "+p) {
			t.Fatalf("pipelined %s: got %q", p, body)
		}
	}
}

// rawServer answers every connection with resp after reading a request head.
func rawServer(t testing.TB, resp string, closeAfter bool) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if _, err := io.WriteString(c, resp); err != nil || closeAfter {
				return
			}
		}
	})
}

func TestHTTPCloseDelimitedResponse(t *testing.T) {
	srv := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true)
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(got), "\r\n\r\nuntil the end") || !strings.Contains(string(got), "Connection: close\r\n") {
		t.Fatalf("close-delimited response: %q", got)
	}
}

func TestHTTPHeadAndNoBodyStatuses(t *testing.T) {
	// A HEAD answer announces a length but has no body; 204 and 304 have
	// none either. The next request on the connection must still work.
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			switch req.URL.Path {
			case "/head":
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
			case "/204":
				io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
			case "/304":
				io.WriteString(c, "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n")
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
		}
	})
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for _, step := range []struct{ method, path string }{
		{"HEAD", "/head"}, {"GET", "/x"}, {"GET", "/204"}, {"GET", "/x"}, {"GET", "/304"}, {"GET", "/x"},
	} {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, step.method+" "+step.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		req, _ := http.NewRequest(step.method, step.path, nil)
		resp, body := readResponse(t, br, req)
		if step.path == "/x" && (resp.StatusCode != 200 || body != "ok") {
			t.Fatalf("after %s: %d %q", step.path, resp.StatusCode, body)
		}
	}
}

func TestHTTPConcurrentClients(t *testing.T) {
	web1, web2 := webNode(t, "web01"), webNode(t, "web02")
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{web1, web2}, []string{web1}))
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			for j := 0; j < 20; j++ {
				resp, err := client.Get("http://" + addr + "/p" + strconv.Itoa(j))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.HasSuffix(string(b), "/p"+strconv.Itoa(j)) {
					errs <- fmt.Errorf("got %q", b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
