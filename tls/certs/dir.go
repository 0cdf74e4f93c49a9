package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// loader reads the files a bind line names, each once: a file named by
// several crt or crt-list lines is one certificate, as in HAProxy's
// ckch_store tree.
type loader struct {
	now     time.Time
	skip    Sidecars // the files not read ('ssl-load-extra-files')
	w       warnings
	files   map[string]*loaded
	bundles int // multi-cert bundles seen, to number them
}

func newLoader(now time.Time) *loader {
	return &loader{now: now, files: map[string]*loaded{}}
}

// member is a file one crt or crt-list line loaded. bundle numbers the
// multi-cert bundle it belongs to (from 1), or is 0.
type member struct {
	f      *loaded
	bundle int
}

func (l *loader) file(path string) (*loaded, error) {
	if f, ok := l.files[path]; ok {
		return f, nil
	}
	f, err := loadFile(path, l.now, l.skip, &l.w)
	if err != nil {
		return nil, err
	}
	l.files[path] = f
	return f, nil
}

// bundleExts are the multi-cert bundle suffixes, in the order HAProxy
// tries them (SSL_SOCK_KEYTYPE_NAMES in src/ssl_sock.c).
var bundleExts = []string{"dsa", "ecdsa", "rsa"}

// crt loads what a 'crt' names (ssl_sock_load_cert in src/ssl_sock.c):
// a file; every file of a directory; or, when nothing has that name, the
// members of a multi-cert bundle: path.dsa, path.ecdsa and path.rsa, each
// a certificate file of its own, since HAProxy 2.3.
func (l *loader) crt(path string) ([]member, error) {
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return l.dir(path)
	case err == nil:
		f, err := l.file(path)
		if err != nil {
			return nil, err
		}
		return []member{{f: f}}, nil
	case !errors.Is(err, fs.ErrNotExist) || l.skip&SidecarBundle != 0:
		return nil, fmt.Errorf("cannot load the certificate: %w", err)
	}
	return l.bundle(path, err)
}

// bundle loads the members of the multi-cert bundle path; notFound is
// why path itself could not be read.
func (l *loader) bundle(path string, notFound error) ([]member, error) {
	var out []member
	var dsa error
	n := l.bundles + 1
	for _, ext := range bundleExts {
		p := path + "." + ext
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("cannot load the certificate: %w", err)
		}
		f, err := l.file(p)
		if errors.Is(err, errDSA) {
			// HAProxy loads a DSA member; Go's TLS cannot serve it, and
			// no current client would choose it over the others.
			dsa = err
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, member{f: f, bundle: n})
	}
	switch {
	case len(out) == 0 && dsa != nil:
		return nil, dsa
	case len(out) == 0:
		return nil, fmt.Errorf("cannot load the certificate: %w (nor is there a multi-cert bundle %s.rsa, .ecdsa or .dsa)", notFound, path)
	case dsa != nil:
		l.w.add(path+".dsa", 0, "not loaded: %v; the other members of the bundle %s are", dsa, path)
	}
	l.bundles = n
	return out, nil
}

// dir loads every certificate file of a directory, in lexical order, as
// HAProxy does (crtlist_load_cert_dir in src/ssl_crtlist.c): it skips
// names that start with a dot, names whose last extension is one of the
// sidecars' (.key, .ocsp, .issuer, .sctl), and whatever is not a regular
// file once symbolic links are followed. It does not look for multi-cert
// bundles: since HAProxy 2.3 their members load as files of their own.
// A directory without certificates is no error (the caller decides).
func (l *loader) dir(path string) ([]member, error) {
	ents, err := os.ReadDir(path) // sorted by name, byte-wise: alphasort in HAProxy's C locale
	if err != nil {
		return nil, fmt.Errorf("cannot read the certificate directory: %w", err)
	}
	var out []member
	for _, e := range ents {
		name := e.Name()
		if skipInDir(name) {
			continue
		}
		p := strings.TrimSuffix(path, "/") + "/" + name
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("cannot load the certificate: %w", err)
		}
		if !st.Mode().IsRegular() {
			continue
		}
		f, err := l.file(p)
		if err != nil {
			return nil, err
		}
		out = append(out, member{f: f})
	}
	if len(out) == 0 {
		l.w.add(path, 0, "the directory holds no certificate file")
	}
	return out, nil
}

// skipInDir reports whether a directory entry is not a certificate file
// of its own.
func skipInDir(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return false
	}
	switch name[i:] {
	case extKey, extOCSP, extIssuer, extSCTL:
		return true
	}
	return false
}
