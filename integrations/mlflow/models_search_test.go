package mlflow_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

// latestByStage maps each stage of model's latest versions to the version.
func latestByStage(model mlflow.RegisteredModel) map[string]string {
	latest := map[string]string{}
	for _, mv := range model.LatestVersions {
		latest[mv.CurrentStage] = mv.Version
	}
	return latest
}

// modelNames lists the names of models in order.
func modelNames(models []mlflow.RegisteredModel) []string {
	names := make([]string, 0, len(models))
	for _, model := range models {
		names = append(names, model.Name)
	}
	return names
}

// pagedRegistry serves registered-models/search from fixed pages: the
// request without a page token gets pages[""], and a request with token
// gets pages[token]. Any other token gets MLflow's invalid-parameter error.
func pagedRegistry(t *testing.T, pages map[string]map[string]any) *mlflow.Client {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		page, ok := pages[r.URL.Query().Get("page_token")]
		if r.URL.Path != "/api/2.0/mlflow/registered-models/search" || !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error_code":"INVALID_PARAMETER_VALUE","message":"unexpected request"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(page)
	}))
	t.Cleanup(server.Close)
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)
	return client
}

func TestSearchRegisteredModelsPaging(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	ctx := context.Background()
	fake.AddVersion("fraud-detector", "1", "Archived", nil)
	fake.AddVersion("fraud-detector", "2", "Production", nil)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	fake.AddVersion("fraud-detector", "4", "Staging", nil)
	fake.AddVersion("churn", "1", "None", nil)
	fake.AddVersion("ranker", "1", "None", nil)
	fake.AddVersion("ranker", "2", "None", nil)
	fake.AddVersion("anomaly", "1", "Production", nil)
	fake.AddVersion("eta", "1", "None", nil)
	require.NoError(t, client.SetAlias(ctx, "ranker", "champion", "1"))
	require.NoError(t, client.SetAlias(ctx, "ranker", "challenger", "2"))
	require.NoError(t, client.SetRegisteredModelTag(ctx, "churn", "owner", "growth-ml"))
	fake.SetSearchPageSize(2)
	before := len(recorder.sent())

	models, err := client.SearchRegisteredModels(ctx)

	require.NoError(t, err)
	assert.Equal(t, []string{"anomaly", "churn", "eta", "fraud-detector", "ranker"}, modelNames(models))
	byName := map[string]mlflow.RegisteredModel{}
	for _, model := range models {
		byName[model.Name] = model
	}
	assert.Equal(t, map[string]string{"Archived": "1", "Production": "2", "Staging": "4"}, latestByStage(byName["fraud-detector"]))
	assert.Equal(t, map[string]string{"None": "2"}, latestByStage(byName["ranker"]), "only the newest version of a stage")
	assert.Equal(t, map[string]string{"champion": "1", "challenger": "2"}, byName["ranker"].Aliases)
	assert.Equal(t, []string{"challenger"}, byName["ranker"].LatestVersions[0].Aliases, "aliases of the version")
	assert.Equal(t, map[string]string{"owner": "growth-ml"}, byName["churn"].Tags)
	assert.Empty(t, byName["churn"].Aliases)

	sent := recorder.sent()[before:]
	require.Len(t, sent, 3, "pages of 2, 2 and 1")
	for _, request := range sent {
		assert.Equal(t, http.MethodGet, request.Method)
		assert.Equal(t, "/api/2.0/mlflow/registered-models/search", request.Path)
	}
	assert.Equal(t, "max_results=1000", sent[0].Query)
	assert.Contains(t, sent[1].Query, "page_token=")
	assert.Contains(t, sent[2].Query, "page_token=")
	assert.NotEqual(t, sent[1].Query, sent[2].Query)
}

func TestSearchRegisteredModelsEmptyRegistry(t *testing.T) {
	fake, client, _ := startRegistry(t)

	models, err := client.SearchRegisteredModels(context.Background())

	require.NoError(t, err)
	assert.NotNil(t, models)
	assert.Empty(t, models)
	assert.Equal(t, []string{"GET registered-models/search max_results=1000"}, fake.Calls())
}

func TestSearchRegisteredModelsRepeatedToken(t *testing.T) {
	client := pagedRegistry(t, map[string]map[string]any{
		"":     {"registered_models": []map[string]string{{"name": "a"}}, "next_page_token": "same"},
		"same": {"registered_models": []map[string]string{{"name": "b"}}, "next_page_token": "same"},
	})

	models, err := client.SearchRegisteredModels(context.Background())

	require.Error(t, err)
	assert.Contains(t, err.Error(), `searching registered models: server repeated page token "same"`)
	assert.Nil(t, models)
}

func TestSearchRegisteredModelsDropsRepeatedModel(t *testing.T) {
	// A model registered between the pages pushes "b" from the end of the
	// first page to the start of the second.
	client := pagedRegistry(t, map[string]map[string]any{
		"":   {"registered_models": []map[string]any{{"name": "a"}, {"name": "b"}}, "next_page_token": "t1"},
		"t1": {"registered_models": []map[string]any{{"name": "b"}, {"name": "c"}}},
	})

	models, err := client.SearchRegisteredModels(context.Background())

	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, modelNames(models))
}

func TestSearchRegisteredModelsDecodesWire(t *testing.T) {
	// Built from MLflow's RegisteredModel fields, with a field this client
	// does not know.
	client := pagedRegistry(t, map[string]map[string]any{
		"": {"registered_models": []map[string]any{{
			"name":                   "fraud-detector",
			"creation_timestamp":     1764806400000,
			"last_updated_timestamp": 1764892800000,
			"description":            "card fraud",
			"latest_versions": []map[string]any{{
				"name": "fraud-detector", "version": "7", "current_stage": "Production",
				"creation_timestamp": 1764806400000, "status": "READY", "aliases": []string{"champion"},
			}},
			"tags":         []map[string]string{{"key": "team", "value": "risk-ml"}},
			"aliases":      []map[string]string{{"alias": "champion", "version": "7"}},
			"unknown_spec": true,
		}}},
	})

	models, err := client.SearchRegisteredModels(context.Background())

	require.NoError(t, err)
	require.Len(t, models, 1)
	model := models[0]
	assert.Equal(t, "fraud-detector", model.Name)
	assert.Equal(t, map[string]string{"team": "risk-ml"}, model.Tags)
	assert.Equal(t, map[string]string{"champion": "7"}, model.Aliases)
	require.Len(t, model.LatestVersions, 1)
	latest := model.LatestVersions[0]
	assert.Equal(t, "7", latest.Version)
	assert.Equal(t, "Production", latest.CurrentStage)
	assert.Equal(t, int64(1764806400000), latest.CreationTimestamp)
	assert.Equal(t, []string{"champion"}, latest.Aliases)
}

func TestSearchRegisteredModelsServerErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		wantCode      string
		wantPermanent bool
	}{
		{"permission denied", http.StatusForbidden, "PERMISSION_DENIED", true},
		{"invalid parameter", http.StatusBadRequest, "INVALID_PARAMETER_VALUE", true},
		{"internal error", http.StatusInternalServerError, "INTERNAL_ERROR", false},
		{"unavailable", http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)
			fake.AddVersion("fraud-detector", "3", "Staging", nil)
			// More failures than the client makes attempts.
			fake.FailNext("registered-models/search", tt.status, 10)

			models, err := client.SearchRegisteredModels(context.Background())

			var apiErr *mlflow.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantCode, apiErr.Code)
			assert.Equal(t, tt.wantPermanent, mlflow.IsPermanent(err))
			assert.Contains(t, err.Error(), "searching registered models")
			assert.Nil(t, models)
		})
	}
}

func TestSearchRegisteredModelsLaterPageFails(t *testing.T) {
	client := pagedRegistry(t, map[string]map[string]any{
		"": {"registered_models": []map[string]string{{"name": "a"}}, "next_page_token": "gone"},
	})

	models, err := client.SearchRegisteredModels(context.Background())

	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Nil(t, models, "no partial result")
}
