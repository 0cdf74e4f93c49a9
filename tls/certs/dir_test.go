package certs

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func memberPaths(ms []member) string {
	var out []string
	for _, m := range ms {
		out = append(out, filepath.Base(m.f.path))
	}
	return strings.Join(out, " ")
}

// TestCrtDirectory: a directory loads its files in byte-wise lexical
// order, skipping dot files, sidecars and what is not a regular file, as
// HAProxy's crtlist_load_cert_dir does; the sidecars still serve their
// certificate.
func TestCrtDirectory(t *testing.T) {
	p := testPKI(t)
	dir := t.TempDir()
	a := p.leaf(t, ecKey, "a.example.com")
	writeFile(t, filepath.Join(dir, "a.pem"), certPEM(a))
	writeFile(t, filepath.Join(dir, "a.pem.key"), keyPEM(t, a.key, pkcs8))
	for _, name := range []string{"B.pem", "10.pem", "9.pem", "z"} {
		writeFile(t, filepath.Join(dir, name), p.bundlePEM(t, p.leaf(t, ecKey, strings.ToLower(name)+".example.com")))
	}
	writeFile(t, filepath.Join(dir, "z.sctl"), sctList([]byte("sct")))
	// Neither certificates nor sidecars of a certificate: loading them
	// would fail, so skipping them is what the test sees.
	for _, name := range []string{".hidden.pem", ".git", "orphan.key", "orphan.ocsp", "orphan.issuer", "orphan.sctl"} {
		writeFile(t, filepath.Join(dir, name), []byte("not a certificate"))
	}
	writeFile(t, filepath.Join(dir, "sub.pem", "inner.pem"), []byte("not read: subdirectories are not"))
	if err := os.Symlink("B.pem", filepath.Join(dir, "link.pem")); err != nil {
		t.Fatal(err)
	}

	l := newLoader(time.Now())
	ms, err := l.crt(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := memberPaths(ms), "10.pem 9.pem B.pem a.pem link.pem z"; got != want {
		t.Fatalf("loaded %q, want %q", got, want)
	}
	if ms[3].f.cert.PrivateKey == nil {
		t.Error("a.pem has no key: a.pem.key was not read")
	}
	if len(ms[5].f.cert.SignedCertificateTimestamps) != 1 {
		t.Error("z.sctl was not read for z")
	}
	if len(l.w.list) != 0 {
		t.Errorf("warnings %q", l.w.list)
	}

	// A trailing slash does not double in the paths messages show.
	ms, err = newLoader(time.Now()).crt(dir + "/")
	if err != nil || ms[0].f.path != filepath.Join(dir, "10.pem") {
		t.Fatalf("with a trailing slash: %v, %v", memberPaths(ms), err)
	}
}

// TestCrtDirectoryErrors: a file in the directory that is not a
// certificate is an error naming it, as in HAProxy; so is an entry that
// cannot be followed. An empty directory is a warning.
func TestCrtDirectoryErrors(t *testing.T) {
	p := testPKI(t)
	t.Run("not a certificate", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.pem"), p.bundlePEM(t, p.leaf(t, ecKey, "a.example.com")))
		writeFile(t, filepath.Join(dir, "README"), []byte("certificates for the site"))
		_, err := newLoader(time.Now()).crt(dir)
		wantErr(t, err, filepath.Join(dir, "README")+": the file holds no PEM block")
	})
	t.Run("dangling link", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Symlink("gone.pem", filepath.Join(dir, "a.pem")); err != nil {
			t.Fatal(err)
		}
		_, err := newLoader(time.Now()).crt(dir)
		wantErr(t, err, "cannot load the certificate: stat "+filepath.Join(dir, "a.pem")+": no such file or directory")
	})
	t.Run("empty", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, ".keep"), nil)
		l := newLoader(time.Now())
		ms, err := l.crt(dir)
		if err != nil || len(ms) != 0 {
			t.Fatalf("%d members, %v", len(ms), err)
		}
		wantWarning(t, l.w.list, dir, "the directory holds no certificate file")
	})
}

// TestMultiCertBundle: 'crt site.pem' where site.pem does not exist loads
// site.pem.dsa, .ecdsa and .rsa, those that exist, each with its own
// sidecars, as members of one bundle.
func TestMultiCertBundle(t *testing.T) {
	p := testPKI(t)
	ec := p.leaf(t, ecKey, "www.example.com")
	rs := p.leaf(t, rsaKind, "www.example.com")
	dsa := cat(certPEM(ec), pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: []byte{0x30, 0}}))
	tests := []struct {
		name    string
		files   map[string][]byte
		want    string
		warning string
		err     string
	}{
		{
			name:  "ecdsa and rsa",
			files: map[string][]byte{"site.pem.rsa": cat(certPEM(rs), certPEM(p.inter)), "site.pem.rsa.key": keyPEM(t, rs.key, pkcs1), "site.pem.ecdsa": p.bundlePEM(t, ec)},
			want:  "site.pem.ecdsa site.pem.rsa",
		},
		{name: "rsa alone", files: map[string][]byte{"site.pem.rsa": p.bundlePEM(t, rs)}, want: "site.pem.rsa"},
		{
			name:    "dsa member skipped",
			files:   map[string][]byte{"site.pem.dsa": dsa, "site.pem.rsa": p.bundlePEM(t, rs)},
			want:    "site.pem.rsa",
			warning: "not loaded: ",
		},
		{name: "dsa alone", files: map[string][]byte{"site.pem.dsa": dsa}, err: "%s.dsa: block 2 (DSA PRIVATE KEY): DSA keys are not supported"},
		{name: "the file itself wins", files: map[string][]byte{"site.pem": p.bundlePEM(t, ec), "site.pem.rsa": []byte("not read")}, want: "site.pem"},
		{name: "nothing", files: map[string][]byte{"site.pem.RSA": []byte("wrong case")}, err: "cannot load the certificate: stat %s: no such file or directory (nor is there a multi-cert bundle %s.rsa, .ecdsa or .dsa)"},
		{name: "broken member", files: map[string][]byte{"site.pem.ecdsa": certPEM(ec)}, err: "%s.ecdsa: no private key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				writeFile(t, filepath.Join(dir, name), data)
			}
			path := filepath.Join(dir, "site.pem")
			l := newLoader(time.Now())
			ms, err := l.crt(path)
			if tc.err != "" {
				wantErr(t, err, strings.ReplaceAll(tc.err, "%s", path))
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := memberPaths(ms); got != tc.want {
				t.Fatalf("loaded %q, want %q", got, tc.want)
			}
			for _, m := range ms {
				if want := 1; strings.HasSuffix(m.f.path, "site.pem") {
					want = 0
					if m.bundle != want {
						t.Errorf("%s is in bundle %d", m.f.path, m.bundle)
					}
				} else if m.bundle != want {
					t.Errorf("%s is in bundle %d, want %d", m.f.path, m.bundle, want)
				}
			}
			if tc.warning != "" {
				wantWarning(t, l.w.list, path+".dsa", tc.warning, "DSA keys are not supported", "the other members of the bundle "+path+" are")
			} else if len(l.w.list) > 0 {
				t.Errorf("warnings %q", l.w.list)
			}
		})
	}
}

// TestFileReadOnce: a file named twice is read once, and warned of once.
func TestFileReadOnce(t *testing.T) {
	p := testPKI(t)
	expired := issue(t, p.inter, certSpec{cn: "old.example.com", notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	path := writeFile(t, filepath.Join(t.TempDir(), "old.pem"), p.bundlePEM(t, expired))
	l := newLoader(time.Now())
	a, err := l.crt(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.crt(path)
	if err != nil {
		t.Fatal(err)
	}
	if a[0].f != b[0].f {
		t.Error("the file was read twice")
	}
	if len(l.w.list) != 1 {
		t.Errorf("warnings %q, want one", l.w.list)
	}
}
