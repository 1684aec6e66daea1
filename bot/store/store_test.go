package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestReadyOnFreshDatabase(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	assert.NoError(t, db.Ready(context.Background()))
}

func TestOpenTwiceKeepsData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	db, err := store.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := db.InsertDelivery(ctx, tx, store.Delivery{ID: "github:1", Source: "github", Event: "ping", Payload: []byte("{}")})
		return err
	}))
	require.NoError(t, db.Close())

	reopened, err := store.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reopened.Close() })
	assert.NoError(t, reopened.Ready(ctx), "ready after reopening")
	total, _, err := reopened.CountDeliveries(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, total, "deliveries after reopening")
}

func TestInsertDeliveryIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	d := store.Delivery{ID: "github:abc", Source: "github", Event: "issues", Action: "edited", InstallationID: 7, Payload: []byte(`{"a":1}`)}

	var inserted []bool
	for _, payload := range []string{`{"a":1}`, `{"a":2}`} {
		d.Payload = []byte(payload)
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			isNew, err := db.InsertDelivery(ctx, tx, d)
			inserted = append(inserted, isNew)
			return err
		}))
	}
	assert.Equal(t, []bool{true, false}, inserted, "insert reports a new row")

	var got store.Delivery
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = db.GetDelivery(ctx, tx, d.ID)
		return err
	}))
	assert.Equal(t, `{"a":1}`, string(got.Payload), "the first payload is kept")
	assert.Equal(t, int64(7), got.InstallationID, "installation id")
	assert.True(t, got.ProcessedAt.IsZero(), "processed before marking")

	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error { return db.MarkProcessed(ctx, tx, d.ID, "handled: command") }))
	total, processed, err := db.CountDeliveries(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, total, "deliveries")
	assert.Equal(t, 1, processed, "processed deliveries")
}

func TestGetDeliveryNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := db.GetDelivery(ctx, tx, "github:missing")
		return err
	})
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func insertRequest(t *testing.T, db *store.DB, target string) (int64, error) {
	t.Helper()
	ctx := context.Background()
	var id int64
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = db.InsertRequest(ctx, tx, store.Request{SOPID: "SOP-02", SOPRevision: "r1", SOPSource: "sop-02.md",
			Target: target, State: "awaiting-review", Params: map[string]string{"model": "m"}, RequesterLogin: "alice",
			Origin: store.Origin{Source: "slack"}})
		return err
	})
	return id, err
}

func setState(t *testing.T, db *store.DB, id int64, state string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error { return db.SetState(ctx, tx, id, state, "") }))
}

func TestOpenTargetUnique(t *testing.T) {
	t.Parallel()
	for _, final := range []string{"done", "rejected", "cancelled"} {
		t.Run(final, func(t *testing.T) {
			t.Parallel()
			db := openDB(t)
			first, err := insertRequest(t, db, "model:m:Production")
			require.NoError(t, err)

			_, err = insertRequest(t, db, "model:m:Production")
			assert.ErrorIs(t, err, store.ErrTargetBusy, "second open request for the target")
			_, err = insertRequest(t, db, "model:m:Staging")
			assert.NoError(t, err, "open request for another target")

			setState(t, db, first, final)
			second, err := insertRequest(t, db, "model:m:Production")
			require.NoError(t, err, "request after the first is %s", final)
			assert.NotEqual(t, first, second, "request ids")
		})
	}
	t.Run("failed keeps target", func(t *testing.T) {
		t.Parallel()
		db := openDB(t)
		first, err := insertRequest(t, db, "model:m:Production")
		require.NoError(t, err)
		setState(t, db, first, "failed")
		_, err = insertRequest(t, db, "model:m:Production")
		assert.ErrorIs(t, err, store.ErrTargetBusy)
	})
}

// appendAudit appends n audit rows to request 1.
func appendAudit(t *testing.T, db *store.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			return db.AppendAudit(ctx, tx, store.AuditEntry{RequestID: 1, Actor: "alice", Action: "item ticked",
				Detail: fmt.Sprintf(`{"item":"s2-%d"}`, i), DeliveryID: fmt.Sprintf("github:%d", i)})
		}))
	}
}

func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		statement string
	}{
		{"update", `UPDATE audit SET detail = 'changed' WHERE id = 1`},
		{"delete", `DELETE FROM audit WHERE id = 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t)
			appendAudit(t, db, 2)

			_, err := db.SQL.ExecContext(ctx, tc.statement)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "audit rows are append-only", "error")

			entries, err := db.Audit(ctx, 0)
			require.NoError(t, err)
			assert.Len(t, entries, 2, "audit rows")
			assert.Equal(t, `{"item":"s2-1"}`, entries[0].Detail, "detail of row 1")
		})
	}
}

func TestAuditChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	appendAudit(t, db, 3)

	entries, err := db.Audit(ctx, 1)
	require.NoError(t, err)
	require.Len(t, entries, 3, "audit rows")
	assert.Equal(t, "0000000000000000000000000000000000000000000000000000000000000000", entries[0].PrevHash, "first row's previous hash")
	for i := 1; i < len(entries); i++ {
		assert.Equal(t, entries[i-1].Hash, entries[i].PrevHash, "row %d links to row %d", entries[i].ID, entries[i-1].ID)
	}
	other, err := db.Audit(ctx, 2)
	require.NoError(t, err)
	assert.Empty(t, other, "rows of another request")
}

func TestVerifyAudit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		tamper  []string
		wantErr string
	}{
		{"clean chain", nil, ""},
		{"row altered", []string{
			`DROP TRIGGER audit_no_update`,
			`UPDATE audit SET detail = '{"item":"s2-9"}' WHERE id = 2`,
		}, "audit row 2: content does not match its hash (the row was altered)"},
		{"actor altered", []string{
			`DROP TRIGGER audit_no_update`,
			`UPDATE audit SET actor = 'mallory' WHERE id = 3`,
		}, "audit row 3: content does not match its hash (the row was altered)"},
		{"row removed", []string{
			`DROP TRIGGER audit_no_delete`,
			`DELETE FROM audit WHERE id = 2`,
		}, "audit row 3: previous-hash link broken (a row before it was altered or removed)"},
		{"first row removed", []string{
			`DROP TRIGGER audit_no_delete`,
			`DELETE FROM audit WHERE id = 1`,
		}, "audit row 2: previous-hash link broken (a row before it was altered or removed)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openDB(t)
			appendAudit(t, db, 3)
			for _, statement := range tc.tamper {
				_, err := db.SQL.ExecContext(ctx, statement)
				require.NoError(t, err, "tampering with %q", statement)
			}

			n, _, err := db.VerifyAudit(ctx)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				assert.Equal(t, 3, n, "rows checked")
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.wantErr, err.Error())
		})
	}
}

func TestVerifyAuditEmpty(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	n, _, err := db.VerifyAudit(context.Background())
	assert.NoError(t, err)
	assert.Zero(t, n, "rows checked")
}

func TestEarlierPendingIDsOrdersBySubject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openDB(t)
	insert := func(id, subject string) {
		require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := db.InsertDelivery(ctx, tx, store.Delivery{ID: id, Source: "github", Event: "issues", Subject: subject, Payload: []byte("{}")})
			return err
		}))
	}
	earlier := func(id, subject string) []string {
		ids, err := db.EarlierPendingIDs(ctx, id, subject)
		require.NoError(t, err)
		return ids
	}
	insert("a", "issue:1")
	insert("b", "issue:2")
	insert("c", "issue:1")
	insert("d", "issue:1")

	assert.Empty(t, earlier("a", "issue:1"), "the first delivery waits for nothing")
	assert.Equal(t, []string{"a", "c"}, earlier("d", "issue:1"), "d comes after a and c, oldest first")
	assert.Empty(t, earlier("b", "issue:2"), "another subject does not wait")
	assert.Empty(t, earlier("c", ""), "no subject, no ordering")

	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error { return db.MarkProcessed(ctx, tx, "a", "handled") }))
	assert.Equal(t, []string{"c"}, earlier("d", "issue:1"), "a is processed")
}
