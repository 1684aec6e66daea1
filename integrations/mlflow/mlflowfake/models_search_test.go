package mlflowfake_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

// modelSearchPage is a registered-models/search response as MLflow's JSON
// encodes it.
type modelSearchPage struct {
	RegisteredModels []struct {
		Name                 string `json:"name"`
		CreationTimestamp    int64  `json:"creation_timestamp"`
		LastUpdatedTimestamp int64  `json:"last_updated_timestamp"`
		LatestVersions       []struct {
			Version      string   `json:"version"`
			CurrentStage string   `json:"current_stage"`
			Aliases      []string `json:"aliases"`
		} `json:"latest_versions"`
		Aliases []struct {
			Alias   string `json:"alias"`
			Version string `json:"version"`
		} `json:"aliases"`
	} `json:"registered_models"`
	NextPageToken string `json:"next_page_token"`
}

// searchModels sends registered-models/search with query and returns the
// status and the raw body.
func searchModels(t *testing.T, fake *mlflowfake.Fake, query url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.Get(fake.URL() + "/api/2.0/mlflow/registered-models/search?" + query.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()

	var raw json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	return resp.StatusCode, raw
}

func TestFakeSearchRegisteredModelsPages(t *testing.T) {
	fake := startFake(t)
	fake.AddVersion("fraud-detector", "4", "Production", nil)
	fake.AddVersion("fraud-detector", "5", "Staging", nil)
	fake.AddVersion("churn", "1", "None", nil)
	fake.AddVersion("anomaly", "1", "None", nil)
	status, _ := send(t, fake, http.MethodPost, "registered-models/alias", "application/json",
		`{"name":"fraud-detector","alias":"champion","version":"4"}`)
	require.Equal(t, http.StatusOK, status)
	fake.SetSearchPageSize(2)

	status, raw := searchModels(t, fake, url.Values{"max_results": {"1000"}})
	require.Equal(t, http.StatusOK, status, string(raw))
	var first modelSearchPage
	require.NoError(t, json.Unmarshal(raw, &first))
	require.Len(t, first.RegisteredModels, 2, "the page size caps max_results")
	assert.Equal(t, "anomaly", first.RegisteredModels[0].Name)
	assert.Equal(t, "churn", first.RegisteredModels[1].Name)
	assert.Positive(t, first.RegisteredModels[0].CreationTimestamp)
	assert.Positive(t, first.RegisteredModels[0].LastUpdatedTimestamp)
	require.NotEmpty(t, first.NextPageToken)

	status, raw = searchModels(t, fake, url.Values{"max_results": {"1000"}, "page_token": {first.NextPageToken}})
	require.Equal(t, http.StatusOK, status, string(raw))
	var second modelSearchPage
	require.NoError(t, json.Unmarshal(raw, &second))
	require.Len(t, second.RegisteredModels, 1)
	assert.Empty(t, second.NextPageToken, "last page")
	model := second.RegisteredModels[0]
	assert.Equal(t, "fraud-detector", model.Name)
	latest := map[string]string{}
	for _, mv := range model.LatestVersions {
		latest[mv.CurrentStage] = mv.Version
	}
	assert.Equal(t, map[string]string{"Production": "4", "Staging": "5"}, latest, "v3 is older in Staging")
	require.Len(t, model.Aliases, 1)
	assert.Equal(t, "champion", model.Aliases[0].Alias)
	assert.Equal(t, "4", model.Aliases[0].Version)

	calls := fake.Calls()
	assert.Equal(t, "GET registered-models/search max_results=1000", calls[len(calls)-2])
	assert.Equal(t, "GET registered-models/search max_results=1000 page_token="+first.NextPageToken, calls[len(calls)-1])
}

func TestFakeSearchRegisteredModelsMaxResults(t *testing.T) {
	fake := startFake(t)
	fake.AddVersion("churn", "1", "None", nil)

	status, raw := searchModels(t, fake, url.Values{"max_results": {"1"}})

	require.Equal(t, http.StatusOK, status, string(raw))
	var page modelSearchPage
	require.NoError(t, json.Unmarshal(raw, &page))
	require.Len(t, page.RegisteredModels, 1)
	assert.Equal(t, "churn", page.RegisteredModels[0].Name)
	assert.NotEmpty(t, page.NextPageToken)
}

func TestFakeSearchRegisteredModelsDefaultMaxResults(t *testing.T) {
	fake := startFake(t)
	for i := range 100 {
		fake.AddVersion(fmt.Sprintf("model-%03d", i), "1", "None", nil)
	}

	status, raw := searchModels(t, fake, nil)

	require.Equal(t, http.StatusOK, status, string(raw))
	var page modelSearchPage
	require.NoError(t, json.Unmarshal(raw, &page))
	assert.Len(t, page.RegisteredModels, 100, "MLflow's default of 100 of the 101 models")
	assert.NotEmpty(t, page.NextPageToken)
}

func TestFakeSearchRegisteredModelsEmpty(t *testing.T) {
	fake := mlflowfake.New()
	fake.Start()
	t.Cleanup(fake.Close)

	status, raw := searchModels(t, fake, nil)

	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{}`, string(raw), "MLflow leaves out empty lists")
}

func TestFakeSearchRegisteredModelsRejects(t *testing.T) {
	tests := []struct {
		name        string
		query       url.Values
		wantMessage string
	}{
		{"bad page token", url.Values{"page_token": {"bogus"}}, "Invalid page token"},
		{"max_results above 1000", url.Values{"max_results": {"1001"}}, "It must be at most 1000"},
		{"max_results zero", url.Values{"max_results": {"0"}}, "'max_results'"},
		{"max_results not a number", url.Values{"max_results": {"many"}}, "'max_results'"},
		{"filter", url.Values{"filter": {"name LIKE '%fraud%'"}}, "no filter"},
		{"order_by", url.Values{"order_by": {"name DESC"}}, "no order_by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, raw := searchModels(t, fake, tt.query)

			assert.Equal(t, http.StatusBadRequest, status)
			var body mlflowError
			require.NoError(t, json.Unmarshal(raw, &body))
			assert.Equal(t, "INVALID_PARAMETER_VALUE", body.ErrorCode)
			assert.Contains(t, body.Message, tt.wantMessage)
		})
	}
}
