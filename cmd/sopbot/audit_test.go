package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

func appendRows(t *testing.T, path string, n int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	for i := 0; i < n; i++ {
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			return db.AppendAudit(ctx, tx, store.AuditEntry{Actor: "sopbot", Action: "test row", Detail: fmt.Sprint(i)})
		})
		require.NoError(t, err)
	}
}

func verify(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newAuditCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"verify"}, args...))
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

var headHash = regexp.MustCompile(`hash ([0-9a-f]{64})`)

func TestAuditVerifyExpectHeadAcceptsGrowth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.db")
	appendRows(t, path, 3)
	out, err := verify(t, "--database", path)
	require.NoError(t, err)
	m := headHash.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	earlier := m[1]

	appendRows(t, path, 2)
	_, err = verify(t, "--database", path, "--expect-head", earlier[:16])
	assert.NoError(t, err, "rows added since the earlier verify keep its head in the chain")

	_, err = verify(t, "--database", path, "--expect-head", earlier[:4])
	assert.ErrorContains(t, err, "too short")

	_, err = verify(t, "--database", path, "--expect-head", "0123456789abcdef")
	assert.ErrorContains(t, err, "no row has the hash 0123456789abcdef")
}
