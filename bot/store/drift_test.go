package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
)

func score(model, feature string, psi float64, drifted bool) store.DriftScore {
	return store.DriftScore{Model: model, Feature: feature, PSI: &psi, Drifted: drifted}
}

func insertScores(t *testing.T, db *store.DB, at time.Time, scores ...store.DriftScore) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error { return db.InsertDriftScores(ctx, tx, at, scores) }))
}

func TestDriftScoresRoundTrip(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	ks, p := 0.3, 0.001
	full := store.DriftScore{Model: "fraud", Feature: "tokens", KS: &ks, KSPValue: &p, Drifted: true, RequestID: 4}
	insertScores(t, db, day, full, store.DriftScore{Model: "fraud", Feature: "amount", RequestID: 4})

	got, err := db.RequestDriftScores(ctx, db.SQL, 4)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "tokens", got[0].Feature)
	assert.Equal(t, 0.3, *got[0].KS)
	assert.Equal(t, 0.001, *got[0].KSPValue)
	assert.Nil(t, got[0].PSI, "a missing score stays missing")
	assert.True(t, got[0].Drifted)
	assert.True(t, got[0].ReportedAt.Equal(day))
	assert.Nil(t, got[1].KS)
	assert.False(t, got[1].Drifted)

	none, err := db.RequestDriftScores(ctx, db.SQL, 5)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestLatestDriftScoresPerModel(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	insertScores(t, db, day, score("fraud", "tokens", 0.1, false), score("fraud", "amount", 0.1, false))
	insertScores(t, db, day.Add(time.Hour), score("fraud", "tokens", 0.4, true))
	insertScores(t, db, day, score("churn", "tenure", 0.05, false))

	latest, err := db.LatestDriftScores(ctx)
	require.NoError(t, err)
	require.Len(t, latest, 2, "the newest report of each model")
	assert.Equal(t, "churn", latest[0].Model)
	assert.Equal(t, "fraud", latest[1].Model)
	assert.Equal(t, 0.4, *latest[1].PSI)

	fraud, err := db.LatestModelDriftScores(ctx, db.SQL, "fraud")
	require.NoError(t, err)
	require.Len(t, fraud, 1)
	assert.True(t, fraud[0].Drifted)

	first, ok, err := db.FirstDriftReport(ctx, db.SQL, "fraud")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, first.Equal(day))
	_, ok, err = db.FirstDriftReport(ctx, db.SQL, "unknown")
	require.NoError(t, err)
	assert.False(t, ok, "no report, no time")
}

func TestLastRequestAndActiveRequests(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	_, ok, err := db.LastRequestOpened(ctx, db.SQL, "retrain:fraud")
	require.NoError(t, err)
	assert.False(t, ok)

	first, err := insertRequest(t, db, "model:fraud:Production")
	require.NoError(t, err)
	setState(t, db, first, "done")
	second, err := insertRequest(t, db, "model:fraud:Production")
	require.NoError(t, err)
	var queued int64
	require.NoError(t, db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		queued, err = db.InsertRequest(ctx, tx, store.Request{SOPID: "SOP-02", Target: "model:fraud:Production", State: "queued",
			Params: map[string]string{}, QueuedBehind: second})
		return err
	}))

	at, ok, err := db.LastRequestOpened(ctx, db.SQL, "model:fraud:Production")
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, at.IsZero())

	active, err := db.ActiveRequestsForTarget(ctx, db.SQL, "model:fraud:Production")
	require.NoError(t, err)
	require.Len(t, active, 2, "the ended request is left out, the queued one is in")
	assert.Equal(t, second, active[0].ID)
	assert.Equal(t, queued, active[1].ID)
}
