package mlflowfake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// mlflowError is the error body MLflow returns.
type mlflowError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

func startFake(t *testing.T) *mlflowfake.Fake {
	t.Helper()
	fake := mlflowfake.New()
	fake.Start()
	t.Cleanup(fake.Close)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	return fake
}

// send posts body to endpoint with contentType and decodes an error body.
func send(t *testing.T, fake *mlflowfake.Fake, method, endpoint, contentType, body string) (int, mlflowError) {
	t.Helper()
	req, err := http.NewRequest(method, fake.URL()+"/api/2.0/mlflow/"+endpoint, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	var decoded mlflowError
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&decoded))
	return resp.StatusCode, decoded
}

func TestFakeRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name        string
		endpoint    string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{"form content type", "model-versions/transition-stage", "application/x-www-form-urlencoded",
			"name=fraud-detector&version=3&stage=Production", 400, "BAD_REQUEST", "Content-Type must be application/json"},
		{"missing content type", "model-versions/set-tag", "",
			`{"name":"fraud-detector","version":"3","key":"k","value":"v"}`, 400, "BAD_REQUEST", "Content-Type"},
		{"version as number", "model-versions/transition-stage", "application/json",
			`{"name":"fraud-detector","version":3,"stage":"Production","archive_existing_versions":false}`,
			400, "INVALID_PARAMETER_VALUE", "version must be a string"},
		{"alias version as number", "registered-models/alias", "application/json",
			`{"name":"fraud-detector","alias":"champion","version":3}`, 400, "INVALID_PARAMETER_VALUE", "version must be a string"},
		{"tag version as number", "model-versions/set-tag", "application/json",
			`{"name":"fraud-detector","version":3,"key":"k","value":"v"}`, 400, "INVALID_PARAMETER_VALUE", "version must be a string"},
		{"unknown stage", "model-versions/transition-stage", "application/json",
			`{"name":"fraud-detector","version":"3","stage":"Live","archive_existing_versions":false}`,
			400, "INVALID_PARAMETER_VALUE", "Invalid Model Version stage: Live"},
		{"archive flag as string", "model-versions/transition-stage", "application/json",
			`{"name":"fraud-detector","version":"3","stage":"Production","archive_existing_versions":"true"}`,
			400, "INVALID_PARAMETER_VALUE", "must be a boolean"},
		{"missing name", "model-versions/set-tag", "application/json",
			`{"version":"3","key":"k","value":"v"}`, 400, "INVALID_PARAMETER_VALUE", "'name'"},
		{"not an object", "registered-models/alias", "application/json", `[1]`, 400, "BAD_REQUEST", "JSON object"},
		{"unknown version", "model-versions/transition-stage", "application/json",
			`{"name":"fraud-detector","version":"9","stage":"Production","archive_existing_versions":false}`,
			404, "RESOURCE_DOES_NOT_EXIST", "version=9"},
		{"unknown endpoint", "experiments/delete", "application/json", `{}`, 404, "ENDPOINT_NOT_FOUND", "experiments/delete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, body := send(t, fake, http.MethodPost, tt.endpoint, tt.contentType, tt.body)

			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantCode, body.ErrorCode)
			assert.Contains(t, body.Message, tt.wantMessage)
			mv, ok := fake.Version("fraud-detector", "3")
			require.True(t, ok)
			assert.Equal(t, "Staging", mv.CurrentStage)
			assert.Empty(t, mv.Tags)
			assert.Empty(t, fake.History("fraud-detector"))
			assert.Equal(t, 1, fake.CallCount())
		})
	}
}

func TestFakeAcceptsCaseInsensitiveStage(t *testing.T) {
	fake := startFake(t)

	status, _ := send(t, fake, http.MethodPost, "model-versions/transition-stage", "application/json; charset=utf-8",
		`{"name":"fraud-detector","version":"3","stage":"production","archive_existing_versions":false}`)

	assert.Equal(t, http.StatusOK, status)
	mv, _ := fake.Version("fraud-detector", "3")
	assert.Equal(t, "Production", mv.CurrentStage)
	assert.Equal(t, []string{"POST model-versions/transition-stage fraud-detector v3 → production"}, fake.Calls())
}

func TestFakeRecordsRejectedCalls(t *testing.T) {
	fake := startFake(t)

	send(t, fake, http.MethodPost, "model-versions/transition-stage", "application/json",
		`{"name":"fraud-detector","version":"3","stage":"Live","archive_existing_versions":true}`)
	fake.FailNext("/api/2.0/mlflow/model-versions/get", http.StatusForbidden, 1)
	send(t, fake, http.MethodGet, "model-versions/get?name=fraud-detector&version=3", "", "")

	assert.Equal(t, []string{
		"POST model-versions/transition-stage fraud-detector v3 → Live (archive existing) → 400 INVALID_PARAMETER_VALUE",
		"GET model-versions/get (injected) → 403 PERMISSION_DENIED",
	}, fake.Calls())
}

func TestFakeFailNextCountsDown(t *testing.T) {
	fake := startFake(t)
	fake.FailNext("model-versions/get", http.StatusServiceUnavailable, 2)

	statuses := make([]int, 0, 3)
	for range 3 {
		req, err := http.NewRequest(http.MethodGet, fake.URL()+"/api/2.0/mlflow/model-versions/get?name=fraud-detector&version=3", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}

	assert.Equal(t, []int{503, 503, 200}, statuses)
}

func TestFakeRejectsBadPageToken(t *testing.T) {
	fake := startFake(t)

	status, body := send(t, fake, http.MethodGet, "model-versions/search?filter=name%3D%27fraud-detector%27&page_token=bogus", "", "")

	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, "INVALID_PARAMETER_VALUE", body.ErrorCode)
}

func TestAddVersionRejectsUnknownStage(t *testing.T) {
	fake := mlflowfake.New()

	assert.Panics(t, func() { fake.AddVersion("m", "1", "Live", nil) })
}
