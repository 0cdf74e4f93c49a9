package sysctl

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces path with data, mode perm: it writes a
// temporary file beside path, flushes it to disk and renames it over path,
// so that a reader, or a crash, finds the old file or the new one, never
// part of one. The temporary file is created with O_EXCL and the rename
// replaces whatever entry path is (a symlink included) without following
// it. Errors name the file and the step that failed.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create a temporary file beside %s: %w", path, bare(err))
	}
	tmp := f.Name()
	// Fails harmlessly once renamed.
	defer os.Remove(tmp)
	step := "write"
	_, err = f.Write(data)
	if err == nil {
		// CreateTemp makes the file 0600 whatever the umask; Chmod sets
		// perm exactly, umask or not.
		step, err = "chmod", f.Chmod(perm)
	}
	if err == nil {
		step, err = "fsync", f.Sync()
	}
	if cerr := f.Close(); err == nil {
		step, err = "close", cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", step, tmp, bare(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, path, bare(err))
	}
	return nil
}
