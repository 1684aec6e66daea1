package mlflowfake_test

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// get sends GET to path below the server root and returns the status,
// Content-Type and body.
func get(t *testing.T, fake *mlflowfake.Fake, path string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(fake.URL() + path)
	require.NoError(t, err)
	defer resp.Body.Close()

	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func startRunFake(t *testing.T) *mlflowfake.Fake {
	t.Helper()
	fake := startFake(t)
	fake.AddRun(mlflow.Run{
		ID:       "run-1",
		Metrics:  map[string]float64{"loss": math.NaN(), "auc": 0.9},
		Params:   map[string]string{"lr": "0.1"},
		Datasets: []mlflow.DatasetInput{{Name: "train", Digest: "d1", SourceType: "local", Source: "{}", Context: "training"}},
	})
	fake.AddArtifact("run-1", "model/MLmodel", []byte("flavors: {}\n"))
	fake.AddArtifact("run-1", "model/data/weights.bin", []byte{1, 2})
	return fake
}

func TestFakeRunWireShape(t *testing.T) {
	fake := startRunFake(t)

	status, _, body := get(t, fake, "/api/2.0/mlflow/runs/get?run_id=run-1")

	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"run":{
		"info":{"run_id":"run-1","run_uuid":"run-1","experiment_id":"0","status":"FINISHED",
			"artifact_uri":"mlflow-artifacts:/0/run-1/artifacts","lifecycle_stage":"active"},
		"data":{"metrics":[{"key":"auc","value":0.9,"timestamp":0,"step":0},
			{"key":"loss","value":"NaN","timestamp":0,"step":0}],
			"params":[{"key":"lr","value":"0.1"}]},
		"inputs":{"dataset_inputs":[{"tags":[{"key":"mlflow.data.context","value":"training"}],
			"dataset":{"name":"train","digest":"d1","source_type":"local","source":"{}"}}]}}}`, string(body))
}

func TestFakeListArtifactsWireShape(t *testing.T) {
	fake := startRunFake(t)

	status, _, body := get(t, fake, "/api/2.0/mlflow/artifacts/list?run_id=run-1&path=model")

	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"root_uri":"mlflow-artifacts:/0/run-1/artifacts","files":[
		{"path":"model/MLmodel","is_dir":false,"file_size":12},
		{"path":"model/data","is_dir":true}]}`, string(body))
}

func TestFakeGetArtifact(t *testing.T) {
	fake := startRunFake(t)

	status, contentType, body := get(t, fake, "/get-artifact?path=model%2Fdata%2Fweights.bin&run_uuid=run-1")

	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "application/octet-stream", contentType)
	assert.Equal(t, []byte{1, 2}, body)
	assert.Equal(t, []string{"GET get-artifact run-1 model/data/weights.bin"}, fake.Calls())
}

func TestFakeRunEndpointErrors(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantCode   string
		wantCall   string
	}{
		{"unknown run", "/api/2.0/mlflow/runs/get?run_id=run-9", 404, "RESOURCE_DOES_NOT_EXIST",
			"GET runs/get run-9 → 404 RESOURCE_DOES_NOT_EXIST"},
		{"missing run ID", "/api/2.0/mlflow/runs/get", 400, "INVALID_PARAMETER_VALUE",
			"GET runs/get → 400 INVALID_PARAMETER_VALUE"},
		{"list unknown run", "/api/2.0/mlflow/artifacts/list?run_id=run-9", 404, "RESOURCE_DOES_NOT_EXIST",
			"GET artifacts/list run-9 → 404 RESOURCE_DOES_NOT_EXIST"},
		{"list parent path", "/api/2.0/mlflow/artifacts/list?run_id=run-1&path=..%2Fx", 400, "INVALID_PARAMETER_VALUE",
			"GET artifacts/list run-1 ../x → 400 INVALID_PARAMETER_VALUE"},
		{"list bad page token", "/api/2.0/mlflow/artifacts/list?run_id=run-1&page_token=bogus", 400, "INVALID_PARAMETER_VALUE",
			"GET artifacts/list run-1 page_token=bogus → 400 INVALID_PARAMETER_VALUE"},
		{"download unknown file", "/get-artifact?path=model%2Fnone&run_uuid=run-1", 404, "RESOURCE_DOES_NOT_EXIST",
			"GET get-artifact run-1 model/none → 404 RESOURCE_DOES_NOT_EXIST"},
		{"download absolute path", "/get-artifact?path=%2Fetc%2Fpasswd&run_uuid=run-1", 400, "INVALID_PARAMETER_VALUE",
			"GET get-artifact run-1 /etc/passwd → 400 INVALID_PARAMETER_VALUE"},
		{"download backslash path", "/get-artifact?path=a%5Cb&run_uuid=run-1", 400, "INVALID_PARAMETER_VALUE",
			`GET get-artifact run-1 a\b → 400 INVALID_PARAMETER_VALUE`},
		{"download missing path", "/get-artifact?run_uuid=run-1", 400, "INVALID_PARAMETER_VALUE",
			"GET get-artifact run-1 → 400 INVALID_PARAMETER_VALUE"},
		{"download below API path", "/api/2.0/mlflow/get-artifact?path=model%2FMLmodel&run_uuid=run-1", 404, "ENDPOINT_NOT_FOUND",
			"GET get-artifact → 404 ENDPOINT_NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startRunFake(t)

			status, contentType, body := get(t, fake, tt.path)

			var decoded mlflowError
			require.NoError(t, json.Unmarshal(body, &decoded))
			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, "application/json", contentType)
			assert.Equal(t, tt.wantCode, decoded.ErrorCode)
			assert.Equal(t, []string{tt.wantCall}, fake.Calls())
		})
	}
}

func TestFakeRunIsACopy(t *testing.T) {
	fake := mlflowfake.New()
	params := map[string]string{"lr": "0.1"}
	fake.AddRun(mlflow.Run{ID: "run-1", Params: params})

	params["lr"] = "changed"
	run, ok := fake.Run("run-1")

	require.True(t, ok)
	assert.Equal(t, "0.1", run.Params["lr"])
	_, ok = fake.Run("run-9")
	assert.False(t, ok)
}

func TestFakeSetVersionRun(t *testing.T) {
	fake := mlflowfake.New()
	fake.AddVersion("fraud-detector", "3", "Staging", nil)

	fake.SetVersionRun("fraud-detector", "3", "run-1", "")
	mv, _ := fake.Version("fraud-detector", "3")

	assert.Equal(t, "run-1", mv.RunID)
	assert.Equal(t, "runs:/run-1/model", mv.Source)
	assert.Panics(t, func() { fake.SetVersionRun("fraud-detector", "9", "run-1", "") })
}

func TestAddArtifactPanics(t *testing.T) {
	tests := []struct {
		name  string
		runID string
		path  string
	}{
		{"unknown run", "run-9", "model/x"},
		{"empty path", "run-1", ""},
		{"absolute path", "run-1", "/model/x"},
		{"parent segment", "run-1", "model/../x"},
		{"empty segment", "run-1", "model//x"},
		{"backslash", "run-1", `model\x`},
		{"file below file", "run-1", "model/MLmodel/x"},
		{"file over directory", "run-1", "model/data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := mlflowfake.New()
			fake.AddRun(mlflow.Run{ID: "run-1"})
			fake.AddArtifact("run-1", "model/MLmodel", nil)
			fake.AddArtifact("run-1", "model/data/weights.bin", nil)

			assert.Panics(t, func() { fake.AddArtifact(tt.runID, tt.path, []byte("x")) })
		})
	}
}

func TestAddRunRequiresID(t *testing.T) {
	fake := mlflowfake.New()

	assert.Panics(t, func() { fake.AddRun(mlflow.Run{}) })
}
