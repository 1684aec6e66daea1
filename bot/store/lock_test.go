package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockServeOneHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sopbot.db")
	release, err := LockServe(path)
	require.NoError(t, err)

	_, err = LockServe(path)
	require.Error(t, err, "a second holder is rejected")
	assert.Contains(t, err.Error(), "database "+path+" is in use by another sopbot process (it holds "+path+".lock)")

	require.NoError(t, release())
	again, err := LockServe(path)
	require.NoError(t, err, "the lock is free once released")
	require.NoError(t, again())
}

func TestLockServeThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sopbot.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	link := filepath.Join(dir, "link.db")
	require.NoError(t, os.Symlink(path, link))
	release, err := LockServe(path)
	require.NoError(t, err)
	defer release()

	_, err = LockServe(link)
	require.Error(t, err, "a symbolic link names the same database")
	assert.Contains(t, err.Error(), "(it holds "+path+".lock)")
}

func TestLockServeMemoryDatabase(t *testing.T) {
	first, err := LockServe(":memory:")
	require.NoError(t, err)
	second, err := LockServe(":memory:")
	require.NoError(t, err, "in-memory databases are not shared")
	require.NoError(t, first())
	require.NoError(t, second())
}

func TestLockServeThroughDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sopbot.db")
	link := filepath.Join(dir, "link.db")
	require.NoError(t, os.Symlink("sopbot.db", link))
	release, err := LockServe(link)
	require.NoError(t, err)
	defer release()

	// SQLite follows a dangling link and creates the file at its target.
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err = LockServe(path)
	require.Error(t, err, "a dangling link names the database it will create")
	assert.Contains(t, err.Error(), "(it holds "+path+".lock)")
}

func TestLockServeSymlinkLoop(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "loop.db")
	require.NoError(t, os.Symlink("loop.db", link))
	_, err := LockServe(link)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resolving database path "+link)
}
