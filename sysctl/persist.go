package sysctl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode"
)

// PersistPath is where Persist writes by default: sysctl.d files are read
// at boot (systemd-sysctl, or 'sysctl --system') in name order, later
// files winning, so 90- lets the host's own 99- files override fjord.
const PersistPath = "/etc/sysctl.d/90-fjord.conf"

// persistHeader starts every file Persist writes; WriteConf refuses to
// replace a file that does not start with it.
const persistHeader = "# Kernel settings for the fjord load balancer, written by 'fjord sysctl persist'."

// FormatConf writes results in sysctl.d(5) syntax: for each setting its
// reason as a comment, then "key = value" with the value the tuner wants
// (which keeps whatever the host already had that was better). A setting
// that could not be read is written as a comment, so that a kernel without
// it does not make 'sysctl --system' fail. source says what the values were
// derived from (the configuration files).
func FormatConf(w io.Writer, results []Result, source string) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, persistHeader)
	fmt.Fprintf(bw, "# Values derived from %s. Each keeps what this host had if that was\n", source)
	fmt.Fprintln(bw, "# better. Applied at boot, or now with 'sysctl --system'; files that sort")
	fmt.Fprintln(bw, "# after this one (99-*.conf) override it. net.* settings apply to the")
	fmt.Fprintln(bw, "# network namespace that loads them.")
	for _, r := range results {
		fmt.Fprintln(bw)
		for _, line := range wrap(r.Reason, 76) {
			fmt.Fprintf(bw, "# %s\n", line)
		}
		for _, line := range wrap(r.Detail, 76) {
			fmt.Fprintf(bw, "# %s\n", line)
		}
		if r.Status == Unavailable {
			fmt.Fprintf(bw, "# %s: not written, %v\n", r.Key, oneLine(r.Err))
			continue
		}
		fmt.Fprintf(bw, "%s = %s\n", r.Key, r.Wanted)
	}
	return bw.Flush()
}

// WriteConf writes FormatConf's output to path atomically (a temporary
// file renamed over it), mode 0644. It refuses to replace a file that
// fjord did not write.
func WriteConf(path string, results []Result, source string) error {
	if old, err := os.ReadFile(path); err == nil && !bytes.HasPrefix(old, []byte(persistHeader)) {
		return fmt.Errorf("%s exists and was not written by fjord: not replacing it (remove it, or give another file)", path)
	}
	var buf bytes.Buffer
	if err := FormatConf(&buf, results, source); err != nil {
		return err
	}
	return WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// ParseConf reads "key = value" lines in sysctl.d(5) syntax: '#' and ';'
// start comments, blank lines are skipped, a leading '-' (ignore failures)
// is dropped. Later lines for the same key win, as sysctl does. The error
// names the line.
func ParseConf(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.TrimPrefix(strings.TrimSpace(key), "-")
		// A key never holds white space or control bytes ("-\r0" would
		// read back as "0").
		if !ok || key == "" || strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsSpace(r) }) >= 0 || strings.ContainsAny(key[:1], "#;-") {
			return nil, fmt.Errorf("line %d: want 'key = value', got %q", n, line)
		}
		out[strings.ReplaceAll(key, "/", ".")] = normalize(value)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// wrap breaks text into lines of at most width bytes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// Unpersisted returns the keys among settings that conf (a parsed
// sysctl.d file) does not set to a value meeting the setting: what a
// reboot would lose.
func Unpersisted(settings []Setting, conf map[string]string) []string {
	var out []string
	for _, s := range settings {
		if v, ok := conf[s.Key]; !ok || !s.satisfied(v) {
			out = append(out, s.Key)
		}
	}
	return out
}

// confValue is a value a sysctl.d file gives a key, and its line.
type confValue struct {
	value string
	line  int
}

// confValues returns the last value a sysctl.d file gives each of keys
// (dotted names), reading the file the way systemd-sysctl does rather than
// strictly as ParseConf: it is used on files fjord did not write, to learn
// what the admin set, and a line it has no use for must not stop it. So a
// line that is not an assignment, such as the "-net.ipv4.conf.all.rp_filter"
// exclusions of systemd's own 50-default.conf and of distributions' files,
// is skipped, as systemd-sysctl skips it; a key may use '/' as separator and
// may be a glob, as in systemd. What a value must look like is the
// caller's to judge, and only for the keys it asked for.
func confValues(r io.Reader, keys ...string) (map[string]confValue, error) {
	out := map[string]confValue{}
	sc := bufio.NewScanner(r)
	// A sysctl.d line may be long (a port list); systemd takes lines of
	// any length.
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k = normalizeKey(strings.TrimPrefix(strings.TrimSpace(k), "-"))
		for _, want := range keys {
			if k == want || strings.ContainsAny(k, "*?[") && globMatch(k, want) {
				out[want] = confValue{normalize(value), n}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return out, nil
}

// normalizeKey turns a key written with '/' separators into the dotted
// form, as systemd-sysctl does: when the first separator is '/', every '/'
// and '.' swap places ("net/ipv4/conf/eth0.100/forwarding" names the
// interface eth0.100).
func normalizeKey(k string) string {
	slash, dot := strings.IndexByte(k, '/'), strings.IndexByte(k, '.')
	if slash < 0 || dot >= 0 && dot < slash {
		return k
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '/':
			return '.'
		case '.':
			return '/'
		}
		return r
	}, k)
}

// globMatch reports whether the glob pattern (fnmatch(3) syntax, as
// systemd-sysctl takes it) matches key; a malformed pattern matches
// nothing, as fnmatch's does.
func globMatch(pattern, key string) bool {
	ok, err := path.Match(pattern, key)
	return err == nil && ok
}
