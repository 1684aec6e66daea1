package mlflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// addModelArtifacts stores the files of a logged model in run-1.
func addModelArtifacts(fake *mlflowfake.Fake) {
	fake.AddRun(mlflow.Run{ID: "run-1", ExperimentID: "7"})
	fake.AddArtifact("run-1", "model/MLmodel", []byte("flavors: {}\n"))
	fake.AddArtifact("run-1", "model/model.pkl", []byte("pickled-model"))
	fake.AddArtifact("run-1", "model/data/weights.bin", []byte{0, 1, 2, 3})
	fake.AddArtifact("run-1", "model/requirements.txt", []byte("scikit-learn==1.5.0\n"))
	fake.AddArtifact("run-1", "metrics.json", []byte(`{"auc": 0.91}`))
}

func TestListArtifactsDirectory(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	addModelArtifacts(fake)

	files, err := client.ListArtifacts(context.Background(), "run-1", "model")

	require.NoError(t, err)
	assert.Equal(t, []mlflow.FileInfo{
		{Path: "model/MLmodel", FileSize: 12},
		{Path: "model/data", IsDir: true},
		{Path: "model/model.pkl", FileSize: 13},
		{Path: "model/requirements.txt", FileSize: 20},
	}, files)
	assert.Equal(t, []string{"GET artifacts/list run-1 model"}, fake.Calls())
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "/api/2.0/mlflow/artifacts/list", sent[0].Path)
	assert.Equal(t, "path=model&run_id=run-1", sent[0].Query)
}

func TestListArtifactsRoot(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	addModelArtifacts(fake)

	files, err := client.ListArtifacts(context.Background(), "run-1", "")

	require.NoError(t, err)
	assert.Equal(t, []mlflow.FileInfo{
		{Path: "metrics.json", FileSize: 13},
		{Path: "model", IsDir: true},
	}, files)
	assert.Equal(t, "run_id=run-1", recorder.sent()[0].Query)
}

func TestListArtifactsPaging(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddRun(mlflow.Run{ID: "run-1"})
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		fake.AddArtifact("run-1", "plots/"+name+".png", []byte(name))
	}
	fake.SetArtifactPageSize(2)

	files, err := client.ListArtifacts(context.Background(), "run-1", "plots")

	require.NoError(t, err)
	paths := make([]string, 0, len(files))
	for _, file := range files {
		paths = append(paths, file.Path)
	}
	assert.Equal(t, []string{"plots/a.png", "plots/b.png", "plots/c.png", "plots/d.png", "plots/e.png"}, paths)
	sent := recorder.sent()
	require.Len(t, sent, 3)
	assert.NotContains(t, sent[0].Query, "page_token=")
	assert.Contains(t, sent[1].Query, "page_token=")
	assert.Contains(t, sent[2].Query, "page_token=")
	assert.NotEqual(t, sent[1].Query, sent[2].Query)
}

func TestListArtifactsMissingDirectory(t *testing.T) {
	fake, client, _ := startRegistry(t)
	addModelArtifacts(fake)

	files, err := client.ListArtifacts(context.Background(), "run-1", "no-such-dir")

	require.NoError(t, err)
	assert.Empty(t, files)
}

func TestListArtifactsUnknownRun(t *testing.T) {
	_, client, _ := startRegistry(t)

	_, err := client.ListArtifacts(context.Background(), "no-such-run", "")

	assert.ErrorIs(t, err, mlflow.ErrNotFound)
}

func TestListArtifactsRepeatedToken(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"root_uri":        "mlflow-artifacts:/0/r/artifacts",
			"files":           []map[string]any{{"path": "x", "is_dir": false, "file_size": 1}},
			"next_page_token": "same",
		})
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, err = client.ListArtifacts(context.Background(), "r", "")

	require.Error(t, err)
	assert.Contains(t, err.Error(), "repeated page token")
}

func TestWalkArtifacts(t *testing.T) {
	fake, client, _ := startRegistry(t)
	addModelArtifacts(fake)
	fake.SetArtifactPageSize(2)

	files, err := client.WalkArtifacts(context.Background(), "run-1", "", 7)

	require.NoError(t, err)
	assert.Equal(t, []mlflow.FileInfo{
		{Path: "metrics.json", FileSize: 13},
		{Path: "model", IsDir: true},
		{Path: "model/MLmodel", FileSize: 12},
		{Path: "model/data", IsDir: true},
		{Path: "model/data/weights.bin", FileSize: 4},
		{Path: "model/model.pkl", FileSize: 13},
		{Path: "model/requirements.txt", FileSize: 20},
	}, files)
	assert.Equal(t, []string{
		"GET artifacts/list run-1",
		"GET artifacts/list run-1 model",
		"GET artifacts/list run-1 model page_token=b2Zmc2V0OjI",
		"GET artifacts/list run-1 model/data",
	}, fake.Calls())
}

func TestWalkArtifactsBound(t *testing.T) {
	fake, client, _ := startRegistry(t)
	addModelArtifacts(fake)

	files, err := client.WalkArtifacts(context.Background(), "run-1", "model", 4)

	require.ErrorIs(t, err, mlflow.ErrLimitExceeded)
	assert.Nil(t, files)
	assert.Contains(t, err.Error(), "more than maxFiles (4) entries")
	assert.Contains(t, err.Error(), `walking artifacts of run run-1 at "model"`)
	assert.True(t, mlflow.IsPermanent(err))
}

func TestWalkArtifactsRejectsZeroBound(t *testing.T) {
	fake, client, _ := startRegistry(t)
	addModelArtifacts(fake)

	_, err := client.WalkArtifacts(context.Background(), "run-1", "", 0)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "maxFiles must be at least 1")
	assert.Zero(t, fake.CallCount())
}

func TestDownloadArtifact(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	addModelArtifacts(fake)

	data, err := client.DownloadArtifact(context.Background(), "run-1", "model/model.pkl", 1<<20)

	require.NoError(t, err)
	assert.Equal(t, []byte("pickled-model"), data)
	assert.Equal(t, []string{"GET get-artifact run-1 model/model.pkl"}, fake.Calls())
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "/get-artifact", sent[0].Path)
	assert.Equal(t, "path=model%2Fmodel.pkl&run_uuid=run-1", sent[0].Query)
}

func TestDownloadArtifactBound(t *testing.T) {
	tests := []struct {
		name     string
		maxBytes int64
		wantErr  bool
	}{
		{"body of maxBytes", 13, false},
		{"body of maxBytes+1", 12, true},
		{"one byte", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)
			addModelArtifacts(fake)

			data, err := client.DownloadArtifact(context.Background(), "run-1", "model/model.pkl", tt.maxBytes)

			if !tt.wantErr {
				require.NoError(t, err)
				assert.Equal(t, []byte("pickled-model"), data)
				return
			}
			require.ErrorIs(t, err, mlflow.ErrLimitExceeded)
			assert.Nil(t, data)
			assert.Contains(t, err.Error(), "maxBytes")
			assert.True(t, mlflow.IsPermanent(err))
		})
	}
}

// TestDownloadArtifactBoundWithoutLength covers a chunked body, which has
// no Content-Length for the client to check before reading.
func TestDownloadArtifactBoundWithoutLength(t *testing.T) {
	const maxBytes = 64
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"body of maxBytes", maxBytes, false},
		{"body of maxBytes+1", maxBytes + 1, true},
		{"large body", 4 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.(http.Flusher).Flush()
				_, _ = w.Write(bytes.Repeat([]byte("x"), tt.size))
			}))
			defer server.Close()
			client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
			require.NoError(t, err)

			data, err := client.DownloadArtifact(context.Background(), "r", "big.bin", maxBytes)

			if !tt.wantErr {
				require.NoError(t, err)
				assert.Len(t, data, maxBytes)
				return
			}
			require.ErrorIs(t, err, mlflow.ErrLimitExceeded)
			assert.Contains(t, err.Error(), "more than maxBytes (64) bytes")
		})
	}
}

func TestDownloadArtifactNotFound(t *testing.T) {
	tests := []struct {
		name  string
		runID string
		path  string
		want  string
	}{
		{"unknown file", "run-1", "model/missing.pkl", "GET get-artifact run-1 model/missing.pkl → 404 RESOURCE_DOES_NOT_EXIST"},
		{"directory", "run-1", "model", "GET get-artifact run-1 model → 404 RESOURCE_DOES_NOT_EXIST"},
		{"unknown run", "run-9", "model/model.pkl", "GET get-artifact run-9 model/model.pkl → 404 RESOURCE_DOES_NOT_EXIST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)
			addModelArtifacts(fake)

			_, err := client.DownloadArtifact(context.Background(), tt.runID, tt.path, 1<<20)

			require.ErrorIs(t, err, mlflow.ErrNotFound)
			assert.Contains(t, err.Error(), "downloading artifact")
			assert.Equal(t, []string{tt.want}, fake.Calls())
		})
	}
}

func TestDownloadArtifactAuthentication(t *testing.T) {
	fake := mlflowfake.New()
	fake.Start()
	defer fake.Close()
	addModelArtifacts(fake)
	fake.RequireAuthorization("Bearer t0ken")
	withToken, err := mlflow.New(mlflow.Config{BaseURL: fake.URL(), Token: "t0ken"})
	require.NoError(t, err)
	withoutToken, err := mlflow.New(mlflow.Config{BaseURL: fake.URL()})
	require.NoError(t, err)

	data, err := withToken.DownloadArtifact(context.Background(), "run-1", "metrics.json", 1024)
	require.NoError(t, err)
	assert.Equal(t, []byte(`{"auc": 0.91}`), data)

	_, err = withoutToken.DownloadArtifact(context.Background(), "run-1", "metrics.json", 1024)
	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, "UNAUTHENTICATED", apiErr.Code)
}

func TestDownloadArtifactServerError(t *testing.T) {
	fake, client, _ := startRegistryNoRetry(t)
	addModelArtifacts(fake)
	fake.FailNext("get-artifact", http.StatusServiceUnavailable, 1)

	_, err := client.DownloadArtifact(context.Background(), "run-1", "metrics.json", 1024)

	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "TEMPORARILY_UNAVAILABLE", apiErr.Code)
	assert.False(t, mlflow.IsPermanent(err))
	assert.Equal(t, []string{"GET get-artifact (injected) → 503 TEMPORARILY_UNAVAILABLE"}, fake.Calls())
}

func TestArtifactPathValidation(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantText string
	}{
		{"parent", "../x", `".." segment`},
		{"inner parent", "model/../../secrets", `".." segment`},
		{"only parent", "..", `".." segment`},
		{"trailing parent", "model/..", `".." segment`},
		{"absolute", "/abs", "must be relative"},
		{"backslash", `a\b`, "separator"},
		{"windows parent", `..\x`, "separator"},
		{"control character", "model\x00.pkl", "control character"},
		{"newline", "model\n.pkl", "control character"},
	}
	calls := map[string]func(*mlflow.Client, string) error{
		"ListArtifacts": func(c *mlflow.Client, path string) error {
			_, err := c.ListArtifacts(context.Background(), "run-1", path)
			return err
		},
		"WalkArtifacts": func(c *mlflow.Client, path string) error {
			_, err := c.WalkArtifacts(context.Background(), "run-1", path, 10)
			return err
		},
		"DownloadArtifact": func(c *mlflow.Client, path string) error {
			_, err := c.DownloadArtifact(context.Background(), "run-1", path, 10)
			return err
		},
	}
	for method, call := range calls {
		for _, tt := range tests {
			t.Run(method+"/"+tt.name, func(t *testing.T) {
				fake, client, recorder := startRegistry(t)
				addModelArtifacts(fake)

				err := call(client, tt.path)

				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantText)
				assert.True(t, mlflow.IsPermanent(err))
				assert.Empty(t, recorder.sent())
				assert.Zero(t, fake.CallCount())
			})
		}
	}
}

func TestArtifactPathAccepted(t *testing.T) {
	for _, path := range []string{"model.pkl", "model/absent.txt", "a..b", ".hidden/x", "dir with space/x"} {
		t.Run(path, func(t *testing.T) {
			fake, client, recorder := startRegistry(t)
			addModelArtifacts(fake)

			_, err := client.DownloadArtifact(context.Background(), "run-1", path, 10)

			assert.ErrorIs(t, err, mlflow.ErrNotFound)
			assert.Len(t, recorder.sent(), 1)
			assert.Equal(t, 1, fake.CallCount())
		})
	}
}

func TestArtifactCallsRequireArguments(t *testing.T) {
	fake, client, _ := startRegistry(t)
	ctx := context.Background()

	_, errList := client.ListArtifacts(ctx, "", "model")
	_, errEmptyPath := client.DownloadArtifact(ctx, "run-1", "", 10)
	_, errZeroBytes := client.DownloadArtifact(ctx, "run-1", "model.pkl", 0)

	assert.ErrorContains(t, errList, "run ID is required")
	assert.ErrorContains(t, errEmptyPath, "artifact path is required")
	assert.ErrorContains(t, errZeroBytes, "maxBytes must be at least 1")
	assert.Zero(t, fake.CallCount())
}

func TestModelArtifactPath(t *testing.T) {
	tests := []struct {
		name      string
		source    string
		runID     string
		wantRunID string
		wantPath  string
		wantOK    bool
	}{
		{"runs URI", "runs:/abc123/model", "", "abc123", "model", true},
		{"runs URI nested", "runs:/abc123/outputs/model/", "abc123", "abc123", "outputs/model", true},
		{"runs URI wins over RunID", "runs:/abc123/model", "other", "abc123", "model", true},
		{"runs URI root", "runs:/abc123", "", "abc123", "", true},
		{"runs URI without run", "runs://model", "", "", "", false},
		{"runs URI parent", "runs:/abc123/../other/model", "", "", "", false},
		{"mlflow-artifacts", "mlflow-artifacts:/1/abc123/artifacts/model", "abc123", "abc123", "model", true},
		{"mlflow-artifacts with host", "mlflow-artifacts://mlflow:5000/1/abc123/artifacts/model", "abc123", "abc123", "model", true},
		{"mlflow-artifacts root", "mlflow-artifacts:/1/abc123/artifacts", "abc123", "abc123", "", true},
		{"s3", "s3://bucket/mlruns/1/abc123/artifacts/model", "abc123", "abc123", "model", true},
		{"file", "file:///mlruns/1/abc123/artifacts/sub/model", "abc123", "abc123", "sub/model", true},
		{"other run", "mlflow-artifacts:/1/zzz999/artifacts/model", "abc123", "", "", false},
		{"no RunID", "mlflow-artifacts:/1/abc123/artifacts/model", "", "", "", false},
		{"artifacts prefix only", "s3://bucket/1/abc123/artifactsx/model", "abc123", "", "", false},
		{"logged model", "models:/m-0123456789abcdef", "abc123", "", "", false},
		{"logged model location", "mlflow-artifacts:/1/models/m-0123/artifacts", "abc123", "", "", false},
		{"registry source", "mlflow-artifacts:/fraud-detector/3", "run-fraud-detector-3", "", "", false},
		{"parent in path", "s3://b/1/abc123/artifacts/../x", "abc123", "", "", false},
		{"empty", "", "abc123", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runID, path, ok := mlflow.ModelArtifactPath(mlflow.ModelVersion{Source: tt.source, RunID: tt.runID})

			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.wantRunID, runID)
			assert.Equal(t, tt.wantPath, path)
		})
	}
}

func TestModelVersionArtifacts(t *testing.T) {
	fake, client, _ := startRegistry(t)
	addModelArtifacts(fake)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	fake.SetVersionRun("fraud-detector", "3", "run-1", "")
	ctx := context.Background()

	mv, err := client.GetModelVersion(ctx, "fraud-detector", "3")
	require.NoError(t, err)
	runID, path, ok := mlflow.ModelArtifactPath(mv)
	require.True(t, ok, "source %q", mv.Source)
	files, err := client.WalkArtifacts(ctx, runID, path, 100)
	require.NoError(t, err)
	data, err := client.DownloadArtifact(ctx, runID, path+"/MLmodel", 1024)
	require.NoError(t, err)

	assert.Equal(t, "run-1", mv.RunID)
	assert.Equal(t, "runs:/run-1/model", mv.Source)
	assert.Equal(t, "model", path)
	assert.Len(t, files, 5)
	assert.Equal(t, []byte("flavors: {}\n"), data)
}
