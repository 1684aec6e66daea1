package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// LockServe takes an exclusive lock on the file path+".lock" until release
// is called or the process ends. The process that works the queue holds
// it because it requeues, as it starts, the jobs left running. A second
// process on the same database would run the first one's jobs again. The
// kernel drops the lock when the process dies, so a killed process leaves
// nothing behind. An in-memory database needs no lock.
func LockServe(path string) (release func() error, err error) {
	if path == ":memory:" {
		return func() error { return nil }, nil
	}
	// SQLite follows symbolic links to name the database's -wal and -shm
	// files, so the lock is named after the same real path.
	resolved, err := realPath(path)
	if err != nil {
		return nil, err
	}
	lockPath := resolved + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s: %w", lockPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("database %s is in use by another sopbot process (it holds %s): stop that process, or give this one its own database", path, lockPath)
		}
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	return f.Close, nil
}

// maxSymlinks is the number of symbolic links realPath follows before it
// reports a loop. Linux stops path lookup at the same count.
const maxSymlinks = 40

// realPath returns the database path with every symbolic link resolved. The database
// file may not exist yet, and then only its directory is resolved. A
// dangling link is followed to its target, because SQLite (as built into
// modernc.org/sqlite) creates the database and its WAL there.
func realPath(database string) (string, error) {
	path := database
	for range maxSymlinks {
		resolved, err := filepath.EvalSymlinks(path)
		if err == nil {
			return resolved, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolving database path %s: %w", path, err)
		}
		dir, err := filepath.EvalSymlinks(filepath.Dir(path))
		if err != nil {
			return "", fmt.Errorf("resolving the directory of database %s: %w", path, err)
		}
		path = filepath.Join(dir, filepath.Base(path))
		target, err := os.Readlink(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			// EINVAL: path is no link, so it was created after EvalSymlinks
			// ran, and the next round resolves it.
			if errors.Is(err, syscall.EINVAL) {
				continue
			}
			return "", fmt.Errorf("resolving database path %s: %w", path, err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dir, target)
		}
		path = target
	}
	return "", fmt.Errorf("resolving database path %s: too many levels of symbolic links", database)
}
