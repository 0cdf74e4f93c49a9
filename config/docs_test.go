package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The keyword registry and docs/configuration.md say the same thing: every
// registered keyword is documented where its section's keywords are (the
// global table, the list of ignored keywords, the refused ones, the proxy
// matrix with the same checkmarks, the userlist table), nothing is documented that is not
// registered, and every row's anchor exists.
func TestDocsMatchRegistry(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	global := docSection(t, doc, "## The `global` section", "\n## ")
	firstWord := func(cell string) string {
		m := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(cell)
		if m == nil {
			return ""
		}
		return strings.Fields(m[1])[0]
	}

	// What the docs list, by kind.
	documented := map[string]string{} // name -> "global", "ignored" or "refused"
	for _, row := range tableRows(docTable(t, global, "## The `global` section")) {
		documented[firstWord(row[0])] = "global"
	}
	for _, row := range tableRows(docTable(t, global, "### Keywords accepted and ignored")) {
		if w := firstWord(row[0]); w != "" {
			documented[w] = "ignored"
		}
	}
	for _, line := range strings.Split(docSection(t, global, "Refused in `global`", "\n\n###"), "\n") {
		if m := regexp.MustCompile("^- `([^`]+)`: ").FindStringSubmatch(line); m != nil {
			documented[m[1]] = "refused"
		}
	}
	userlist := map[string]bool{}
	for _, row := range tableRows(docTable(t, doc, "## The `userlist` section")) {
		userlist[firstWord(row[0])] = true
	}
	type allowed struct {
		where [4]bool // defaults, frontend, backend, listen
		side  string
	}
	matrix := map[string]allowed{}
	for _, row := range tableRows(docTable(t, doc, "### Where each keyword is allowed")) {
		if len(row) != 6 {
			t.Fatalf("matrix row %q: want 6 cells", row)
		}
		var a allowed
		for i := range a.where {
			a.where[i] = row[i+1] == "✓"
		}
		a.side = strings.Fields(row[5])[0]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(row[0], -1) {
			matrix[strings.Fields(m[1])[0]] = a
		}
	}

	// What the registry holds.
	anchors := docAnchors(doc)
	for _, kw := range Keywords() {
		if !anchors[kw.Doc] {
			t.Errorf("%s: its documentation anchor #%s is not a heading of docs/configuration.md", kw.Name, kw.Doc)
		}
		if kw.Global {
			want := "global"
			switch {
			case kw.Ignored:
				want = "ignored"
			case kw.Refused:
				want = "refused"
			}
			if got := documented[kw.Name]; got != want {
				t.Errorf("global keyword %s: documented as %q, want %q", kw.Name, got, want)
			}
			delete(documented, kw.Name)
			continue
		}
		if kw.Userlist {
			if !userlist[kw.Name] {
				t.Errorf("userlist keyword %s is not in the table of the userlist section", kw.Name)
			}
			delete(userlist, kw.Name)
			continue
		}
		got, ok := matrix[kw.Name]
		if !ok {
			t.Errorf("proxy keyword %s is not in the matrix of where each keyword is allowed", kw.Name)
			continue
		}
		want := [4]bool{kw.Defaults, kw.Frontend, kw.Backend, kw.Frontend || kw.Backend}
		if got.where != want {
			t.Errorf("proxy keyword %s: the matrix says defaults/frontend/backend/listen %v, the registry %v", kw.Name, got.where, want)
		}
		if got.side != kw.Side {
			t.Errorf("proxy keyword %s: the matrix says it acts on %s, the registry %s", kw.Name, got.side, kw.Side)
		}
		delete(matrix, kw.Name)
	}
	for name, kind := range documented {
		t.Errorf("docs/configuration.md documents global keyword %s (%s), which is not registered", name, kind)
	}
	for name := range userlist {
		t.Errorf("docs/configuration.md's userlist table has %s, which is not registered for userlists", name)
	}
	for name := range matrix {
		t.Errorf("docs/configuration.md's matrix has %s, which is not registered for proxies", name)
	}
}

// docSection returns the text from the line starting with start to the
// next end (or the end of text), failing the test when start is missing.
func docSection(t *testing.T, text, start, end string) string {
	t.Helper()
	i := strings.Index(text, start)
	if i < 0 {
		t.Fatalf("docs/configuration.md has no %q", start)
	}
	text = text[i:]
	if j := strings.Index(text[len(start):], end); j >= 0 {
		return text[:len(start)+j]
	}
	return text
}

// docTable returns the first Markdown table after the line starting with
// start.
func docTable(t *testing.T, text, start string) string {
	t.Helper()
	var table []string
	for _, line := range strings.Split(docSection(t, text, start, "\x00"), "\n") {
		if strings.HasPrefix(line, "|") {
			table = append(table, line)
		} else if len(table) > 0 {
			break
		}
	}
	if len(table) == 0 {
		t.Fatalf("docs/configuration.md has no table after %q", start)
	}
	return strings.Join(table, "\n")
}

// tableRows returns the cells of a Markdown table's body rows.
func tableRows(text string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "| Keyword |") {
			continue
		}
		cells := strings.Split(strings.TrimSpace(line), "|")
		cells = cells[1 : len(cells)-1] // before the first '|' and after the last
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows = append(rows, cells)
	}
	return rows
}

// docAnchors computes the GitHub anchors of every heading: lower case,
// spaces as '-', punctuation other than '-' and '_' dropped.
func docAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// Every TLS option of bind and server lines is documented in the tables
// of its section, and a refused one as an error.
func TestDocsListTLSOptions(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	check := func(heading string, opts []tlsOption) {
		t.Helper()
		rows := map[string]string{} // option -> its row's description
		for _, line := range strings.Split(docSection(t, doc, heading, "\n### "), "\n") {
			if !strings.HasPrefix(line, "| `") {
				continue
			}
			// An escaped '|' inside a cell is no cell border.
			cells := tableRows(strings.ReplaceAll(line, `\|`, "/"))[0]
			for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[0], -1) {
				rows[strings.Fields(m[1])[0]] = cells[len(cells)-1]
			}
		}
		for _, o := range opts {
			desc, ok := rows[o.name]
			switch {
			case !ok:
				t.Errorf("%s: option %s is not documented", heading, o.name)
			case (o.status == refused) != strings.Contains(desc, "**error**"):
				t.Errorf("%s: option %s is documented as %q; refused: %v", heading, o.name, desc, o.status == refused)
			}
			delete(rows, o.name)
		}
	}
	check("#### TLS options of `bind`", bindTLSOptions)
	var srv []tlsOption
	for _, o := range serverTLSOptions {
		srv = append(srv, o.tlsOption)
	}
	check("#### TLS options of `server`", srv)
}

// Every sample fetch (aliases included) and every converter is in the
// tables of docs/configuration.md's "Sample expressions", and nothing
// else is.
func TestDocsListSamples(t *testing.T) {
	b, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	names := func(heading string) map[string]bool {
		out := map[string]bool{}
		for _, row := range tableRows(docTable(t, doc, heading)) {
			for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(row[0], -1) {
				name, _, _ := strings.Cut(m[1], "(")
				out[name] = true
			}
		}
		return out
	}
	check := func(kind string, documented map[string]bool, registered []string) {
		t.Helper()
		for _, n := range registered {
			if !documented[n] {
				t.Errorf("%s %s is not documented", kind, n)
			}
			delete(documented, n)
		}
		for n := range documented {
			t.Errorf("docs/configuration.md documents %s %s, which config does not have", kind, n)
		}
	}
	var fetches, convs []string
	for _, s := range Fetches() {
		fetches = append(fetches, s.Name)
	}
	for alias := range fetchAliases {
		fetches = append(fetches, alias)
	}
	for _, s := range Converters() {
		convs = append(convs, s.Name)
	}
	check("sample fetch", names("### Fetches"), fetches)
	check("converter", names("### Converters"), convs)
	if !docAnchors(doc)["where-samples-differ-from-haproxy"] {
		t.Error("docs/configuration.md has no \"Where samples differ from HAProxy\"")
	}
}
