package mlflow_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

func TestGetRun(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddRun(mlflow.Run{
		ID:           "run-1",
		Name:         "nightly-train",
		ExperimentID: "7",
		Status:       "FINISHED",
		UserID:       "risk-ml",
		StartTime:    1700000000000,
		EndTime:      1700000360000,
		Metrics:      map[string]float64{"auc": 0.91, "loss": math.NaN()},
		Params:       map[string]string{"max_depth": "6"},
		Tags:         map[string]string{"team": "risk"},
		Datasets: []mlflow.DatasetInput{{
			Name:       "transactions-2024",
			Digest:     "a1b2c3",
			SourceType: "local",
			Source:     `{"uri": "/data/transactions.parquet"}`,
			Context:    "training",
			Tags:       map[string]string{"owner": "data-eng"},
		}},
	})

	run, err := client.GetRun(context.Background(), "run-1")

	require.NoError(t, err)
	assert.Equal(t, "run-1", run.ID)
	assert.Equal(t, "nightly-train", run.Name)
	assert.Equal(t, "7", run.ExperimentID)
	assert.Equal(t, "FINISHED", run.Status)
	assert.Equal(t, "risk-ml", run.UserID)
	assert.Equal(t, "mlflow-artifacts:/7/run-1/artifacts", run.ArtifactURI)
	assert.Equal(t, int64(1700000000000), run.StartTime)
	assert.Equal(t, int64(1700000360000), run.EndTime)
	require.Len(t, run.Metrics, 2)
	assert.InDelta(t, 0.91, run.Metrics["auc"], 1e-12)
	assert.True(t, math.IsNaN(run.Metrics["loss"]), "loss = %v, want NaN", run.Metrics["loss"])
	assert.Equal(t, map[string]string{"max_depth": "6"}, run.Params)
	assert.Equal(t, map[string]string{"team": "risk"}, run.Tags)
	require.Len(t, run.Datasets, 1)
	dataset := run.Datasets[0]
	assert.Equal(t, "transactions-2024", dataset.Name)
	assert.Equal(t, "a1b2c3", dataset.Digest)
	assert.Equal(t, "local", dataset.SourceType)
	assert.Equal(t, `{"uri": "/data/transactions.parquet"}`, dataset.Source)
	assert.Equal(t, "training", dataset.Context)
	assert.Equal(t, map[string]string{"owner": "data-eng", "mlflow.data.context": "training"}, dataset.Tags)
	assert.Equal(t, []string{"GET runs/get run-1"}, fake.Calls())
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "/api/2.0/mlflow/runs/get", sent[0].Path)
	assert.Equal(t, "run_id=run-1", sent[0].Query)
}

func TestGetRunNotFound(t *testing.T) {
	fake, client, _ := startRegistry(t)

	_, err := client.GetRun(context.Background(), "no-such-run")

	require.ErrorIs(t, err, mlflow.ErrNotFound)
	assert.Contains(t, err.Error(), "getting run no-such-run")
	assert.True(t, mlflow.IsPermanent(err))
	assert.Equal(t, []string{"GET runs/get no-such-run → 404 RESOURCE_DOES_NOT_EXIST"}, fake.Calls())
}

func TestGetRunRequiresID(t *testing.T) {
	fake, client, _ := startRegistry(t)

	_, err := client.GetRun(context.Background(), "")

	require.Error(t, err)
	assert.True(t, mlflow.IsPermanent(err))
	assert.Zero(t, fake.CallCount())
}

// TestGetRunWireForms decodes a runs/get body written for this test from
// MLflow's Run, RunInfo, RunData and RunInputs field tables. It covers a
// RunInfo with only run_uuid, a name and user found only in tags,
// protobuf's string form of non-finite doubles, a repeated metric key and
// unknown fields.
func TestGetRunWireForms(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"run":{
			"info":{"run_uuid":"abc123","experiment_id":"3","status":"RUNNING","start_time":1700000000000,
				"artifact_uri":"s3://bucket/3/abc123/artifacts","lifecycle_stage":"active"},
			"data":{
				"metrics":[
					{"key":"loss","value":0.5,"timestamp":1700000001000,"step":1},
					{"key":"loss","value":0.4,"timestamp":1700000000500,"step":2},
					{"key":"loss","value":0.9,"timestamp":1700000000900,"step":0},
					{"key":"acc","value":0.7,"timestamp":1700000001000,"step":3},
					{"key":"acc","value":0.8,"timestamp":1700000001000,"step":3},
					{"key":"grad","value":"Infinity","timestamp":1700000001000},
					{"key":"delta","value":"-Infinity","timestamp":1700000001000,"dataset_name":"x"}],
				"tags":[{"key":"mlflow.runName","value":"tag-name"},{"key":"mlflow.user","value":"tag-user"}]},
			"inputs":{"dataset_inputs":[{"dataset":{"name":"eval-set","digest":"d1","source_type":"http",
				"source":"{}","schema":"{\"mlflow_colspec\":[]}","profile":"{\"num_rows\":10}"}}],
				"model_inputs":[{"model_id":"m-1"}]},
			"outputs":{}}}`))
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	run, err := client.GetRun(context.Background(), "abc123")

	require.NoError(t, err)
	assert.Equal(t, "abc123", run.ID)
	assert.Equal(t, "tag-name", run.Name)
	assert.Equal(t, "tag-user", run.UserID)
	assert.Zero(t, run.EndTime)
	assert.InDelta(t, 0.4, run.Metrics["loss"], 1e-12, "the largest step wins")
	assert.InDelta(t, 0.8, run.Metrics["acc"], 1e-12, "on a step and timestamp tie the larger value wins")
	assert.True(t, math.IsInf(run.Metrics["grad"], 1), "grad = %v, want +Inf", run.Metrics["grad"])
	assert.True(t, math.IsInf(run.Metrics["delta"], -1), "delta = %v, want -Inf", run.Metrics["delta"])
	assert.Empty(t, run.Params)
	require.Len(t, run.Datasets, 1)
	assert.Equal(t, "eval-set", run.Datasets[0].Name)
	assert.Empty(t, run.Datasets[0].Context)
	assert.NotNil(t, run.Datasets[0].Tags)
}

func TestGetRunRejectsBadMetricValue(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"run":{"info":{"run_id":"r"},"data":{"metrics":[{"key":"k","value":"high"}]}}}`))
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, err = client.GetRun(context.Background(), "r")

	require.Error(t, err)
	assert.Contains(t, err.Error(), `invalid metric value "high"`)
}
