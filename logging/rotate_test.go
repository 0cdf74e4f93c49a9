package logging

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// waitGzipped waits for lumberjack's compressor: n rotated files, all .gz.
func waitGzipped(t *testing.T, dir string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var gz, plain []string
		for _, name := range names(t, dir) {
			switch {
			case !strings.HasPrefix(name, "access-20") || strings.HasPrefix(name, "access-2001"):
				// not rotated by this test
			case strings.HasSuffix(name, ".log.gz"):
				gz = append(gz, name)
			case strings.HasSuffix(name, ".log"):
				plain = append(plain, name)
			}
		}
		if len(gz) == n && len(plain) == 0 {
			return gz
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d gzipped rotated files, have %v", n, names(t, dir))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzip: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRotation(t *testing.T) {
	dir := t.TempDir()
	// Files the purge must leave alone, some of them named almost like
	// rotated files, and all very old.
	others := []string{"notes.txt", "access.log.1", "access-old.log.gz", "other-2001-01-01T00-00-00.000.log.gz", "access-2001-01-01T00-00-00.000.txt"}
	for _, n := range others {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	// A rotated file from long ago: past any retention.
	stale := "access-2001-01-01T00-00-00.000.log.gz"
	os.WriteFile(filepath.Join(dir, stale), []byte("old"), 0o600)

	start := time.Now()
	clk := &fakeClock{t: start}
	path := filepath.Join(dir, "access.log")
	f, err := OpenRotating(path, 30, 0, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if removed, err := f.Purge(); err != nil || len(removed) != 1 || filepath.Base(removed[0]) != stale {
		t.Fatalf("first purge removed %v (%v), want only %s", removed, err, stale)
	}

	f.Write([]byte("day one\n"))
	if err := f.Tick(); err != nil { // same day: nothing happens
		t.Fatal(err)
	}
	if got := waitGzipped(t, dir, 0); len(got) != 0 {
		t.Fatal(got)
	}
	clk.set(start.Add(24 * time.Hour))
	if err := f.Tick(); err != nil {
		t.Fatal(err)
	}
	gz := waitGzipped(t, dir, 1)
	if got := gunzip(t, filepath.Join(dir, gz[0])); got != "day one\n" {
		t.Errorf("rotated file holds %q", got)
	}
	f.Write([]byte("day two\n"))
	// lumberjack names rotated files by the real clock to the millisecond:
	// two rotations within one would share a name. Days apart they never do.
	time.Sleep(5 * time.Millisecond)
	clk.set(start.Add(48 * time.Hour))
	f.Tick()
	waitGzipped(t, dir, 2)
	f.Write([]byte("day three\n"))
	if b, _ := os.ReadFile(path); string(b) != "day three\n" {
		t.Errorf("current file holds %q", b)
	}
	// An empty current file is not rotated on a new day.
	f2path := filepath.Join(t.TempDir(), "empty.log")
	f2, _ := OpenRotating(f2path, 30, 0, clk.now)
	clk.set(start.Add(72 * time.Hour))
	f2.Tick()
	if n := len(names(t, filepath.Dir(f2path))); n != 1 {
		t.Errorf("empty file rotated: %v", names(t, filepath.Dir(f2path)))
	}

	// 29 days after the rotations: kept. 31 days: deleted.
	clk.set(start.Add(29 * 24 * time.Hour))
	if removed, _ := f.Purge(); len(removed) != 0 {
		t.Errorf("purged within the retention: %v", removed)
	}
	clk.set(start.Add(31 * 24 * time.Hour))
	removed, err := f.Purge()
	if err != nil || len(removed) != 2 {
		t.Errorf("purge after the retention removed %v (%v), want the two rotated files", removed, err)
	}
	want := append([]string{"access.log"}, others...)
	sort.Strings(want)
	if got := names(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("directory holds %v, want %v", got, want)
	}
	for _, n := range others {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != "keep" {
			t.Errorf("%s was touched: %q %v", n, b, err)
		}
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fjord.log")
	f, err := OpenRotating(path, 30, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write([]byte("before\n"))
	// An external logrotate moves the file away, then signals.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("still old\n"))
	f.Reopen()
	f.Write([]byte("after\n"))
	if b, _ := os.ReadFile(path + ".1"); string(b) != "before\nstill old\n" {
		t.Errorf("moved file holds %q", b)
	}
	if b, _ := os.ReadFile(path); string(b) != "after\n" {
		t.Errorf("reopened file holds %q", b)
	}
}

func TestOpenRotatingError(t *testing.T) {
	_, err := OpenRotating("/nonexistent-dir/x/fjord.log", 30, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent-dir/x/fjord.log") {
		t.Errorf("error %v does not name the file", err)
	}
}
