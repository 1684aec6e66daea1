package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

// newDatabase creates a migrated, empty database and returns its path.
func newDatabase(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	return path
}

func TestDBBackupMissingDirectory(t *testing.T) {
	database := newDatabase(t)
	dir := filepath.Join(t.TempDir(), "backups")
	target := filepath.Join(dir, "bot.db")

	_, _, err := runCLI(t, "db", "backup", "--database", database, target)
	require.Error(t, err)
	assert.Equal(t, "backing up to "+target+": directory "+dir+" does not exist; create it or choose another path", err.Error())

	require.NoError(t, os.Mkdir(dir, 0o700))
	out, _, err := runCLI(t, "db", "backup", "--database", database, target)
	require.NoError(t, err)
	assert.Equal(t, "backed up "+database+" to "+target+"\n", out)
}

func TestDBBackupParentIsFile(t *testing.T) {
	database := newDatabase(t)
	_, _, err := runCLI(t, "db", "backup", "--database", database, filepath.Join(database, "copy.db"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), database+" is not a directory")
}
