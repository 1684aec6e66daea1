package kfp_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
)

func nightlyRequest() kfp.RunRequest {
	return kfp.RunRequest{
		DisplayName:       "sopbot-retrain-fraud-42",
		Description:       "retraining after drift",
		ExperimentID:      "exp-1",
		PipelineID:        "pipe-1",
		PipelineVersionID: "ver-3",
		Parameters:        map[string]any{"batch_size": 1000, "learning_rate": "0.1", "shuffle": true},
		ServiceAccount:    "pipeline-runner",
	}
}

func TestCreateRunWireBody(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{})

	run, err := client.CreateRun(context.Background(), nightlyRequest())

	require.NoError(t, err)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, http.MethodPost, sent[0].Method)
	assert.Equal(t, "/apis/v2beta1/runs", sent[0].Path)
	assert.Empty(t, sent[0].Query)
	assert.Equal(t, "application/json", sent[0].ContentType)
	assert.Empty(t, sent[0].Authorization)
	assert.JSONEq(t, `{
		"display_name": "sopbot-retrain-fraud-42",
		"description": "retraining after drift",
		"experiment_id": "exp-1",
		"pipeline_version_reference": {"pipeline_id": "pipe-1", "pipeline_version_id": "ver-3"},
		"runtime_config": {"parameters": {"batch_size": 1000, "learning_rate": "0.1", "shuffle": true}},
		"service_account": "pipeline-runner"
	}`, sent[0].Body)
	assert.Equal(t, []string{"POST runs sopbot-retrain-fraud-42"}, fake.Calls())

	assert.Equal(t, "run-0001", run.ID)
	assert.Equal(t, "sopbot-retrain-fraud-42", run.DisplayName)
	assert.Equal(t, "retraining after drift", run.Description)
	assert.Equal(t, "exp-1", run.ExperimentID)
	assert.Equal(t, "pipe-1", run.PipelineID)
	assert.Equal(t, "ver-3", run.PipelineVersionID)
	assert.Equal(t, kfp.StatePending, run.State)
	assert.Equal(t, "AVAILABLE", run.StorageState)
	assert.Equal(t, "pipeline-runner", run.ServiceAccount)
	assert.WithinDuration(t, time.Now(), run.CreatedAt, 5*time.Second)
	assert.Equal(t, time.UTC, run.CreatedAt.Location())
	assert.True(t, run.FinishedAt.IsZero(), "FinishedAt = %v, want zero for a pending run", run.FinishedAt)
	assert.Empty(t, run.Error)
	assert.Equal(t, map[string]any{"batch_size": float64(1000), "learning_rate": "0.1", "shuffle": true}, run.Parameters)
}

func TestCreateRunMinimalBody(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{})

	run, err := client.CreateRun(context.Background(), kfp.RunRequest{DisplayName: "nightly", PipelineID: "pipe-1"})

	require.NoError(t, err)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.JSONEq(t, `{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"pipe-1"},
		"runtime_config":{"parameters":{}}}`, sent[0].Body)
	assert.Equal(t, kfpfakeDefaultExperiment, run.ExperimentID)
	assert.Empty(t, run.PipelineVersionID)
	assert.Empty(t, run.Parameters)
	assert.NotNil(t, run.Parameters)
	assert.Len(t, fake.Created(), 1)
}

func TestCreateRunRejectsInvalidRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     kfp.RunRequest
		wantErr string
	}{
		{"missing display name", kfp.RunRequest{PipelineID: "pipe-1"}, "run display name is required"},
		{"missing pipeline", kfp.RunRequest{DisplayName: "nightly"}, "pipeline ID is required"},
		{"version without pipeline", kfp.RunRequest{DisplayName: "nightly", PipelineVersionID: "ver-1"}, "pipeline ID is required"},
		{"NaN parameter", kfp.RunRequest{DisplayName: "nightly", PipelineID: "pipe-1",
			Parameters: map[string]any{"rate": math.NaN()}}, "encoding run parameters"},
		{"channel parameter", kfp.RunRequest{DisplayName: "nightly", PipelineID: "pipe-1",
			Parameters: map[string]any{"c": make(chan int)}}, "encoding run parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startFake(t, kfp.Config{})

			_, err := client.CreateRun(context.Background(), tt.req)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, kfp.IsPermanent(err))
			assert.Zero(t, fake.CallCount())
		})
	}
}

func TestCreateRunServerError(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.FailNext("POST runs", http.StatusInternalServerError, 1)

	_, err := client.CreateRun(context.Background(), nightlyRequest())

	var apiErr *kfp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusInternalServerError, apiErr.StatusCode)
	assert.Equal(t, kfp.CodeInternal, apiErr.Code)
	assert.Equal(t, "injected failure", apiErr.Message)
	assert.Contains(t, err.Error(), `creating run "sopbot-retrain-fraud-42": kfp: HTTP 500 INTERNAL: injected failure`)
	assert.False(t, kfp.IsPermanent(err))
	assert.Empty(t, fake.Created())
}

func TestGetRunMovesToSucceeded(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{})
	created, err := client.CreateRun(context.Background(), nightlyRequest())
	require.NoError(t, err)

	var states []string
	var last kfp.Run
	for range 3 {
		run, err := client.GetRun(context.Background(), created.ID)
		require.NoError(t, err)
		states = append(states, run.State)
		last = run
	}

	assert.Equal(t, []string{kfp.StateRunning, kfp.StateSucceeded, kfp.StateSucceeded}, states)
	assert.True(t, kfp.Terminal(last.State))
	assert.True(t, kfp.Succeeded(last.State))
	assert.False(t, last.FinishedAt.IsZero())
	assert.Empty(t, last.Error)
	assert.Equal(t, "/apis/v2beta1/runs/run-0001", recorder.sent()[1].Path)
	assert.Equal(t, []string{
		"POST runs sopbot-retrain-fraud-42",
		"GET runs/run-0001 (RUNNING)",
		"GET runs/run-0001 (SUCCEEDED)",
		"GET runs/run-0001 (SUCCEEDED)",
	}, fake.Calls())
}

func TestGetRunFailedOutcome(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.SetOutcome("sopbot-retrain-", kfp.StateFailed)
	created, err := client.CreateRun(context.Background(), nightlyRequest())
	require.NoError(t, err)

	_, err = client.GetRun(context.Background(), created.ID)
	require.NoError(t, err)
	run, err := client.GetRun(context.Background(), created.ID)

	require.NoError(t, err)
	assert.Equal(t, kfp.StateFailed, run.State)
	assert.True(t, kfp.Terminal(run.State))
	assert.False(t, kfp.Succeeded(run.State))
	assert.Equal(t, "This was a Failed Run.", run.Error)
	assert.False(t, run.FinishedAt.IsZero())
}

func TestGetRunNotFound(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})

	_, err := client.GetRun(context.Background(), "run-9999")

	require.ErrorIs(t, err, kfp.ErrNotFound)
	var apiErr *kfp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, kfp.CodeNotFound, apiErr.Code)
	assert.Contains(t, err.Error(), "getting run run-9999: kfp: HTTP 404 NOT_FOUND")
	assert.True(t, kfp.IsPermanent(err))
	assert.Equal(t, []string{"GET runs/run-9999 → 404 NOT_FOUND"}, fake.Calls())
}

func TestGetRunRequiresID(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})

	_, err := client.GetRun(context.Background(), "")

	require.Error(t, err)
	assert.True(t, kfp.IsPermanent(err))
	assert.Zero(t, fake.CallCount())
}

func TestGetRunRetryAfter(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			fake, client, _ := startFake(t, kfp.Config{})
			added := fake.AddRun(kfp.Run{DisplayName: "nightly"})
			fake.FailNextRetryAfter("GET runs/{run_id}", status, 1, 7*time.Second)

			_, err := client.GetRun(context.Background(), added.ID)

			require.Error(t, err)
			wait, ok := kfp.RetryAfter(err)
			assert.True(t, ok)
			assert.Equal(t, 7*time.Second, wait)
			assert.False(t, kfp.IsPermanent(err))

			run, err := client.GetRun(context.Background(), added.ID)
			require.NoError(t, err)
			assert.Equal(t, added.ID, run.ID)
		})
	}
}

func TestGetRunPermissionDenied(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.FailNext("runs/{run_id}", http.StatusForbidden, 1)

	_, err := client.GetRun(context.Background(), "run-0001")

	var apiErr *kfp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, kfp.CodePermissionDenied, apiErr.Code)
	assert.True(t, kfp.IsPermanent(err))
	assert.NotErrorIs(t, err, kfp.ErrNotFound)
	_, ok := kfp.RetryAfter(err)
	assert.False(t, ok)
}

// kfpfakeDefaultExperiment is the experiment the fake assigns to a run
// created without one.
const kfpfakeDefaultExperiment = "default"

// serveFile starts a server that responds to every request with the bytes
// of a file in testdata/kfp.
func serveFile(t *testing.T, name string) *kfp.Client {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kfp", name))
	require.NoError(t, err)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(data)
	}))
	t.Cleanup(server.Close)

	client, err := kfp.New(kfp.Config{BaseURL: server.URL})
	require.NoError(t, err)
	return client
}

func TestDecodeCompletedExample(t *testing.T) {
	client := serveFile(t, "run.completed.json")

	run, err := client.GetRun(context.Background(), "completed-run-123")

	require.NoError(t, err)
	assert.Equal(t, "completed-run-123", run.ID)
	assert.Equal(t, "Production Pipeline Run", run.DisplayName)
	assert.Equal(t, "Production pipeline execution for data processing", run.Description)
	assert.Equal(t, "exp-456", run.ExperimentID)
	assert.Equal(t, "9b187b86-7c0a-42ae-a0bc-2a746b6eb7a3", run.PipelineID)
	assert.Equal(t, "e15dc3ec-b45e-4cc7-bb07-e76b5dbce99a", run.PipelineVersionID)
	assert.Equal(t, kfp.StateSucceeded, run.State)
	assert.Equal(t, "AVAILABLE", run.StorageState)
	assert.Equal(t, "sa1", run.ServiceAccount)
	assert.Equal(t, time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), run.CreatedAt)
	assert.Equal(t, time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), run.FinishedAt)
	assert.Empty(t, run.Error)
	assert.Equal(t, map[string]any{"batch_size": float64(1000), "learning_rate": "foo"}, run.Parameters)
}

func TestDecodeFailedExample(t *testing.T) {
	client := serveFile(t, "run.failed.json")

	run, err := client.GetRun(context.Background(), "failed-run-456")

	require.NoError(t, err)
	assert.Equal(t, "failed-run-456", run.ID)
	assert.Equal(t, kfp.StateFailed, run.State)
	assert.Equal(t, "This was a Failed Run.", run.Error)
	assert.Empty(t, run.PipelineID)
	assert.NotNil(t, run.Parameters, "runtime_config null gives an empty map")
	assert.Empty(t, run.Parameters)
}

func TestDecodeInlineSpecExample(t *testing.T) {
	client := serveFile(t, "run.completed_with_spec.json")

	run, err := client.GetRun(context.Background(), "completed-run-123")

	require.NoError(t, err)
	assert.Equal(t, kfp.StateSucceeded, run.State)
	assert.Empty(t, run.PipelineID)
	assert.Empty(t, run.PipelineVersionID)
}

func TestDecodeRunTimes(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantCreate time.Time
		wantFinish time.Time
		wantErr    string
	}{
		{"epoch finish", `{"run_id":"r","created_at":"2024-01-01T12:00:00Z","finished_at":"1970-01-01T00:00:00Z"}`,
			time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC), time.Time{}, ""},
		{"missing times", `{"run_id":"r"}`, time.Time{}, time.Time{}, ""},
		{"offset and fraction", `{"run_id":"r","created_at":"2024-01-01T14:00:00.5+02:00"}`,
			time.Date(2024, 1, 1, 12, 0, 0, 5e8, time.UTC), time.Time{}, ""},
		{"invalid time", `{"run_id":"r","created_at":"yesterday"}`, time.Time{}, time.Time{},
			`invalid created_at "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(tt.body))
			}))
			defer server.Close()
			client, err := kfp.New(kfp.Config{BaseURL: server.URL})
			require.NoError(t, err)

			run, err := client.GetRun(context.Background(), "r")

			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantCreate, run.CreatedAt)
			assert.Equal(t, tt.wantFinish, run.FinishedAt)
		})
	}
}

func TestCreateRunRequiresRunIDInResponse(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"display_name":"nightly"}`))
	}))
	defer server.Close()
	client, err := kfp.New(kfp.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, err = client.CreateRun(context.Background(), kfp.RunRequest{DisplayName: "nightly", PipelineID: "p"})

	require.Error(t, err)
	assert.Contains(t, err.Error(), "no run_id")
}

func TestTerminalAndSucceeded(t *testing.T) {
	tests := []struct {
		state         string
		wantTerminal  bool
		wantSucceeded bool
	}{
		{kfp.StateUnspecified, false, false},
		{kfp.StatePending, false, false},
		{kfp.StateRunning, false, false},
		{kfp.StateSucceeded, true, true},
		{kfp.StateSkipped, true, false},
		{kfp.StateFailed, true, false},
		{kfp.StateCanceling, false, false},
		{kfp.StateCanceled, true, false},
		{kfp.StatePaused, false, false},
		{"", false, false},
		{"succeeded", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			assert.Equal(t, tt.wantTerminal, kfp.Terminal(tt.state))
			assert.Equal(t, tt.wantSucceeded, kfp.Succeeded(tt.state))
		})
	}
}
