package mlflow_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

func TestGetExperimentByName(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	id := fake.AddExperiment("fraud-detector", map[string]string{"team": "risk"})

	experiment, err := client.GetExperimentByName(context.Background(), "fraud-detector")

	require.NoError(t, err)
	assert.Equal(t, id, experiment.ID)
	assert.Equal(t, "fraud-detector", experiment.Name)
	assert.Equal(t, "active", experiment.LifecycleStage)
	assert.Equal(t, "mlflow-artifacts:/"+id, experiment.ArtifactLocation)
	assert.NotZero(t, experiment.CreationTime)
	assert.NotZero(t, experiment.LastUpdateTime)
	assert.Equal(t, map[string]string{"team": "risk"}, experiment.Tags)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "/api/2.0/mlflow/experiments/get-by-name", sent[0].Path)
	assert.Equal(t, "experiment_name=fraud-detector", sent[0].Query)
	assert.Equal(t, []string{"GET experiments/get-by-name fraud-detector"}, fake.Calls())
}

func TestGetExperimentByNameDefault(t *testing.T) {
	_, client, _ := startRegistry(t)

	experiment, err := client.GetExperimentByName(context.Background(), "Default")

	require.NoError(t, err)
	assert.Equal(t, "0", experiment.ID)
	assert.NotNil(t, experiment.Tags)
}

func TestGetExperimentByNameNotFound(t *testing.T) {
	fake, client, _ := startRegistry(t)

	_, err := client.GetExperimentByName(context.Background(), "no-such-experiment")

	require.ErrorIs(t, err, mlflow.ErrNotFound)
	assert.True(t, mlflow.IsPermanent(err))
	assert.Contains(t, err.Error(), `getting experiment "no-such-experiment"`)
	assert.Equal(t, []string{"GET experiments/get-by-name no-such-experiment → 404 RESOURCE_DOES_NOT_EXIST"}, fake.Calls())
}

func TestCreateExperiment(t *testing.T) {
	fake, client, recorder := startRegistry(t)

	id, err := client.CreateExperiment(context.Background(), "fraud-detector",
		map[string]string{"team": "risk", "owner": "risk-ml", "sopbot.issue": "42"})

	require.NoError(t, err)
	assert.Equal(t, "1", id)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, http.MethodPost, sent[0].Method)
	assert.Equal(t, "/api/2.0/mlflow/experiments/create", sent[0].Path)
	assert.Equal(t, "application/json", sent[0].ContentType)
	assert.Equal(t, `{"name":"fraud-detector","tags":[{"key":"owner","value":"risk-ml"},`+
		`{"key":"sopbot.issue","value":"42"},{"key":"team","value":"risk"}]}`, sent[0].Body)
	experiments := fake.Experiments()
	require.Len(t, experiments, 2)
	assert.Equal(t, "Default", experiments[0].Name)
	assert.Equal(t, "fraud-detector", experiments[1].Name)
	assert.Equal(t, map[string]string{"team": "risk", "owner": "risk-ml", "sopbot.issue": "42"}, experiments[1].Tags)
	assert.Equal(t, []string{"POST experiments/create fraud-detector → 1"}, fake.Calls())
}

func TestCreateExperimentWithoutTags(t *testing.T) {
	_, client, recorder := startRegistry(t)

	_, err := client.CreateExperiment(context.Background(), "fraud-detector", nil)

	require.NoError(t, err)
	assert.Equal(t, `{"name":"fraud-detector"}`, recorder.sent()[0].Body)
}

func TestCreateExperimentNameTaken(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddExperiment("fraud-detector", nil)

	_, err := client.CreateExperiment(context.Background(), "fraud-detector", nil)

	require.Error(t, err)
	assert.True(t, mlflow.IsAlreadyExists(err))
	assert.True(t, mlflow.IsPermanent(err))
	assert.NotErrorIs(t, err, mlflow.ErrNotFound)
	assert.Len(t, fake.Experiments(), 2)
}

func TestCreateExperimentRejectsInvalidArguments(t *testing.T) {
	tests := []struct {
		name    string
		expName string
		tags    map[string]string
		wantErr string
	}{
		{"empty name", "", nil, "experiment name is required"},
		{"empty tag key", "fraud-detector", map[string]string{"": "x"}, "tag key is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)

			_, err := client.CreateExperiment(context.Background(), tt.expName, tt.tags)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, mlflow.IsPermanent(err))
			assert.Zero(t, fake.CallCount())
		})
	}
}

func TestSetExperimentTag(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	id := fake.AddExperiment("fraud-detector", map[string]string{"team": "risk"})

	err := client.SetExperimentTag(context.Background(), id, "team", "fraud")

	require.NoError(t, err)
	assert.Equal(t, `{"experiment_id":"1","key":"team","value":"fraud"}`, recorder.sent()[0].Body)
	assert.Equal(t, map[string]string{"team": "fraud"}, fake.Experiments()[1].Tags)
	assert.Equal(t, []string{"POST experiments/set-experiment-tag 1 team=fraud"}, fake.Calls())
}

func TestSetExperimentTagErrors(t *testing.T) {
	fake, client, _ := startRegistry(t)

	missing := client.SetExperimentTag(context.Background(), "77", "team", "risk")
	noID := client.SetExperimentTag(context.Background(), "", "team", "risk")
	noKey := client.SetExperimentTag(context.Background(), "0", "", "risk")

	require.ErrorIs(t, missing, mlflow.ErrNotFound)
	assert.Contains(t, missing.Error(), "tagging experiment 77 with team")
	assert.True(t, mlflow.IsPermanent(noID))
	assert.True(t, mlflow.IsPermanent(noKey))
	assert.Equal(t, 1, fake.CallCount())
}

func TestExperimentURL(t *testing.T) {
	client, err := mlflow.New(mlflow.Config{BaseURL: "http://mlflow:5000/api/2.0/mlflow", UIURL: "https://mlflow.example.com/"})
	require.NoError(t, err)
	fallback, err := mlflow.New(mlflow.Config{BaseURL: "http://mlflow:5000"})
	require.NoError(t, err)

	assert.Equal(t, "https://mlflow.example.com/#/experiments/12", client.ExperimentURL("12"))
	assert.Equal(t, "http://mlflow:5000/#/experiments/a%2Fb", fallback.ExperimentURL("a/b"))
}

func TestSetRegisteredModelTag(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)

	err := client.SetRegisteredModelTag(context.Background(), "fraud-detector", "owner", "risk-ml")
	require.NoError(t, err)
	model, err := client.GetRegisteredModel(context.Background(), "fraud-detector")

	require.NoError(t, err)
	assert.Equal(t, map[string]string{"owner": "risk-ml"}, model.Tags)
	tags, ok := fake.ModelTags("fraud-detector")
	require.True(t, ok)
	assert.Equal(t, map[string]string{"owner": "risk-ml"}, tags)
	sent := recorder.sent()
	require.Len(t, sent, 2)
	assert.Equal(t, "/api/2.0/mlflow/registered-models/set-tag", sent[0].Path)
	assert.Equal(t, `{"name":"fraud-detector","key":"owner","value":"risk-ml"}`, sent[0].Body)
	assert.Equal(t, []string{
		"POST registered-models/set-tag fraud-detector owner=risk-ml",
		"GET registered-models/get fraud-detector",
	}, fake.Calls())
}

func TestSetRegisteredModelTagErrors(t *testing.T) {
	fake, client, _ := startRegistry(t)

	missing := client.SetRegisteredModelTag(context.Background(), "no-such-model", "owner", "x")
	noName := client.SetRegisteredModelTag(context.Background(), "", "owner", "x")
	noKey := client.SetRegisteredModelTag(context.Background(), "m", "", "x")

	require.ErrorIs(t, missing, mlflow.ErrNotFound)
	assert.Contains(t, missing.Error(), "tagging model no-such-model with owner")
	assert.True(t, mlflow.IsPermanent(noName))
	assert.True(t, mlflow.IsPermanent(noKey))
	assert.Equal(t, 1, fake.CallCount())
	_, ok := fake.ModelTags("no-such-model")
	assert.False(t, ok)
}

func TestIsAlreadyExists(t *testing.T) {
	assert.True(t, mlflow.IsAlreadyExists(&mlflow.APIError{StatusCode: 400, Code: "RESOURCE_ALREADY_EXISTS"}))
	assert.False(t, mlflow.IsAlreadyExists(&mlflow.APIError{StatusCode: 400, Code: "INVALID_PARAMETER_VALUE"}))
	assert.False(t, mlflow.IsAlreadyExists(nil))
}
