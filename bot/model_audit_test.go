package bot

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// The model audit is on only while the MLflow client implements
// ModelSearcher.
var _ ModelSearcher = (*mlflow.Client)(nil)

func TestModelSearcherOfMLflowClient(t *testing.T) {
	client, err := mlflow.New(mlflow.Config{BaseURL: "http://127.0.0.1:5000"})
	require.NoError(t, err)

	assert.NotNil(t, ModelSearcherOf(client), "*mlflow.Client")
	assert.Nil(t, ModelSearcherOf(&fakeRuns{}), "a run searcher alone")
	assert.Nil(t, ModelSearcherOf(nil), "no client")
}

func TestModelAuditThroughMLflow(t *testing.T) {
	fake, client := startRegistry(t)
	fake.AddVersion("churn", "1", mlflow.StageArchived, nil)
	fake.AddVersion("churn", "2", mlflow.StageNone, nil)
	fake.AddVersion("ranker", "1", mlflow.StageNone, nil)
	require.NoError(t, client.SetAlias(context.Background(), "ranker", "champion", "1"))
	fake.SetSearchPageSize(1)
	searcher := ModelSearcherOf(client)
	require.NotNil(t, searcher)

	h := newScheduleHarness(t, config.Schedules{}, nil, searcher)
	// The fake registers each version at the wall-clock time, so the audit
	// runs a year later for the versions to be past staleDays.
	h.now = time.Now().UTC().AddDate(1, 0, 0)
	def, ok := h.sched.plan.byName(scheduleModelAudit)
	require.True(t, ok, "the model audit is planned")
	start := def.period.start(h.now)
	args := ModelAuditArgs{ScheduledRun{Schedule: def.name, Period: def.period.key(start), Start: start}}
	searchesBefore := countCalls(fake.Calls(), "GET registered-models/search")

	require.NoError(t, h.workers.modelAudit(h.ctx, job(args.Kind(), args)))

	assert.Equal(t, 3, countCalls(fake.Calls(), "GET registered-models/search")-searchesBefore, "one page per model")
	require.Len(t, h.tracker.issues, 1, "one issue")
	body := h.tracker.issues[0].Body
	assert.Contains(t, body, "**1 of 3 registered models look orphaned.**")
	assert.Contains(t, body, "| `churn` | Archived: v1; None: v2 | [v2]("+client.ModelURL("churn", "2")+") |")
	assert.NotContains(t, body, "`fraud-detector`", "has a version in Production")
	assert.NotContains(t, body, "`ranker`", "has an alias")
	notices := h.notices()
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0], "1 of 3 registered models look orphaned: churn: ")
}
