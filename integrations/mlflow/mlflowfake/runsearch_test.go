package mlflowfake_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// startSearchFake stores four runs in experiment 7 and one in 8.
func startSearchFake(t *testing.T) *mlflowfake.Fake {
	t.Helper()
	fake := startFake(t)
	for _, run := range []mlflow.Run{
		{ID: "run-a", Name: "baseline", ExperimentID: "7", Status: "FINISHED", StartTime: 100, EndTime: 150,
			Metrics: map[string]float64{"auc": 0.81, "val.loss": 0.4}, Params: map[string]string{"model": "xgboost"},
			Tags: map[string]string{"team": "risk"}},
		{ID: "run-b", ExperimentID: "7", Status: "FAILED", StartTime: 300, EndTime: 310,
			Metrics: map[string]float64{"auc": 0.93}, Params: map[string]string{"model": "LogisticRegression"},
			Tags: map[string]string{"team": "fraud", "mlflow.runName": "tagged-name", "my tag": "x"}},
		{ID: "run-c", Name: "retrain-42", ExperimentID: "7", Status: "RUNNING", StartTime: 200,
			Metrics: map[string]float64{"auc": 0.88}, Tags: map[string]string{"team": "risk"}},
		{ID: "run-d", ExperimentID: "7", Status: "FINISHED", StartTime: 200, EndTime: 260},
		{ID: "run-e", ExperimentID: "8", Status: "FINISHED", StartTime: 999, Metrics: map[string]float64{"auc": 0.99}},
	} {
		fake.AddRun(run)
	}
	return fake
}

// searchIDs posts a runs/search body and returns the run IDs and the next
// page token.
func searchIDs(t *testing.T, fake *mlflowfake.Fake, body string) ([]string, string) {
	t.Helper()
	status, raw := post(t, fake, "runs/search", body)
	require.Equal(t, http.StatusOK, status, raw)

	var resp struct {
		Runs []struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"runs"`
		NextPageToken string `json:"next_page_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &resp))
	ids := []string{}
	for _, run := range resp.Runs {
		ids = append(ids, run.Info.RunID)
	}
	return ids, resp.NextPageToken
}

func TestFakeSearchRunsFilters(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"no filter", "", []string{"run-b", "run-c", "run-d", "run-a"}},
		{"metric greater", "metrics.auc > 0.85", []string{"run-b", "run-c"}},
		{"metric less or equal", "metric.auc <= 0.88", []string{"run-c", "run-a"}},
		{"dotted metric key", "metrics.val.loss < 0.5", []string{"run-a"}},
		{"quoted metric key", "metrics.`val.loss` = 0.4", []string{"run-a"}},
		{"param equals", "params.model = 'xgboost'", []string{"run-a"}},
		{"param not equals skips runs without it", "params.model != 'xgboost'", []string{"run-b"}},
		{"tag like", "tags.team LIKE 'ri%'", []string{"run-c", "run-a"}},
		{"tag ilike", "tags.team ILIKE 'FRAUD'", []string{"run-b"}},
		{"quoted tag key", `tags."my tag" = "x"`, []string{"run-b"}},
		{"status attribute", "attributes.status = 'FINISHED'", []string{"run-d", "run-a"}},
		{"bare status", "status != 'FINISHED'", []string{"run-b", "run-c"}},
		{"start time", "attributes.start_time >= 200", []string{"run-b", "run-c", "run-d"}},
		{"end time skips active runs", "attributes.end_time > 0", []string{"run-b", "run-d", "run-a"}},
		{"run name from tag", "attributes.run_name = 'tagged-name'", []string{"run-b"}},
		{"run name like", "run_name LIKE 'retrain-%'", []string{"run-c"}},
		{"run id in", "attributes.run_id IN ('run-a', 'run-d')", []string{"run-d", "run-a"}},
		{"and", "metrics.auc > 0.8 AND tags.team = 'risk' and status = 'RUNNING'", []string{"run-c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startSearchFake(t)
			body, err := json.Marshal(map[string]any{"experiment_ids": []string{"7"}, "filter": tt.filter})
			require.NoError(t, err)

			ids, next := searchIDs(t, fake, string(body))

			assert.Equal(t, tt.want, ids)
			assert.Empty(t, next)
		})
	}
}

func TestFakeSearchRunsOrderBy(t *testing.T) {
	tests := []struct {
		name    string
		orderBy []string
		want    []string
	}{
		{"default newest first, then run ID", nil, []string{"run-b", "run-c", "run-d", "run-a"}},
		{"start time ascending", []string{"attributes.start_time ASC"}, []string{"run-a", "run-c", "run-d", "run-b"}},
		{"metric descending, missing last", []string{"metrics.auc DESC"}, []string{"run-b", "run-c", "run-a", "run-d"}},
		{"metric ascending, missing last", []string{"metrics.auc"}, []string{"run-a", "run-c", "run-b", "run-d"}},
		{"param then start", []string{"params.model ASC", "start_time ASC"}, []string{"run-b", "run-a", "run-c", "run-d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startSearchFake(t)
			body, err := json.Marshal(map[string]any{"experiment_ids": []string{"7"}, "order_by": tt.orderBy})
			require.NoError(t, err)

			ids, _ := searchIDs(t, fake, string(body))

			assert.Equal(t, tt.want, ids)
		})
	}
}

func TestFakeSearchRunsPaging(t *testing.T) {
	fake := startSearchFake(t)

	first, token := searchIDs(t, fake, `{"experiment_ids":["7","8"],"max_results":3}`)
	second, last := searchIDs(t, fake, `{"experiment_ids":["7","8"],"max_results":3,"page_token":"`+token+`"}`)

	assert.Equal(t, []string{"run-e", "run-b", "run-c"}, first)
	assert.NotEmpty(t, token)
	assert.Equal(t, []string{"run-d", "run-a"}, second)
	assert.Empty(t, last)
	assert.Equal(t, []string{
		"POST runs/search [7 8]",
		"POST runs/search [7 8] page_token=" + token,
	}, fake.Calls())
}

func TestFakeSearchRunsEmptyBody(t *testing.T) {
	fake := startSearchFake(t)

	status, raw := post(t, fake, "runs/search", `{"experiment_ids":["42"]}`)

	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{}`, raw, "MLflow leaves out an empty runs list")
}

func TestFakeSearchRunsViewTypes(t *testing.T) {
	fake := startSearchFake(t)

	all, _ := searchIDs(t, fake, `{"experiment_ids":["8"],"run_view_type":"ALL"}`)
	deleted, _ := searchIDs(t, fake, `{"experiment_ids":["8"],"run_view_type":"DELETED_ONLY"}`)

	assert.Equal(t, []string{"run-e"}, all)
	assert.Empty(t, deleted)
}

func TestFakeRejectsBadSearchRuns(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantMessage string
	}{
		{"unknown field", `{"experiment_ids":["7"],"experiment_id":"7"}`, "Unknown field 'experiment_id'"},
		{"missing experiments", `{"filter":""}`, "'experiment_ids'"},
		{"experiments as string", `{"experiment_ids":"7"}`, "must be a list of strings"},
		{"max results as string", `{"experiment_ids":["7"],"max_results":"10"}`, "must be an integer"},
		{"max results zero", `{"experiment_ids":["7"],"max_results":0}`, "'max_results'"},
		{"bad view type", `{"experiment_ids":["7"],"run_view_type":"SOME"}`, "'run_view_type'"},
		{"bad page token", `{"experiment_ids":["7"],"page_token":"bogus"}`, "Invalid page token"},
		{"order by direction", `{"experiment_ids":["7"],"order_by":["start_time UP"]}`, "want ASC or DESC"},
		{"order by attribute", `{"experiment_ids":["7"],"order_by":["attributes.colour"]}`, `attribute "colour" is not supported`},
		{"filter or", `{"experiment_ids":["7"],"filter":"status = 'A' OR status = 'B'"}`, "joined by AND"},
		{"filter metric with string", `{"experiment_ids":["7"],"filter":"metrics.auc > 'high'"}`, "takes a number"},
		{"filter tag with number", `{"experiment_ids":["7"],"filter":"tags.team = 5"}`, "takes a quoted string"},
		{"filter like on metric", `{"experiment_ids":["7"],"filter":"metrics.auc LIKE '0.%'"}`, "takes a number"},
		{"filter in on tag", `{"experiment_ids":["7"],"filter":"tags.team IN ('a')"}`, "works on attributes.run_id only"},
		{"filter unknown prefix", `{"experiment_ids":["7"],"filter":"dataset.name = 'x'"}`, `unknown field prefix "dataset"`},
		{"filter unterminated", `{"experiment_ids":["7"],"filter":"tags.team = 'risk"}`, "unterminated"},
		{"filter missing value", `{"experiment_ids":["7"],"filter":"metrics.auc >"}`, "missing value"},
		{"filter missing operator", `{"experiment_ids":["7"],"filter":"metrics.auc 0.5"}`, "expected an operator"},
		{"filter bad list", `{"experiment_ids":["7"],"filter":"run_id IN ('a' 'b')"}`, "expected , or )"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startSearchFake(t)

			status, body := send(t, fake, http.MethodPost, "runs/search", "application/json", tt.body)

			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, "INVALID_PARAMETER_VALUE", body.ErrorCode)
			assert.Contains(t, body.Message, tt.wantMessage)
		})
	}
}
