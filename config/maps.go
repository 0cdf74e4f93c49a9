package config

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// Map and pattern files, read once when the configuration is: a file
// that cannot be read is an error that names it, at startup, never a
// silent empty map at request time. As in HAProxy, a relative path is
// relative to the working directory, lines starting with '#' and empty
// lines are skipped, and leading white space is not part of a key.

// MapFile is a map file: a key and a value a line, the value being the
// rest of the line after the white space that ends the key.
type MapFile struct {
	Path    string
	Entries []MapEntry
}

// MapEntry is one line of a map or pattern file.
type MapEntry struct {
	Line       int
	Key, Value string
}

// loadMapFile reads path once per configuration.
func loadMapFile(cache map[string]*MapFile, path string) (*MapFile, error) {
	if m := cache[path]; m != nil {
		return m, nil
	}
	entries, err := readPatternFile(path, true)
	if err != nil {
		return nil, err
	}
	m := &MapFile{Path: path, Entries: entries}
	if cache != nil {
		cache[path] = m
	}
	return m, nil
}

// readPatternFile reads a map (keyed) or an ACL pattern file (a pattern a
// line, which may hold white space).
func readPatternFile(path string, keyed bool) ([]MapEntry, error) {
	if path == "" {
		return nil, fmt.Errorf("a file name is required")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read file '%s': %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	var out []MapEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		text = strings.TrimLeft(text, " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		e := MapEntry{Line: line, Key: strings.TrimRight(text, " \t")}
		if keyed {
			if i := strings.IndexAny(text, " \t"); i >= 0 {
				e.Key = text[:i]
				e.Value = strings.Trim(text[i:], " \t")
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read file '%s': %v", path, err)
	}
	return out, nil
}

// maxReturnFile bounds a "return ... file" body: it is sent from memory
// with every answer, as HAProxy's, which refuses one larger than a
// buffer.
const maxReturnFile = 1 << 20

// readSmallFile reads a file sent as a response body.
func readSmallFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read file '%s': %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	b := make([]byte, maxReturnFile+1)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("cannot read file '%s': %v", path, err)
	}
	if n > maxReturnFile {
		return "", fmt.Errorf("file '%s' is larger than %d bytes", path, maxReturnFile)
	}
	return string(b[:n]), nil
}
