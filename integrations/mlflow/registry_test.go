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
	"github.com/sopbot/sopbot/integrations/mlflow/mlflowfake"
)

func TestGetModelVersion(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", map[string]string{"owner": "risk-ml"})

	mv, err := client.GetModelVersion(context.Background(), "fraud-detector", "3")

	require.NoError(t, err)
	assert.Equal(t, "fraud-detector", mv.Name)
	assert.Equal(t, "3", mv.Version)
	assert.Equal(t, "Staging", mv.CurrentStage)
	assert.Equal(t, "READY", mv.Status)
	assert.Equal(t, map[string]string{"owner": "risk-ml"}, mv.Tags)
	assert.NotZero(t, mv.CreationTimestamp)
	assert.Equal(t, []string{"GET model-versions/get fraud-detector v3"}, fake.Calls())
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "/api/2.0/mlflow/model-versions/get", sent[0].Path)
	assert.Equal(t, "name=fraud-detector&version=3", sent[0].Query)
}

func TestGetModelVersionNotFound(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)

	_, err := client.GetModelVersion(context.Background(), "fraud-detector", "9")

	require.ErrorIs(t, err, mlflow.ErrNotFound)
	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.Equal(t, "RESOURCE_DOES_NOT_EXIST", apiErr.Code)
	assert.Contains(t, err.Error(), "getting fraud-detector v9")
	assert.True(t, mlflow.IsPermanent(err))
	assert.Equal(t, []string{"GET model-versions/get fraud-detector v9 → 404 RESOURCE_DOES_NOT_EXIST"}, fake.Calls())
}

func TestDecodeIgnoresUnknownFields(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"model_version":{"name":"m","version":"2","current_stage":"None",
			"creation_timestamp":1700000000123,"last_updated_timestamp":1700000000456,
			"tags":[{"key":"a","value":"1"}],"aliases":["champion"],"run_link":"http://x/r",
			"user_id":"u","status_message":"","deployment_job_state":{"state":"X"}},"extra":true}`))
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	mv, err := client.GetModelVersion(context.Background(), "m", "2")

	require.NoError(t, err)
	assert.Equal(t, int64(1700000000123), mv.CreationTimestamp)
	assert.Equal(t, int64(1700000000456), mv.LastUpdatedTimestamp)
	assert.Equal(t, []string{"champion"}, mv.Aliases)
	assert.Equal(t, "http://x/r", mv.RunLink)
	assert.Equal(t, map[string]string{"a": "1"}, mv.Tags)
}

func TestTransitionStageWire(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)

	mv, err := client.TransitionStage(context.Background(), "fraud-detector", "3", "production", true)

	require.NoError(t, err)
	assert.Equal(t, "Production", mv.CurrentStage)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, http.MethodPost, sent[0].Method)
	assert.Equal(t, "/api/2.0/mlflow/model-versions/transition-stage", sent[0].Path)
	assert.Equal(t, "application/json", sent[0].ContentType)
	assert.Equal(t,
		`{"name":"fraud-detector","version":"3","stage":"Production","archive_existing_versions":true}`,
		sent[0].Body)
	assert.Equal(t,
		[]string{"POST model-versions/transition-stage fraud-detector v3 → Production (archive existing)"},
		fake.Calls())
}

func TestTransitionStageArchiveExisting(t *testing.T) {
	tests := []struct {
		name        string
		archive     bool
		wantV2      string
		wantHistory []mlflowfake.Transition
	}{
		{
			name:    "archive existing",
			archive: true,
			wantV2:  "Archived",
			wantHistory: []mlflowfake.Transition{
				{Version: "3", From: "Staging", To: "Production"},
				{Version: "2", From: "Production", To: "Archived"},
			},
		},
		{
			name:    "keep existing",
			archive: false,
			wantV2:  "Production",
			wantHistory: []mlflowfake.Transition{
				{Version: "3", From: "Staging", To: "Production"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)
			fake.AddVersion("fraud-detector", "1", "Staging", nil)
			fake.AddVersion("fraud-detector", "2", "Production", nil)
			fake.AddVersion("fraud-detector", "3", "Staging", nil)

			_, err := client.TransitionStage(context.Background(), "fraud-detector", "3", "Production", tt.archive)

			require.NoError(t, err)
			v1, _ := fake.Version("fraud-detector", "1")
			v2, _ := fake.Version("fraud-detector", "2")
			v3, _ := fake.Version("fraud-detector", "3")
			assert.Equal(t, "Staging", v1.CurrentStage)
			assert.Equal(t, tt.wantV2, v2.CurrentStage)
			assert.Equal(t, "Production", v3.CurrentStage)
			history := fake.History("fraud-detector")
			require.Len(t, history, len(tt.wantHistory))
			for i, want := range tt.wantHistory {
				assert.Equal(t, want.Version, history[i].Version)
				assert.Equal(t, want.From, history[i].From)
				assert.Equal(t, want.To, history[i].To)
				assert.False(t, history[i].At.IsZero())
			}
		})
	}
}

func TestTransitionStageRejectsBeforeSending(t *testing.T) {
	tests := []struct {
		name    string
		model   string
		version string
		stage   string
	}{
		{"unknown stage", "fraud-detector", "3", "Live"},
		{"empty stage", "fraud-detector", "3", ""},
		{"empty version", "fraud-detector", "", "Production"},
		{"empty name", "", "3", "Production"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)

			_, err := client.TransitionStage(context.Background(), tt.model, tt.version, tt.stage, false)

			require.Error(t, err)
			assert.True(t, mlflow.IsPermanent(err))
			assert.Zero(t, fake.CallCount())
		})
	}
}

func TestSetModelVersionTag(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Production", map[string]string{"owner": "risk-ml"})

	err := client.SetModelVersionTag(context.Background(), "fraud-detector", "3", "sopbot.issue", "42")

	require.NoError(t, err)
	mv, ok := fake.Version("fraud-detector", "3")
	require.True(t, ok)
	assert.Equal(t, map[string]string{"owner": "risk-ml", "sopbot.issue": "42"}, mv.Tags)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, `{"name":"fraud-detector","version":"3","key":"sopbot.issue","value":"42"}`, sent[0].Body)
	assert.Equal(t, []string{"POST model-versions/set-tag fraud-detector v3 sopbot.issue=42"}, fake.Calls())
}

func TestSetAliasRepoints(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddVersion("fraud-detector", "2", "Production", nil)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	ctx := context.Background()

	require.NoError(t, client.SetAlias(ctx, "fraud-detector", "champion", "2"))
	require.NoError(t, client.SetAlias(ctx, "fraud-detector", "champion", "3"))
	mv, err := client.GetModelVersionByAlias(ctx, "fraud-detector", "champion")

	require.NoError(t, err)
	assert.Equal(t, "3", mv.Version)
	assert.Equal(t, []string{"champion"}, mv.Aliases)
	v2, _ := fake.Version("fraud-detector", "2")
	assert.Empty(t, v2.Aliases)
	model, err := client.GetRegisteredModel(ctx, "fraud-detector")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"champion": "3"}, model.Aliases)
	sent := recorder.sent()
	require.Len(t, sent, 4)
	assert.Equal(t, `{"name":"fraud-detector","alias":"champion","version":"3"}`, sent[1].Body)
	assert.Equal(t, "alias=champion&name=fraud-detector", sent[2].Query)
	assert.Equal(t, []string{
		"POST registered-models/alias fraud-detector champion → v2",
		"POST registered-models/alias fraud-detector champion → v3",
		"GET registered-models/alias fraud-detector@champion",
		"GET registered-models/get fraud-detector",
	}, fake.Calls())
}

func TestGetModelVersionByAliasNotFound(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "2", "Production", nil)

	_, err := client.GetModelVersionByAlias(context.Background(), "fraud-detector", "champion")

	assert.ErrorIs(t, err, mlflow.ErrNotFound)
}

func TestSetAliasUnknownVersion(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "2", "Production", nil)

	err := client.SetAlias(context.Background(), "fraud-detector", "champion", "7")

	assert.ErrorIs(t, err, mlflow.ErrNotFound)
	_, err = client.GetModelVersionByAlias(context.Background(), "fraud-detector", "champion")
	assert.ErrorIs(t, err, mlflow.ErrNotFound)
}

func TestGetRegisteredModel(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "1", "Archived", nil)
	fake.AddVersion("fraud-detector", "2", "Production", nil)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	fake.AddVersion("fraud-detector", "4", "Staging", nil)

	model, err := client.GetRegisteredModel(context.Background(), "fraud-detector")

	require.NoError(t, err)
	assert.Equal(t, "fraud-detector", model.Name)
	latest := map[string]string{}
	for _, mv := range model.LatestVersions {
		latest[mv.CurrentStage] = mv.Version
	}
	assert.Equal(t, map[string]string{"Archived": "1", "Production": "2", "Staging": "4"}, latest)
	assert.Empty(t, model.Aliases)
	assert.NotNil(t, model.Tags)

	_, err = client.GetRegisteredModel(context.Background(), "no-such-model")
	assert.ErrorIs(t, err, mlflow.ErrNotFound)
}

func TestSearchModelVersionsPaging(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	for _, version := range []string{"1", "2", "3", "4", "5"} {
		fake.AddVersion("fraud-detector", version, "None", nil)
	}
	fake.AddVersion("other-model", "1", "None", nil)
	fake.SetSearchPageSize(2)

	versions, err := client.SearchModelVersions(context.Background(), "fraud-detector")

	require.NoError(t, err)
	got := make([]string, 0, len(versions))
	for _, mv := range versions {
		got = append(got, mv.Version)
		assert.Equal(t, "fraud-detector", mv.Name)
	}
	assert.Equal(t, []string{"5", "4", "3", "2", "1"}, got)
	sent := recorder.sent()
	require.Len(t, sent, 3)
	assert.Equal(t, "filter=name%3D%27fraud-detector%27", sent[0].Query)
	assert.Contains(t, sent[1].Query, "page_token=")
	assert.Contains(t, sent[2].Query, "page_token=")
	assert.NotEqual(t, sent[1].Query, sent[2].Query)
}

func TestSearchModelVersionsUnknownModel(t *testing.T) {
	_, client, _ := startRegistry(t)

	versions, err := client.SearchModelVersions(context.Background(), "no-such-model")

	require.NoError(t, err)
	assert.Empty(t, versions)
}

func TestSearchModelVersionsQuotedName(t *testing.T) {
	fake, client, recorder := startRegistry(t)
	fake.AddVersion("o'brien-model", "1", "None", nil)
	fake.AddVersion("o", "1", "None", nil)

	versions, err := client.SearchModelVersions(context.Background(), "o'brien-model")

	require.NoError(t, err)
	require.Len(t, versions, 1)
	assert.Equal(t, "o'brien-model", versions[0].Name)
	assert.Equal(t, []string{`GET model-versions/search name="o'brien-model"`}, fake.Calls())
	assert.Len(t, recorder.sent(), 1)
}

func TestSearchModelVersionsRepeatedToken(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"model_versions":  []map[string]string{{"name": "m", "version": "1"}},
			"next_page_token": "same",
		})
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, err = client.SearchModelVersions(context.Background(), "m")

	require.Error(t, err)
	assert.Contains(t, err.Error(), "repeated page token")
}

func TestServerErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		wantCode      string
		wantPermanent bool
	}{
		{"permission denied", http.StatusForbidden, "PERMISSION_DENIED", true},
		{"invalid parameter", http.StatusBadRequest, "INVALID_PARAMETER_VALUE", true},
		{"rate limited", http.StatusTooManyRequests, "REQUEST_LIMIT_EXCEEDED", false},
		{"internal error", http.StatusInternalServerError, "INTERNAL_ERROR", false},
		{"unavailable", http.StatusServiceUnavailable, "TEMPORARILY_UNAVAILABLE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client, _ := startRegistry(t)
			fake.AddVersion("fraud-detector", "3", "Staging", nil)
			// More failures than TransitionStage makes attempts after a 5xx.
			fake.FailNext("model-versions/transition-stage", tt.status, 10)

			_, err := client.TransitionStage(context.Background(), "fraud-detector", "3", "Production", true)

			var apiErr *mlflow.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantCode, apiErr.Code)
			assert.Equal(t, tt.wantPermanent, mlflow.IsPermanent(err))
			assert.NotErrorIs(t, err, mlflow.ErrNotFound)
			assert.Contains(t, err.Error(), "transitioning fraud-detector v3")
			mv, _ := fake.Version("fraud-detector", "3")
			assert.Equal(t, "Staging", mv.CurrentStage)
		})
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer server.Close()
	client, err := mlflow.New(mlflow.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, err = client.GetModelVersion(context.Background(), "m", "1")

	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
	assert.Empty(t, apiErr.Code)
	assert.Equal(t, "<html>bad gateway</html>", apiErr.Message)
	assert.False(t, mlflow.IsPermanent(err))
}

func TestAuthentication(t *testing.T) {
	tests := []struct {
		name     string
		cfg      mlflow.Config
		required string
		wantErr  bool
	}{
		{"bearer token", mlflow.Config{Token: "t0ken"}, "Bearer t0ken", false},
		{"basic auth", mlflow.Config{Username: "bot", Password: "pw"}, "Basic Ym90OnB3", false},
		{"wrong token", mlflow.Config{Token: "other"}, "Bearer t0ken", true},
		{"no credentials", mlflow.Config{}, "Bearer t0ken", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := mlflowfake.New()
			fake.Start()
			defer fake.Close()
			fake.AddVersion("m", "1", "None", nil)
			fake.RequireAuthorization(tt.required)
			cfg := tt.cfg
			cfg.BaseURL = fake.URL()
			client, err := mlflow.New(cfg)
			require.NoError(t, err)

			_, err = client.GetModelVersion(context.Background(), "m", "1")

			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			var apiErr *mlflow.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
			assert.True(t, mlflow.IsPermanent(err))
		})
	}
}
