package sysctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir, path string) // what is at path before
		perm    os.FileMode
		wantErr string // "": written
	}{
		{"a new file gets the mode asked for", func(*testing.T, string, string) {}, 0o644, ""},
		{"an existing file is replaced", func(t *testing.T, _, path string) {
			if err := os.WriteFile(path, []byte("old, and longer than the new content\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 0o640, ""},
		{"a symlink is replaced, not followed", func(t *testing.T, dir, path string) {
			target := filepath.Join(dir, "target")
			if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}, 0o644, ""},
		{"a directory that does not exist names the file", func(t *testing.T, _, _ string) {}, 0o644, "create a temporary file beside DIR/no/such/file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "file")
			if tt.wantErr != "" {
				path = filepath.Join(dir, "no", "such", "file")
			}
			tt.setup(t, dir, path)
			err := WriteFileAtomic(path, []byte("new\n"), tt.perm)
			if tt.wantErr != "" {
				if want := strings.ReplaceAll(tt.wantErr, "DIR", dir); err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); string(b) != "new\n" || !fi.Mode().IsRegular() || fi.Mode().Perm() != tt.perm {
				t.Errorf("%s holds %q, mode %v; want a regular file holding %q, mode %v", path, b, fi.Mode(), "new\n", tt.perm)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "target")); err == nil && string(b) != "keep\n" {
				t.Errorf("the symlink's target was written: %q", b)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}
