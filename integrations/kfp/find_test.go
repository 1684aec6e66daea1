package kfp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
)

const nightlyFilter = `{"predicates":[{"key":"display_name","operation":"EQUALS","string_value":"nightly"}]}`

func TestFindRunQuery(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{Namespace: "team-a"})

	_, found, err := client.FindRun(context.Background(), "exp-1", "nightly")

	require.NoError(t, err)
	assert.False(t, found)
	sent := recorder.sent()
	require.Len(t, sent, 1)
	assert.Equal(t, http.MethodGet, sent[0].Method)
	assert.Equal(t, "/apis/v2beta1/runs", sent[0].Path)
	query, err := url.ParseQuery(sent[0].Query)
	require.NoError(t, err)
	assert.Equal(t, url.Values{
		"experiment_id": {"exp-1"},
		"filter":        {nightlyFilter},
		"page_size":     {"100"},
	}, query)
	assert.Equal(t, []string{`GET runs experiment_id=exp-1 filter=display_name EQUALS "nightly"`}, fake.Calls())
}

func TestFindRunUsesNamespaceWithoutExperiment(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{Namespace: "team-a"})
	added := fake.AddRun(kfp.Run{DisplayName: "nightly", ExperimentID: "exp-9"})

	run, found, err := client.FindRun(context.Background(), "", "nightly")

	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, added.ID, run.ID)
	query, err := url.ParseQuery(recorder.sent()[0].Query)
	require.NoError(t, err)
	assert.Equal(t, "team-a", query.Get("namespace"))
	assert.False(t, query.Has("experiment_id"))
}

func TestFindRunWithoutExperimentOrNamespace(t *testing.T) {
	_, client, recorder := startFake(t, kfp.Config{})

	_, _, err := client.FindRun(context.Background(), "", "nightly")

	require.NoError(t, err)
	query, err := url.ParseQuery(recorder.sent()[0].Query)
	require.NoError(t, err)
	assert.False(t, query.Has("namespace"))
	assert.False(t, query.Has("experiment_id"))
}

func TestFindRunPicksNewest(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.SetPageSize(2)
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i, minutes := range []int{5, 1, 9, 3, 7} {
		fake.AddRun(kfp.Run{ID: fmt.Sprintf("run-%c", 'a'+i), DisplayName: "nightly", ExperimentID: "exp-1",
			CreatedAt: base.Add(time.Duration(minutes) * time.Minute)})
	}
	fake.AddRun(kfp.Run{ID: "run-other-experiment", DisplayName: "nightly", ExperimentID: "exp-2",
		CreatedAt: base.Add(time.Hour)})
	fake.AddRun(kfp.Run{ID: "run-other-name", DisplayName: "nightly-2", ExperimentID: "exp-1",
		CreatedAt: base.Add(time.Hour)})

	run, found, err := client.FindRun(context.Background(), "exp-1", "nightly")

	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "run-c", run.ID, "the run created last wins")
	assert.Equal(t, base.Add(9*time.Minute), run.CreatedAt)
	calls := fake.Calls()
	require.Len(t, calls, 1, "page_size=100 from the client overrides the fake's page size")
}

func TestFindRunFollowsPageTokens(t *testing.T) {
	var pages []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("page_token")
		pages = append(pages, token)
		switch token {
		case "":
			_, _ = w.Write([]byte(`{"runs":[{"run_id":"r1","display_name":"nightly","created_at":"2026-01-01T09:00:00Z"}],
				"total_size":3,"next_page_token":"p2"}`))
		case "p2":
			_, _ = w.Write([]byte(`{"runs":[{"run_id":"r2","display_name":"nightly","created_at":"2026-01-01T10:00:00Z"}],
				"total_size":3,"next_page_token":"p3"}`))
		default:
			_, _ = w.Write([]byte(`{"runs":[{"run_id":"r3","display_name":"nightly","created_at":"2026-01-01T08:00:00Z"}],
				"total_size":3}`))
		}
	}))
	defer server.Close()
	client, err := kfp.New(kfp.Config{BaseURL: server.URL})
	require.NoError(t, err)

	run, found, err := client.FindRun(context.Background(), "exp-1", "nightly")

	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "r2", run.ID)
	assert.Equal(t, []string{"", "p2", "p3"}, pages)
}

func TestFindRunPagesThroughFake(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	base := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := range 150 {
		fake.AddRun(kfp.Run{DisplayName: "nightly", ExperimentID: "exp-1", CreatedAt: base.Add(time.Duration(i) * time.Second)})
	}

	run, found, err := client.FindRun(context.Background(), "exp-1", "nightly")

	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "run-0150", run.ID)
	calls := fake.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, `GET runs experiment_id=exp-1 filter=display_name EQUALS "nightly"`, calls[0])
	assert.Regexp(t, `^GET runs experiment_id=exp-1 filter=display_name EQUALS "nightly" page_token=\S+$`, calls[1])
}

func TestFindRunEqualTimesPicksLastListed(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	at := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	fake.AddRun(kfp.Run{ID: "run-first", DisplayName: "nightly", CreatedAt: at})
	fake.AddRun(kfp.Run{ID: "run-second", DisplayName: "nightly", CreatedAt: at})

	run, found, err := client.FindRun(context.Background(), "", "nightly")

	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "run-second", run.ID)
}

func TestFindRunKeepsExactMatchesOnly(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"runs":[
			{"run_id":"r1","display_name":"nightly-2","created_at":"2026-01-02T00:00:00Z"},
			{"run_id":"r2","display_name":"Nightly","created_at":"2026-01-03T00:00:00Z"},
			{"run_id":"r3","display_name":"nightly","created_at":"2026-01-01T00:00:00Z"}]}`))
	}))
	defer server.Close()
	client, err := kfp.New(kfp.Config{BaseURL: server.URL})
	require.NoError(t, err)

	run, found, err := client.FindRun(context.Background(), "exp-1", "nightly")

	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "r3", run.ID)
}

func TestFindRunRejectsRepeatedPageToken(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"runs":[],"next_page_token":"same"}`))
	}))
	defer server.Close()
	client, err := kfp.New(kfp.Config{BaseURL: server.URL})
	require.NoError(t, err)

	_, _, err = client.FindRun(context.Background(), "exp-1", "nightly")

	require.Error(t, err)
	assert.Contains(t, err.Error(), `server repeated page token "same"`)
}

func TestFindRunRequiresDisplayName(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})

	_, _, err := client.FindRun(context.Background(), "exp-1", "")

	require.Error(t, err)
	assert.True(t, kfp.IsPermanent(err))
	assert.Zero(t, fake.CallCount())
}

func TestFindRunListError(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.FailNext("GET runs", http.StatusServiceUnavailable, 1)

	_, found, err := client.FindRun(context.Background(), "exp-1", "nightly")

	require.Error(t, err)
	assert.False(t, found)
	assert.Contains(t, err.Error(), `finding run "nightly": kfp: HTTP 503 UNAVAILABLE`)
	assert.False(t, kfp.IsPermanent(err))
}

func TestEnsureRunIsIdempotent(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})

	first, created, err := client.EnsureRun(context.Background(), nightlyRequest())
	require.NoError(t, err)
	assert.True(t, created)
	second, created, err := client.EnsureRun(context.Background(), nightlyRequest())

	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first.ID, second.ID)
	assert.Len(t, fake.Created(), 1)
	assert.Equal(t, []string{
		`GET runs experiment_id=exp-1 filter=display_name EQUALS "sopbot-retrain-fraud-42"`,
		"POST runs sopbot-retrain-fraud-42",
		`GET runs experiment_id=exp-1 filter=display_name EQUALS "sopbot-retrain-fraud-42"`,
	}, fake.Calls())
}

func TestEnsureRunAfterDroppedResponse(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.DropResponseNext("POST runs", 1)

	_, _, err := client.EnsureRun(context.Background(), nightlyRequest())
	require.Error(t, err, "the response to the create was dropped")
	assert.False(t, kfp.IsPermanent(err))
	require.Len(t, fake.Created(), 1, "the server created the run before the response was lost")
	run, created, err := client.EnsureRun(context.Background(), nightlyRequest())

	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, fake.Created()[0].ID, run.ID)
	assert.Len(t, fake.Created(), 1)
	assert.Equal(t, []string{
		`GET runs experiment_id=exp-1 filter=display_name EQUALS "sopbot-retrain-fraud-42"`,
		"POST runs sopbot-retrain-fraud-42 (response dropped)",
		`GET runs experiment_id=exp-1 filter=display_name EQUALS "sopbot-retrain-fraud-42"`,
	}, fake.Calls())
}

func TestEnsureRunFindsRunOfEarlierProcess(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	earlier := fake.AddRun(kfp.Run{ID: "run-earlier", DisplayName: "sopbot-retrain-fraud-42", ExperimentID: "exp-1",
		PipelineID: "pipe-1", State: kfp.StateRunning})

	run, created, err := client.EnsureRun(context.Background(), nightlyRequest())

	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, earlier.ID, run.ID)
	assert.Equal(t, kfp.StateRunning, run.State)
	assert.Empty(t, fake.Created())
}

func TestEnsureRunOtherExperimentCreates(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.AddRun(kfp.Run{DisplayName: "sopbot-retrain-fraud-42", ExperimentID: "exp-other"})

	_, created, err := client.EnsureRun(context.Background(), nightlyRequest())

	require.NoError(t, err)
	assert.True(t, created)
	assert.Len(t, fake.Created(), 1)
}

func TestEnsureRunRejectsInvalidRequest(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})

	_, _, err := client.EnsureRun(context.Background(), kfp.RunRequest{DisplayName: "nightly"})

	require.Error(t, err)
	assert.True(t, kfp.IsPermanent(err))
	assert.Contains(t, err.Error(), "pipeline ID is required")
	assert.Zero(t, fake.CallCount())
}

func TestEnsureRunCreateError(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.FailNext("POST runs", http.StatusBadRequest, 1)

	_, created, err := client.EnsureRun(context.Background(), nightlyRequest())

	require.Error(t, err)
	assert.False(t, created)
	assert.True(t, kfp.IsPermanent(err))
	assert.Empty(t, fake.Created())
}
