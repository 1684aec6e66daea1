package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

const ticketURL = "https://github.example/acme/ml-requests/issues/1"

// startRegistry starts the MLflow fake on loopback with fraud-detector v2
// in Production and v3 in Staging, and a real client aimed at it.
func startRegistry(t *testing.T) (*mlflowfake.Fake, *mlflow.Client) {
	t.Helper()
	fake := mlflowfake.New()
	fake.Start()
	t.Cleanup(fake.Close)
	fake.AddVersion("fraud-detector", "2", mlflow.StageProduction, nil)
	fake.AddVersion("fraud-detector", "3", mlflow.StageStaging, nil)
	client, err := mlflow.New(mlflow.Config{BaseURL: fake.URL()})
	require.NoError(t, err)
	return fake, client
}

func promotionRequest(version, to string) store.Request {
	return store.Request{ID: 1, SOPID: "SOP-02", IssueNumber: 1, IssueURL: ticketURL, RequesterLogin: "alice",
		Params: map[string]string{"model": "fraud-detector", "version": version, "to": to}}
}

func approvals() []store.Signoff {
	at := time.Date(2026, 12, 3, 22, 48, 49, 0, time.UTC)
	return []store.Signoff{
		{Login: "erin", Member: "compliance officer", Via: ViaReview, At: at},
		{Login: "dana", Member: "ML lead", Via: ViaCommand, At: at.Add(-time.Minute)},
	}
}

func wantTags() map[string]string {
	return map[string]string{
		TagApprovedBy: "dana (ML lead), erin (compliance officer)",
		TagApprovedAt: "2026-12-03T22:48:49Z",
		TagTicket:     ticketURL,
		TagRequest:    "R-1",
	}
}

// countCalls counts the fake's recorded calls that start with prefix.
func countCalls(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestPromoteStage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake, client := startRegistry(t)
	w := &Workers{Registry: client}

	result, err := w.promote(ctx, promotionRequest("3", "Production"), approvals())
	require.NoError(t, err)
	assert.Equal(t, "stage", result.Mode, "mode")
	assert.Equal(t, "Production", result.Target, "target")
	assert.Equal(t, "Staging", result.StageBefore, "stage before")
	assert.Equal(t, "2", result.PreviousVersion, "previous version")
	assert.False(t, result.AlreadyDone, "already done")
	assert.Equal(t, wantTags(), result.Tags, "tags")
	assert.False(t, result.VerifiedAt.IsZero(), "verified")

	v3, ok := fake.Version("fraud-detector", "3")
	require.True(t, ok, "v3 exists")
	assert.Equal(t, mlflow.StageProduction, v3.CurrentStage, "v3 stage")
	for key, want := range wantTags() {
		assert.Equal(t, want, v3.Tags[key], "v3 tag %s", key)
	}
	v2, ok := fake.Version("fraud-detector", "2")
	require.True(t, ok, "v2 exists")
	assert.Equal(t, mlflow.StageArchived, v2.CurrentStage, "v2 stage")

	history := fake.History("fraud-detector")
	var moves []string
	for _, tr := range history {
		moves = append(moves, "v"+tr.Version+" "+tr.From+"→"+tr.To)
	}
	assert.ElementsMatch(t, []string{"v3 Staging→Production", "v2 Production→Archived"}, moves, "history")
	assert.Equal(t, 1, countCalls(fake.Calls(), "POST model-versions/transition-stage"), "transitions")

	t.Run("second run makes no transition", func(t *testing.T) {
		again, err := w.promote(ctx, promotionRequest("3", "Production"), approvals())
		require.NoError(t, err)
		assert.True(t, again.AlreadyDone, "already done")
		assert.Empty(t, again.PreviousVersion, "previous version")
		assert.Len(t, fake.History("fraud-detector"), len(history), "history length")
		assert.Equal(t, 1, countCalls(fake.Calls(), "POST model-versions/transition-stage"), "transitions")
		assert.Contains(t, promotionSummary(again, promotionRequest("3", "Production")),
			"**fraud-detector v3** was already in stage **Production**; no transition was needed.", "summary")
	})
}

func TestPromoteAlias(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		to     string
		policy func(model, stage string) (string, bool)
	}{
		{"policy maps stage to alias", "Production", func(model, stage string) (string, bool) {
			return "champion", model == "fraud-detector" && stage == "Production"
		}},
		{"alias given in command", "champion", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			fake, client := startRegistry(t)
			require.NoError(t, client.SetAlias(ctx, "fraud-detector", "champion", "2"))
			w := &Workers{Registry: client, ModelPolicy: tc.policy}

			result, err := w.promote(ctx, promotionRequest("3", tc.to), approvals())
			require.NoError(t, err)
			assert.Equal(t, "alias", result.Mode, "mode")
			assert.Equal(t, "champion", result.Target, "target")
			assert.Equal(t, "2", result.PreviousVersion, "previous version")
			assert.Equal(t, wantTags(), result.Tags, "tags")

			v3, ok := fake.Version("fraud-detector", "3")
			require.True(t, ok, "v3 exists")
			assert.Equal(t, []string{"champion"}, v3.Aliases, "v3 aliases")
			assert.Equal(t, mlflow.StageStaging, v3.CurrentStage, "v3 stage is untouched")
			assert.Equal(t, ticketURL, v3.Tags[TagTicket], "v3 ticket tag")
			assert.Equal(t, "dana (ML lead), erin (compliance officer)", v3.Tags[TagApprovedBy], "v3 approvers tag")
			v2, ok := fake.Version("fraud-detector", "2")
			require.True(t, ok, "v2 exists")
			assert.Empty(t, v2.Aliases, "v2 aliases")
			assert.Empty(t, fake.History("fraud-detector"), "stage history")

			again, err := w.promote(ctx, promotionRequest("3", tc.to), approvals())
			require.NoError(t, err)
			assert.True(t, again.AlreadyDone, "second run already done")
			assert.Equal(t, 2, countCalls(fake.Calls(), "POST registered-models/alias"), "alias writes, the setup's included")
		})
	}
}

func TestPromoteMissingVersion(t *testing.T) {
	t.Parallel()
	fake, client := startRegistry(t)
	w := &Workers{Registry: client}

	_, err := w.promote(context.Background(), promotionRequest("9", "Production"), approvals())
	require.Error(t, err)
	assert.True(t, mlflow.IsPermanent(err), "permanent: %v", err)
	assert.ErrorIs(t, err, mlflow.ErrNotFound)
	assert.Contains(t, err.Error(), "reading fraud-detector version 9", "error")
	assert.Zero(t, countCalls(fake.Calls(), "POST"), "writes to the registry")
}

func TestCheckVersionStage(t *testing.T) {
	t.Parallel()
	fake, client := startRegistry(t)
	fake.AddVersion("fraud-detector", "4", mlflow.StageArchived, nil)
	w := &Workers{Registry: client}
	cases := []struct {
		name     string
		version  string
		passed   bool
		evidence string
	}{
		{"staging passes", "3", true, "is registered, stage `Staging`, status `READY`, run `run-fraud-detector-3`."},
		{"production fails", "2", false, "is in stage `Production`; only versions in None or Staging can be promoted."},
		{"archived fails", "4", false, "is in stage `Archived`"},
		{"missing fails", "9", false, "version 9 of model `fraud-detector` is not registered in MLflow."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			passed, evidence, err := w.checkVersionStage(context.Background(), "fraud-detector", tc.version)
			require.NoError(t, err)
			assert.Equal(t, tc.passed, passed, "passed")
			assert.Contains(t, evidence, tc.evidence, "evidence")
		})
	}
}
