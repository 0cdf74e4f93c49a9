package logging

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// DefaultMaxSizeMB is the size at which a log file is rotated even before
// the day ends.
const DefaultMaxSizeMB = 100

// backupLayout is the timestamp lumberjack puts in rotated file names
// (name-2006-01-02T15-04-05.000.ext), in UTC.
const backupLayout = "2006-01-02T15-04-05.000"

// RotatingFile is a log file that lumberjack rotates by size and that is
// also rotated when the day changes; rotated files are gzipped (by
// lumberjack) and deleted after the retention (here, not by lumberjack:
// its clock cannot be injected, so its own MaxAge is left off and the
// purge runs on this type's clock, which the tests set).
type RotatingFile struct {
	lj        *lumberjack.Logger
	path      string
	retention time.Duration
	now       func() time.Time
	day       string // the local date the current file was started on; Tick's alone
}

// OpenRotating opens (creating it if needed) the log file at path.
func OpenRotating(path string, retentionDays, maxSizeMB int, now func() time.Time) (*RotatingFile, error) {
	if now == nil {
		now = time.Now
	}
	if maxSizeMB <= 0 {
		maxSizeMB = DefaultMaxSizeMB
	}
	// Fail at startup, naming the file, rather than on the first line.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	f.Close()
	r := &RotatingFile{
		lj:        &lumberjack.Logger{Filename: path, MaxSize: maxSizeMB, Compress: true},
		path:      path,
		retention: time.Duration(retentionDays) * 24 * time.Hour,
		now:       now,
		day:       now().Format(time.DateOnly),
	}
	return r, nil
}

// Write appends a line; lumberjack rotates first when it would pass the size.
func (r *RotatingFile) Write(p []byte) (int, error) { return r.lj.Write(p) }

// Reopen closes the file; the next line opens the path again, so that an
// external logrotate that moved the file (and sent SIGUSR2) gets a new one.
func (r *RotatingFile) Reopen() error { return r.lj.Close() }

// Close closes the file.
func (r *RotatingFile) Close() error { return r.lj.Close() }

// Tick rotates the file when the local date changed since it was started
// (an empty file is left alone), then deletes rotated files past the
// retention. The writer goroutine calls it every minute, and only it.
func (r *RotatingFile) Tick() error {
	now := r.now()
	day := now.Format(time.DateOnly)
	if day == r.day {
		return nil
	}
	r.day = day
	if st, err := os.Stat(r.path); err == nil && st.Size() > 0 {
		if err := r.lj.Rotate(); err != nil {
			return fmt.Errorf("rotate %s: %w", r.path, err)
		}
	}
	_, err := r.Purge()
	return err
}

// Purge deletes the rotated files of this log (name-TIMESTAMP.ext and
// name-TIMESTAMP.ext.gz) whose rotation time is older than the retention,
// and reports their names. Nothing else in the directory is touched.
func (r *RotatingFile) Purge() ([]string, error) {
	dir := filepath.Dir(r.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("purge %s: %w", dir, err)
	}
	cutoff := r.now().Add(-r.retention)
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		at, ok := r.backupTime(e.Name())
		if !ok || !at.Before(cutoff) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return removed, fmt.Errorf("purge: %w", err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// backupTime parses the rotation time out of a rotated file's name, as
// lumberjack names them; ok is false for every other name.
func (r *RotatingFile) backupTime(name string) (time.Time, bool) {
	base := filepath.Base(r.path)
	ext := filepath.Ext(base)
	prefix := strings.TrimSuffix(base, ext) + "-"
	if !strings.HasPrefix(name, prefix) {
		return time.Time{}, false
	}
	rest := strings.TrimPrefix(name, prefix)
	switch {
	case strings.HasSuffix(rest, ext+".gz"):
		rest = strings.TrimSuffix(rest, ext+".gz")
	case strings.HasSuffix(rest, ext):
		rest = strings.TrimSuffix(rest, ext)
	default:
		return time.Time{}, false
	}
	at, err := time.ParseInLocation(backupLayout, rest, time.UTC)
	return at, err == nil
}
