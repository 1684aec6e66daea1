package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot/store"
)

func newDBCommand() *cobra.Command {
	var database string
	cmd := &cobra.Command{Use: "db", Short: "Maintain the bot's database"}
	cmd.PersistentFlags().StringVar(&database, "database", "sopbot.db", "path of the SQLite database")
	cmd.AddCommand(&cobra.Command{
		Use:   "backup PATH",
		Short: "Write a consistent copy of the database to PATH while the bot runs",
		Args:  exactArgs("PATH, the new file to write the backup to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := backup(cmd.Context(), database, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backed up %s to %s\n", database, args[0])
			return nil
		},
	})
	return cmd
}

// backup copies a live database: it opens it read-only, so it needs no
// lock beyond SQLite's snapshot, and checks that the source is sopbot's.
func backup(ctx context.Context, database, target string) error {
	db, err := store.OpenExisting(ctx, database)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := checkBackupDir(target); err != nil {
		return err
	}
	if err := db.Backup(ctx, target); err != nil {
		return err
	}
	copyDB, err := sql.Open("sqlite", "file:"+target+"?mode=ro")
	if err != nil {
		return err
	}
	defer copyDB.Close()
	var check string
	if err := copyDB.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		_ = os.Remove(target)
		return fmt.Errorf("the copy at %s failed its integrity check (%s, %v) and was removed", target, check, err)
	}
	return nil
}

// checkBackupDir checks that the directory of target exists, because
// SQLite reports a missing one only as "unable to open database file".
func checkBackupDir(target string) error {
	dir := filepath.Dir(target)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("backing up to %s: directory %s does not exist; create it or choose another path", target, dir)
	case err != nil:
		return fmt.Errorf("backing up to %s: %w", target, err)
	case !info.IsDir():
		return fmt.Errorf("backing up to %s: %s is not a directory; choose another path", target, dir)
	}
	return nil
}
