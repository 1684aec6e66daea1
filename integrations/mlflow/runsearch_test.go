package mlflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

func TestSearchRunsWireBody(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddRun(mlflow.Run{ID: "run-1", ExperimentID: "7", StartTime: 1700000000000,
		Metrics: map[string]float64{"auc": 0.93}, Tags: map[string]string{"team": "risk"}})

	runs, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{
		ExperimentIDs: []string{"7", "8"},
		Filter:        "metrics.auc > 0.9 and tags.team = 'risk'",
		MaxResults:    10,
		OrderBy:       []string{"metrics.auc DESC"},
	})

	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, "run-1", runs[0].ID)
	assert.Equal(t, "7", runs[0].ExperimentID)
	assert.Equal(t, "FINISHED", runs[0].Status)
	assert.Equal(t, int64(1700000000000), runs[0].StartTime)
	assert.Equal(t, map[string]float64{"auc": 0.93}, runs[0].Metrics)
	assert.Equal(t, map[string]string{"team": "risk"}, runs[0].Tags)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, http.MethodPost, sent[0].Method)
	assert.Equal(t, "/api/2.0/mlflow/runs/search", sent[0].Path)
	assert.JSONEq(t, `{"experiment_ids":["7","8"],"filter":"metrics.auc > 0.9 and tags.team = 'risk'",
		"max_results":10,"order_by":["metrics.auc DESC"]}`, sent[0].Body)
	assert.Equal(t, []string{"POST runs/search [7 8] filter=metrics.auc > 0.9 and tags.team = 'risk' order_by=[metrics.auc DESC]"},
		fake.Calls())
}

func TestSearchRunsNewestFirst(t *testing.T) {
	fake, client, _ := startRegistry(t)
	for i, start := range []int64{300, 100, 200} {
		fake.AddRun(mlflow.Run{ID: fmt.Sprintf("run-%d", i), ExperimentID: "7", StartTime: start})
	}
	fake.AddRun(mlflow.Run{ID: "run-elsewhere", ExperimentID: "8", StartTime: 999})

	runs, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}})

	require.NoError(t, err)
	assert.Equal(t, []string{"run-0", "run-2", "run-1"}, runIDs(runs))
}

func TestSearchRunsMaxResults(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	for i := range 5 {
		fake.AddRun(mlflow.Run{ID: fmt.Sprintf("run-%d", i), ExperimentID: "7", StartTime: int64(i)})
	}

	runs, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}, MaxResults: 1})

	require.NoError(t, err)
	assert.Equal(t, []string{"run-4"}, runIDs(runs))
	sent := recorder.sent()
	require.Len(t, sent, 1, "the cap is reached on the first page")
	assert.JSONEq(t, `{"experiment_ids":["7"],"max_results":1}`, sent[0].Body)
}

func TestSearchRunsPagesThroughFake(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	for i := range 2500 {
		fake.AddRun(mlflow.Run{ID: fmt.Sprintf("run-%04d", i), ExperimentID: "7", StartTime: int64(i)})
	}

	all, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}})
	require.NoError(t, err)
	capped, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}, MaxResults: 1200})
	require.NoError(t, err)

	require.Len(t, all, 2500)
	assert.Equal(t, "run-2499", all[0].ID)
	assert.Equal(t, "run-0000", all[2499].ID)
	require.Len(t, capped, 1200)
	assert.Equal(t, "run-1300", capped[1199].ID)
	sent := recorder.sent()
	require.Len(t, sent, 5, "three pages uncapped, two capped")
	var last struct {
		MaxResults int    `json:"max_results"`
		PageToken  string `json:"page_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(sent[4].Body), &last))
	assert.Equal(t, 200, last.MaxResults, "the second capped page asks only for the rest")
	assert.NotEmpty(t, last.PageToken)
}

func TestSearchRunsEmptyResult(t *testing.T) {
	_, client, _ := startRegistry(t)

	runs, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}})

	require.NoError(t, err)
	assert.NotNil(t, runs)
	assert.Empty(t, runs)
}

func TestSearchRunsRejectsInvalidRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     mlflow.SearchRunsRequest
		wantErr string
	}{
		{"no experiments", mlflow.SearchRunsRequest{}, "at least one experiment ID is required"},
		{"empty experiment", mlflow.SearchRunsRequest{ExperimentIDs: []string{"7", ""}}, "experiment IDs must not be empty"},
		{"negative max", mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}, MaxResults: -1}, "invalid MaxResults -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)

			_, err := client.SearchRuns(context.Background(), tt.req)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, mlflow.IsPermanent(err))
			assert.Zero(t, fake.CallCount())
		})
	}
}

func TestSearchRunsBadFilter(t *testing.T) {
	fake, client, _ := startRegistry(t)

	_, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"},
		Filter: "metrics.auc > 'high'"})

	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "INVALID_PARAMETER_VALUE", apiErr.Code)
	assert.True(t, mlflow.IsPermanent(err))
	assert.Equal(t, 1, fake.CallCount())
}

func TestSearchRunsServerError(t *testing.T) {
	fake, client, _ := startRegistryNoRetry(t)
	fake.FailNext("runs/search", http.StatusServiceUnavailable, 1)

	_, err := client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}})

	require.Error(t, err)
	assert.Contains(t, err.Error(), "searching runs in experiments [7]: mlflow: HTTP 503 TEMPORARILY_UNAVAILABLE")
	assert.False(t, mlflow.IsPermanent(err))
}

func TestSearchRunsRejectsRepeatedPageToken(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"runs":[{"info":{"run_id":"r"}}],"next_page_token":"same"}`))
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, err = client.SearchRuns(context.Background(), mlflow.SearchRunsRequest{ExperimentIDs: []string{"7"}})

	require.Error(t, err)
	assert.Contains(t, err.Error(), `server repeated page token "same"`)
}

func runIDs(runs []mlflow.Run) []string {
	ids := make([]string, 0, len(runs))
	for _, run := range runs {
		ids = append(ids, run.ID)
	}
	return ids
}
