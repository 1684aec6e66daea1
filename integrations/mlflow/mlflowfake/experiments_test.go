package mlflowfake_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// post sends body as JSON to endpoint and returns the status and the raw
// response body.
func post(t *testing.T, fake *mlflowfake.Fake, endpoint, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(fake.URL()+"/api/2.0/mlflow/"+endpoint, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()

	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(data)
}

func TestFakeExperimentWireShape(t *testing.T) {
	fake := startFake(t)
	fake.AddExperiment("fraud-detector", map[string]string{"team": "risk", "owner": "risk-ml"})

	status, _, body := get(t, fake, "/api/2.0/mlflow/experiments/get-by-name?experiment_name=fraud-detector")

	require.Equal(t, http.StatusOK, status)
	experiment := fake.Experiments()[1]
	assert.JSONEq(t, `{"experiment":{"experiment_id":"1","name":"fraud-detector","artifact_location":"mlflow-artifacts:/1",
		"lifecycle_stage":"active","last_update_time":`+strconv.FormatInt(experiment.LastUpdateTime, 10)+`,
		"creation_time":`+strconv.FormatInt(experiment.CreationTime, 10)+`,
		"tags":[{"key":"owner","value":"risk-ml"},{"key":"team","value":"risk"}]}}`, string(body))
}

func TestFakeExperimentIDsFollowLargest(t *testing.T) {
	fake := startFake(t)

	first := fake.AddExperiment("a", nil)
	second := fake.AddExperiment("b", nil)
	status, body := post(t, fake, "experiments/create", `{"name":"c"}`)

	assert.Equal(t, "1", first)
	assert.Equal(t, "2", second)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"experiment_id":"3"}`, body)
	assert.Panics(t, func() { fake.AddExperiment("a", nil) })
	assert.Panics(t, func() { fake.AddExperiment("", nil) })
}

func TestFakeRejectsBadExperimentRequests(t *testing.T) {
	long := strings.Repeat("k", 251)
	manyTags := make([]string, 21)
	for i := range manyTags {
		manyTags[i] = `{"key":"k` + strings.Repeat("x", i) + `","value":"v"}`
	}
	tests := []struct {
		name        string
		endpoint    string
		body        string
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{"create without name", "experiments/create", `{"tags":[]}`, 400, "INVALID_PARAMETER_VALUE", "'name'"},
		{"create with taken name", "experiments/create", `{"name":"Default"}`, 400, "RESOURCE_ALREADY_EXISTS", "already exists"},
		{"tags not a list", "experiments/create", `{"name":"x","tags":{"team":"risk"}}`, 400, "INVALID_PARAMETER_VALUE",
			"must be a list of {key, value} objects"},
		{"tag value as number", "experiments/create", `{"name":"x","tags":[{"key":"n","value":3}]}`, 400,
			"INVALID_PARAMETER_VALUE", "value must be a string"},
		{"tag without key", "experiments/create", `{"name":"x","tags":[{"value":"v"}]}`, 400, "INVALID_PARAMETER_VALUE", "'key'"},
		{"unknown tag field", "experiments/create", `{"name":"x","tags":[{"key":"k","value":"v","note":"n"}]}`, 400,
			"INVALID_PARAMETER_VALUE", "unknown tag field 'note'"},
		{"tag key too long", "experiments/create", `{"name":"x","tags":[{"key":"` + long + `","value":"v"}]}`, 400,
			"INVALID_PARAMETER_VALUE", "251 bytes"},
		{"too many tags", "experiments/create", `{"name":"x","tags":[` + strings.Join(manyTags, ",") + `]}`, 400,
			"INVALID_PARAMETER_VALUE", "at most 20 experiment tags"},
		{"artifact location as number", "experiments/create", `{"name":"x","artifact_location":5}`, 400,
			"INVALID_PARAMETER_VALUE", "artifact_location must be a string"},
		{"tag on unknown experiment", "experiments/set-experiment-tag", `{"experiment_id":"9","key":"k","value":"v"}`, 404,
			"RESOURCE_DOES_NOT_EXIST", "id=9"},
		{"tag value too long", "experiments/set-experiment-tag",
			`{"experiment_id":"0","key":"k","value":"` + strings.Repeat("v", 20001) + `"}`, 400, "INVALID_PARAMETER_VALUE", "20001 bytes"},
		{"experiment id as number", "experiments/set-experiment-tag", `{"experiment_id":0,"key":"k","value":"v"}`, 400,
			"INVALID_PARAMETER_VALUE", "experiment_id must be a string"},
		{"model tag on unknown model", "registered-models/set-tag", `{"name":"nope","key":"k","value":"v"}`, 404,
			"RESOURCE_DOES_NOT_EXIST", "name=nope"},
		{"model tag without key", "registered-models/set-tag", `{"name":"fraud-detector","value":"v"}`, 400,
			"INVALID_PARAMETER_VALUE", "'key'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, body := send(t, fake, http.MethodPost, tt.endpoint, "application/json", tt.body)

			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, tt.wantCode, body.ErrorCode)
			assert.Contains(t, body.Message, tt.wantMessage)
			assert.Len(t, fake.Experiments(), 1, "only the Default experiment exists")
			assert.Equal(t, map[string]string{}, fake.Experiments()[0].Tags)
			tags, ok := fake.ModelTags("fraud-detector")
			require.True(t, ok)
			assert.Empty(t, tags)
		})
	}
}

func TestFakeGetExperimentByNameRequiresName(t *testing.T) {
	fake := startFake(t)

	status, body := send(t, fake, http.MethodGet, "experiments/get-by-name", "", "")

	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body.Message, "'experiment_name'")
}

func TestFakeSetTagsUpdateState(t *testing.T) {
	fake := startFake(t)
	id := fake.AddExperiment("fraud-detector", nil)
	before := fake.Experiments()[1].LastUpdateTime

	experimentStatus, _ := post(t, fake, "experiments/set-experiment-tag", `{"experiment_id":"`+id+`","key":"team","value":"risk"}`)
	modelStatus, _ := post(t, fake, "registered-models/set-tag", `{"name":"fraud-detector","key":"owner","value":"risk-ml"}`)

	assert.Equal(t, http.StatusOK, experimentStatus)
	assert.Equal(t, http.StatusOK, modelStatus)
	experiment := fake.Experiments()[1]
	assert.Equal(t, map[string]string{"team": "risk"}, experiment.Tags)
	assert.GreaterOrEqual(t, experiment.LastUpdateTime, before)
	tags, _ := fake.ModelTags("fraud-detector")
	assert.Equal(t, map[string]string{"owner": "risk-ml"}, tags)
	assert.Equal(t, []string{
		"POST experiments/set-experiment-tag 1 team=risk",
		"POST registered-models/set-tag fraud-detector owner=risk-ml",
	}, fake.Calls())
}
