package certs

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// A Source is one 'crt' or 'crt-list' of a bind line. A 'crt' names a
// certificate file, a directory of them, or a multi-cert bundle; a
// 'crt-list' names a crt-list file.
type Source struct {
	Path string
	List bool // a crt-list file
}

// Options are the settings of the configuration that bear on loading and
// choosing certificates.
type Options struct {
	// CrtBase is the global 'crt-base': the directory a relative crt path
	// or crt-list line is read from. It does not apply to the path of a
	// crt-list file itself, as in HAProxy.
	CrtBase string
	// CABase is the global 'ca-base': the directory a relative ca-file,
	// ca-verify-file or crl-file between a crt-list line's brackets is
	// read from.
	CABase string
	// StrictSNI is the bind's 'strict-sni': no default certificate.
	StrictSNI bool
	// Skip are the files not read, from the global
	// 'ssl-load-extra-files' (HAProxy's default, all, skips none).
	Skip Sidecars
}

// Sidecars are the files HAProxy reads beside a certificate file, and
// its multi-cert bundles.
type Sidecars uint8

const (
	SidecarBundle Sidecars = 1 << iota // NAME.rsa, NAME.ecdsa, NAME.dsa
	SidecarSCTL                        // NAME.sctl
	SidecarOCSP                        // NAME.ocsp
	SidecarIssuer                      // NAME.issuer
	SidecarKey                         // NAME.key
)

// A Cert is a certificate as the store serves it: one per certificate
// file of a crt, one per crt-list line (or per member of the bundle the
// line names).
type Cert struct {
	Path string // the certificate file
	// List and Line locate the crt-list line it comes from, if any.
	List string
	Line int
	// Names are the server names it is chosen for, as the index keys them
	// (lower case, without a trailing dot; "*.example.com" for a
	// wildcard): its DNS names and common names, or its crt-list line's
	// filters.
	Names []string
	// Excluded are the names its crt-list line's negative filters exclude.
	Excluded []string
	// Options are its crt-list line's bracketed options, with ca-base
	// applied to the paths of ca-file, ca-verify-file and crl-file.
	Options  []string
	KeyType  KeyType
	NotAfter time.Time
	Leaf     *x509.Certificate

	f        *loaded
	excluded map[string]bool
	bundle   int // its multi-cert bundle, numbered from 1, or 0
}

// where is the place a warning about c names.
func (c *Cert) where() (string, int) {
	if c.List != "" {
		return c.List, c.Line
	}
	return c.Path, 0
}

// excludes reports whether a negative filter of c's crt-list line
// excludes name.
func (c *Cert) excludes(name string) bool { return c.excluded != nil && c.excluded[name] }

// TLS is what c serves now: its chain and key, and its OCSP staple while
// it holds. A client certificate for servers is one.
func (c *Cert) TLS() *tls.Certificate { return c.served(time.Now) }

// served is what is served for c at now: its OCSP staple only until
// shortly before the response's nextUpdate, as HAProxy stops stapling
// (ssl_sock_ocsp_stapling_cbk).
func (c *Cert) served(now func() time.Time) *tls.Certificate {
	if c.f.bare != nil && !now().Before(c.f.expire) {
		return c.f.bare
	}
	return c.f.cert
}

// A Store holds the certificates of a bind line and chooses one per
// handshake. It is read-only once loaded, and safe for concurrent use.
type Store struct {
	certs    []*Cert
	exact    map[string][]*Cert // by name
	wild     map[string][]*Cert // by what follows the '*' of a wildcard: ".example.com"
	defaults []*Cert
	strict   bool
	now      func() time.Time
}

// ErrNoCertificate is what GetCertificate returns under strict-sni when
// no certificate has the client's server name, or the client sent none.
//
// crypto/tls answers any error from GetCertificate with an
// internal_error alert, where HAProxy sends unrecognized_name. To send
// unrecognized_name, leave tls.Config.Certificates empty and return
// (nil, nil) for this error: crypto/tls then has no certificate, and says
// so with that alert.
var ErrNoCertificate = errors.New("no certificate for the server name (strict-sni)")

// Load reads the certificates of a bind line's sources, in order, and
// indexes them by name. The first certificate loaded is the default one.
// The warnings are worth showing even with an error.
func Load(sources []Source, opts Options) (*Store, []Warning, error) {
	l := newLoader(time.Now())
	l.skip = opts.Skip
	var certs []*Cert
	for _, src := range sources {
		var cs []*Cert
		var err error
		if src.List {
			cs, err = l.list(src.Path, opts)
		} else {
			cs, err = l.plain(resolve(opts.CrtBase, src.Path))
		}
		if err != nil {
			return nil, l.w.list, err
		}
		certs = append(certs, cs...)
	}
	if len(certs) == 0 {
		var names []string
		for _, src := range sources {
			names = append(names, src.Path)
		}
		return nil, l.w.list, fmt.Errorf("no certificate to serve: %s hold none", strings.Join(names, ", "))
	}
	s := &Store{
		certs:  certs,
		exact:  map[string][]*Cert{},
		wild:   map[string][]*Cert{},
		strict: opts.StrictSNI,
		now:    time.Now,
	}
	s.index(&l.w)
	return s, l.w.list, nil
}

// resolve applies a crt-base or ca-base: a relative path is read from
// base, an absolute one as it is.
func resolve(base, path string) string {
	if base == "" || strings.HasPrefix(path, "/") {
		return path
	}
	return strings.TrimSuffix(base, "/") + "/" + path
}

// plain loads a 'crt': its certificates are chosen by their own names.
func (l *loader) plain(path string) ([]*Cert, error) {
	ms, err := l.crt(path)
	if err != nil {
		return nil, err
	}
	var out []*Cert
	for _, m := range ms {
		out = append(out, newCert(m, m.f.names))
	}
	return out, nil
}

func newCert(m member, names []string) *Cert {
	return &Cert{
		Path:     m.f.path,
		Names:    names,
		KeyType:  m.f.keyType,
		NotAfter: m.f.leaf.NotAfter,
		Leaf:     m.f.leaf,
		f:        m.f,
		bundle:   m.bundle,
	}
}

// list loads a crt-list file. Its lines' paths are read from crt-base;
// the file's own path is not, as in HAProxy.
func (l *loader) list(path string, opts Options) ([]*Cert, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the crt-list: %w", err)
	}
	entries, ws, err := ParseCrtList(path, data)
	l.w.list = append(l.w.list, ws...)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		l.w.add(path, 0, "the crt-list names no certificate")
	}
	var out []*Cert
	for _, e := range entries {
		ms, err := l.listLine(resolve(opts.CrtBase, e.Path))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, e.Line, err)
		}
		names, excluded := filterNames(e.Filters)
		for _, m := range ms {
			c := newCert(m, names)
			if names == nil {
				c.Names = m.f.names
			}
			c.List, c.Line = path, e.Line
			c.Options = caPaths(e.Options, opts.CABase)
			if len(excluded) > 0 {
				c.excluded = map[string]bool{}
				for _, n := range excluded {
					c.excluded[n] = true
				}
				c.Excluded = excluded
				c.Names = slices.DeleteFunc(slices.Clone(c.Names), c.excludes)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// listLine loads the file of a crt-list line: a certificate file or a
// multi-cert bundle, not a directory (HAProxy fails to read one there).
func (l *loader) listLine(path string) ([]member, error) {
	st, err := os.Stat(path)
	if err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory: a crt-list line names a certificate file (load a directory with 'crt')", path)
	}
	return l.crt(path)
}

// filterNames turns a crt-list line's filters into the names its
// certificate is chosen for and those it is not. With a positive filter,
// the positive filters are its names, in place of the certificate's own
// (names is not nil). With negative filters only, the certificate keeps
// its own names (names is nil) less the excluded ones, as HAProxy's
// documentation describes; '!*' alone leaves it none, so that it serves
// only as the default. (HAProxy 2.6's code gives a certificate with only
// negative filters no names at all.) Filters that match nothing, of
// which ParseCrtList warned, are dropped.
func filterNames(fs []Filter) (names, excluded []string) {
	none := false
	for _, f := range fs {
		n := normName(f.Name)
		switch {
		case f.Negative && n == "*":
			none = true
		case f.Negative && !f.Wildcard() && n != "":
			excluded = append(excluded, n)
		case !f.Negative && (!f.Wildcard() && n != "" || strings.HasPrefix(n, "*.") && len(n) > 2):
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if none && names == nil {
		names = []string{}
	}
	return names, excluded
}

// caPaths applies ca-base to the paths among a crt-list line's options.
func caPaths(opts []string, base string) []string {
	if base == "" {
		return opts
	}
	out := slices.Clone(opts)
	for i := 0; i+1 < len(out); i++ {
		switch out[i] {
		case "ca-file", "ca-verify-file", "crl-file":
			out[i+1] = resolve(base, out[i+1])
			i++
		}
	}
	return out
}

// rank orders key types as HAProxy prefers them for a client that can use
// several: ECDSA, then RSA, then the others (ssl_sock_switchctx_cbk).
func rank(k KeyType) int {
	switch k {
	case KeyECDSA:
		return 0
	case KeyRSA:
		return 1
	}
	return 2
}

// index builds the name maps and the defaults.
func (s *Store) index(w *warnings) {
	add := func(m map[string][]*Cert, key, name string, c *Cert) {
		for _, o := range m[key] {
			if o.f == c.f {
				return // the same file again: the first line's wins, as in HAProxy
			}
		}
		for _, o := range m[key] {
			if o.KeyType == c.KeyType {
				file, line := c.where()
				w.add(file, line, "%s is also a name of %s, loaded before with a key of the same type (%s): that one is served for it (this one only to clients that cannot use it)", name, o.Path, c.KeyType)
				break
			}
		}
		m[key] = append(m[key], c)
	}
	for _, c := range s.certs {
		for _, n := range c.Names {
			if strings.HasPrefix(n, "*.") {
				add(s.wild, n[1:], n, c)
			} else {
				add(s.exact, n, n, c)
			}
		}
	}
	byRank := func(a, b *Cert) int { return rank(a.KeyType) - rank(b.KeyType) }
	for _, l := range s.exact {
		slices.SortStableFunc(l, byRank)
	}
	for _, l := range s.wild {
		slices.SortStableFunc(l, byRank)
	}

	// The default is the first certificate, and with it the other
	// members of its multi-cert bundle, to choose from by key type as for
	// a name: HAProxy since 3.0 makes a whole bundle the default (2.6
	// takes its first member alone, which RSA-only clients then fail to
	// use).
	first := s.certs[0]
	s.defaults = []*Cert{first}
	for _, c := range s.certs[1:] {
		if first.bundle != 0 && c.bundle == first.bundle {
			s.defaults = append(s.defaults, c)
		}
	}
	slices.SortStableFunc(s.defaults, byRank)

	for _, c := range s.certs {
		if len(c.Names) == 0 && !slices.Contains(s.defaults, c) {
			file, line := c.where()
			w.add(file, line, "the certificate for %s is never served: it has no name to be chosen by (its filters exclude all, or it has no DNS name nor CN), and it is not the default", describe(c.Leaf))
		}
	}
}

// GetCertificate chooses the certificate for a handshake, as
// tls.Config.GetCertificate. With HAProxy's rules:
//
//   - The server name is compared without regard to case or a trailing
//     dot, with the certificates' names or crt-list filters.
//   - A certificate with the exact name comes before one with a matching
//     wildcard; "*.example.com" matches one label: a.example.com, not
//     example.com nor a.b.example.com.
//   - A name excluded by a negative filter of a certificate's crt-list
//     line does not match that certificate.
//   - Among the certificates for the name, the first the client can use
//     (tls.ClientHelloInfo.SupportsCertificate) is chosen, ECDSA before
//     RSA before the others, then in load order; if the client can use
//     none, the first.
//   - Without a server name, or when none matches, the default
//     certificate, unless strict-sni is set: then ErrNoCertificate.
//
// It allocates nothing when one certificate has the name.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.choose(hello)
	if c == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoCertificate, hello.ServerName)
	}
	return c.served(s.now), nil
}

func (s *Store) choose(hello *tls.ClientHelloInfo) *Cert {
	if name := hello.ServerName; name != "" {
		name = normName(name)
		var wild []*Cert
		if i := strings.IndexByte(name, '.'); i > 0 {
			wild = s.wild[name[i:]]
		}
		if c := pick(hello, name, s.exact[name], wild); c != nil {
			return c
		}
	}
	if s.strict {
		return nil
	}
	return pick(hello, "", s.defaults, nil)
}

// pick chooses among the exact candidates, then the wildcard ones, the
// first the client can use; or, if it can use none, the first.
func pick(hello *tls.ClientHelloInfo, name string, exact, wild []*Cert) *Cert {
	var first *Cert
	n := 0
	for _, l := range [2][]*Cert{exact, wild} {
		for _, c := range l {
			if !c.excludes(name) {
				if first == nil {
					first = c
				}
				n++
			}
		}
	}
	if n <= 1 {
		return first
	}
	// The certificate may be chosen by a crt-list filter it does not
	// carry, or be the default: SupportsCertificate must not check the
	// server name against it, only what the client can use.
	h := *hello
	h.ServerName = ""
	for _, l := range [2][]*Cert{exact, wild} {
		for _, c := range l {
			if !c.excludes(name) && h.SupportsCertificate(c.f.cert) == nil {
				return c
			}
		}
	}
	return first
}

// Default is the default certificate: the first loaded.
func (s *Store) Default() *Cert { return s.certs[0] }

// Certs are the store's certificates, in load order.
func (s *Store) Certs() []*Cert { return s.certs }

// Names are the server names the store chooses a certificate by, sorted.
func (s *Store) Names() []string {
	var out []string
	for n := range s.exact {
		out = append(out, n)
	}
	for n := range s.wild {
		out = append(out, "*"+n)
	}
	slices.Sort(out)
	return out
}
