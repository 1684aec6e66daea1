package kfpfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kfp/kfpfake"
)

// rpcStatus is the googleRpcStatus error body.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

const validBody = `{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"pipe-1"},
	"runtime_config":{"parameters":{"batch_size":1000}}}`

func startFake(t *testing.T) *kfpfake.Fake {
	t.Helper()
	fake := kfpfake.New()
	fake.Start()
	t.Cleanup(fake.Close)
	return fake
}

// send sends body to path below /apis/v2beta1/ and returns the status and
// the decoded response body.
func send(t *testing.T, fake *kfpfake.Fake, method, path, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, fake.URL()+"/apis/v2beta1/"+path, strings.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}

	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)

	var decoded map[string]any
	require.NoError(t, json.Unmarshal(data, &decoded), "body %s", data)
	return resp.StatusCode, decoded
}

// sendError sends a request that must fail and returns its status and
// googleRpcStatus.
func sendError(t *testing.T, fake *kfpfake.Fake, method, path, contentType, body string) (int, rpcStatus) {
	t.Helper()
	status, decoded := send(t, fake, method, path, contentType, body)
	encoded, err := json.Marshal(decoded)
	require.NoError(t, err)
	var rpc rpcStatus
	require.NoError(t, json.Unmarshal(encoded, &rpc))
	assert.NotNil(t, decoded["details"], "a googleRpcStatus carries details")
	return status, rpc
}

func TestFakeRejectsBadCreateBodies(t *testing.T) {
	tests := []struct {
		name        string
		path        string
		contentType string
		body        string
		wantMessage string
	}{
		{"form content type", "runs", "application/x-www-form-urlencoded", "display_name=nightly",
			"Content-Type must be application/json"},
		{"invalid json", "runs", "application/json", `{"display_name":`, "not valid JSON"},
		{"trailing data", "runs", "application/json", validBody + `{}`, "not valid JSON"},
		{"not an object", "runs", "application/json", `[1]`, "must be a JSON object"},
		{"unknown field", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{},"parameters":{}}`,
			`unknown field "parameters"`},
		{"nested unknown field", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{"paramters":{}}}`,
			`unknown field "runtime_config.paramters"`},
		{"unknown reference field", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p","version":"1"},"runtime_config":{}}`,
			`unknown field "pipeline_version_reference.version"`},
		{"camel case name", "runs", "application/json",
			`{"displayName":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{}}`,
			`unknown field "displayName"`},
		{"name as number", "runs", "application/json",
			`{"display_name":42,"pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{}}`,
			"invalid value 42 for display_name: want a string"},
		{"parameters as list", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{"parameters":[1]}}`,
			"runtime_config.parameters: want an object"},
		{"output only state", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{},"state":"RUNNING"}`,
			`field "state" is output only`},
		{"output only run id", "runs", "application/json",
			`{"run_id":"r","display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{}}`,
			`field "run_id" is output only`},
		{"invalid enum", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{},"storage_state":"GONE"}`,
			"want one of STORAGE_STATE_UNSPECIFIED, AVAILABLE, ARCHIVED"},
		{"deprecated version id", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_id":"v1","runtime_config":{}}`, "pipeline_version_id is deprecated"},
		{"missing display name", "runs", "application/json",
			`{"pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{}}`, "missing display_name"},
		{"empty display name", "runs", "application/json",
			`{"display_name":"","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{}}`, "missing display_name"},
		{"missing runtime config", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"}}`, "missing runtime_config"},
		{"missing pipeline reference", "runs", "application/json",
			`{"display_name":"nightly","runtime_config":{}}`, "missing pipeline reference"},
		{"null pipeline reference", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":null,"runtime_config":{}}`, "missing pipeline reference"},
		{"missing pipeline id", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_version_id":"v"},"runtime_config":{}}`,
			"missing pipeline_version_reference.pipeline_id"},
		{"reference and spec", "runs", "application/json",
			`{"display_name":"nightly","pipeline_version_reference":{"pipeline_id":"p"},"pipeline_spec":{},"runtime_config":{}}`,
			"not both"},
		{"deprecated experiment query", "runs?experiment_id=exp-1", "application/json", validBody,
			"experiment_id query parameter is deprecated"},
		{"unknown query parameter", "runs?dry_run=true", "application/json", validBody, `unknown query parameter "dry_run"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, rpc := sendError(t, fake, http.MethodPost, tt.path, tt.contentType, tt.body)

			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, int(kfp.CodeInvalidArgument), rpc.Code)
			assert.Contains(t, rpc.Message, tt.wantMessage)
			assert.Empty(t, fake.Created())
			assert.Equal(t, 1, fake.CallCount())
		})
	}
}

func TestFakeRecordsRejectedCreate(t *testing.T) {
	fake := startFake(t)

	sendError(t, fake, http.MethodPost, "runs", "application/json", `{"display_name":"nightly","runtime_config":{}}`)

	assert.Equal(t, []string{"POST runs nightly → 400 INVALID_ARGUMENT"}, fake.Calls())
}

func TestFakeCreateResponse(t *testing.T) {
	fake := startFake(t)

	status, body := send(t, fake, http.MethodPost, "runs", "application/json; charset=utf-8", `{
		"display_name":"nightly","description":"d","experiment_id":"exp-1","service_account":"sa",
		"pipeline_version_reference":{"pipeline_id":"pipe-1","pipeline_version_id":"ver-1"},
		"runtime_config":{"parameters":{"batch_size":1000,"rate":"0.1"},"pipeline_root":""}}`)

	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "run-0001", body["run_id"])
	assert.Equal(t, "nightly", body["display_name"])
	assert.Equal(t, "d", body["description"])
	assert.Equal(t, "exp-1", body["experiment_id"])
	assert.Equal(t, "sa", body["service_account"])
	assert.Equal(t, "PENDING", body["state"])
	assert.Equal(t, "AVAILABLE", body["storage_state"])
	assert.Equal(t, "1970-01-01T00:00:00Z", body["finished_at"])
	assert.Nil(t, body["error"])
	assert.Equal(t, map[string]any{"pipeline_id": "pipe-1", "pipeline_version_id": "ver-1"}, body["pipeline_version_reference"])
	assert.Equal(t, map[string]any{"parameters": map[string]any{"batch_size": float64(1000), "rate": "0.1"}, "pipeline_root": ""},
		body["runtime_config"])
	createdAt, err := time.Parse(time.RFC3339, body["created_at"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), createdAt, 5*time.Second)
	history, ok := body["state_history"].([]any)
	require.True(t, ok)
	require.Len(t, history, 1)
	assert.Equal(t, "PENDING", history[0].(map[string]any)["state"])

	created := fake.Created()
	require.Len(t, created, 1)
	assert.Equal(t, "run-0001", created[0].ID)
	assert.Equal(t, "pipe-1", created[0].PipelineID)
	assert.Equal(t, map[string]any{"batch_size": float64(1000), "rate": "0.1"}, created[0].Parameters)
}

// TestFakeRunHasExampleFields compares the field names of a created run with
// the maintainers' example, which shows every field the API server writes
// for a run with a pipeline version reference.
func TestFakeRunHasExampleFields(t *testing.T) {
	fake := startFake(t)
	data, err := os.ReadFile(filepath.Join("contract", "run.completed.json"))
	require.NoError(t, err)
	var example map[string]any
	require.NoError(t, json.Unmarshal(data, &example))

	_, body := send(t, fake, http.MethodPost, "runs", "application/json", validBody)

	assert.Equal(t, sortedKeys(example), sortedKeys(body))
}

func TestFakeAcceptsInlinePipelineSpec(t *testing.T) {
	fake := startFake(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "kfp", "run.completed_with_spec.json"))
	require.NoError(t, err)
	var example map[string]any
	require.NoError(t, json.Unmarshal(data, &example))
	request, err := json.Marshal(map[string]any{
		"display_name":   "hello-world",
		"pipeline_spec":  example["pipeline_spec"],
		"runtime_config": map[string]any{},
	})
	require.NoError(t, err)

	status, body := send(t, fake, http.MethodPost, "runs", "application/json", string(request))

	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, example["pipeline_spec"], body["pipeline_spec"])
	assert.NotContains(t, body, "pipeline_version_reference")
	created := fake.Created()
	require.Len(t, created, 1)
	assert.Empty(t, created[0].PipelineID)
}

func TestFakeStateProgression(t *testing.T) {
	fake := startFake(t)
	fake.SetOutcome("", kfp.StateFailed)
	fake.SetOutcome("nightly", kfp.StateSucceeded)
	fake.SetOutcome("nightly-stuck", kfp.StateRunning)
	fake.SetOutcome("queued", kfp.StatePending)

	tests := []struct {
		displayName string
		want        []string
	}{
		{"nightly-1", []string{"RUNNING", "SUCCEEDED", "SUCCEEDED"}},
		{"nightly-stuck-1", []string{"RUNNING", "RUNNING", "RUNNING"}},
		{"queued-1", []string{"PENDING", "PENDING", "PENDING"}},
		{"weekly", []string{"RUNNING", "FAILED", "FAILED"}},
	}
	for _, tt := range tests {
		t.Run(tt.displayName, func(t *testing.T) {
			body := `{"display_name":"` + tt.displayName + `","pipeline_version_reference":{"pipeline_id":"p"},"runtime_config":{}}`
			_, created := send(t, fake, http.MethodPost, "runs", "application/json", body)
			runID := created["run_id"].(string)

			var states []string
			var last map[string]any
			for range 3 {
				status, run := send(t, fake, http.MethodGet, "runs/"+runID, "", "")
				require.Equal(t, http.StatusOK, status)
				states = append(states, run["state"].(string))
				last = run
			}

			assert.Equal(t, tt.want, states)
			history := last["state_history"].([]any)
			assert.Len(t, history, len(slices.Compact(append([]string{"PENDING"}, tt.want...))))
			if kfp.Terminal(tt.want[2]) {
				assert.NotEqual(t, "1970-01-01T00:00:00Z", last["finished_at"])
			} else {
				assert.Equal(t, "1970-01-01T00:00:00Z", last["finished_at"])
			}
		})
	}
}

func TestFakeFailedRunCarriesExampleError(t *testing.T) {
	fake := startFake(t)
	fake.SetOutcome("", kfp.StateFailed)
	_, created := send(t, fake, http.MethodPost, "runs", "application/json", validBody)
	runID := created["run_id"].(string)

	send(t, fake, http.MethodGet, "runs/"+runID, "", "")
	_, run := send(t, fake, http.MethodGet, "runs/"+runID, "", "")

	assert.Equal(t, map[string]any{"code": float64(1), "message": "This was a Failed Run.", "details": []any{}}, run["error"])
	stored, ok := fake.Run(runID)
	require.True(t, ok)
	assert.Equal(t, "This was a Failed Run.", stored.Error)
}

func TestFakeListRunsMovesNothing(t *testing.T) {
	fake := startFake(t)
	send(t, fake, http.MethodPost, "runs", "application/json", validBody)

	send(t, fake, http.MethodGet, "runs", "", "")
	send(t, fake, http.MethodGet, "runs", "", "")

	run, ok := fake.Run("run-0001")
	require.True(t, ok)
	assert.Equal(t, kfp.StatePending, run.State)
}

func TestSetOutcomeRejectsUnknownState(t *testing.T) {
	fake := kfpfake.New()

	assert.Panics(t, func() { fake.SetOutcome("x", "DONE") })
	assert.Panics(t, func() { fake.SetOutcome("x", kfp.StateUnspecified) })
	assert.Panics(t, func() { fake.SetOutcome("x", "failed") })
}

func TestAddRunDefaults(t *testing.T) {
	fake := startFake(t)

	added := fake.AddRun(kfp.Run{DisplayName: "nightly", Parameters: map[string]any{"a": "b"}})

	assert.Equal(t, "run-0001", added.ID)
	assert.Equal(t, kfpfake.DefaultExperimentID, added.ExperimentID)
	assert.Equal(t, kfp.StateSucceeded, added.State)
	assert.Equal(t, "AVAILABLE", added.StorageState)
	assert.WithinDuration(t, time.Now(), added.CreatedAt, 5*time.Second)
	assert.Empty(t, fake.Created(), "Created lists only runs created through POST")
	assert.Panics(t, func() { fake.AddRun(kfp.Run{ID: "run-0001"}) })
	assert.Panics(t, func() { fake.AddRun(kfp.Run{State: "DONE"}) })

	_, body := send(t, fake, http.MethodPost, "runs", "application/json", validBody)
	assert.Equal(t, "run-0002", body["run_id"], "created IDs skip the ones AddRun used")
}

func TestAddRunWithErrorMessage(t *testing.T) {
	fake := startFake(t)
	fake.AddRun(kfp.Run{ID: "run-x", DisplayName: "nightly", State: kfp.StateFailed, Error: "OOMKilled"})

	_, body := send(t, fake, http.MethodGet, "runs/run-x", "", "")

	assert.Equal(t, map[string]any{"code": float64(kfp.CodeUnknown), "message": "OOMKilled", "details": []any{}}, body["error"])
}

func TestFakeListFilterAndPaging(t *testing.T) {
	fake := startFake(t)
	for _, run := range []kfp.Run{
		{ID: "r1", DisplayName: "nightly-1", ExperimentID: "exp-1"},
		{ID: "r2", DisplayName: "nightly-2", ExperimentID: "exp-1", State: kfp.StateFailed},
		{ID: "r3", DisplayName: "weekly-1", ExperimentID: "exp-1"},
		{ID: "r4", DisplayName: "nightly-3", ExperimentID: "exp-2"},
		{ID: "r5", DisplayName: "nightly-4", ExperimentID: "exp-1"},
	} {
		fake.AddRun(run)
	}
	substring := `{"predicates":[{"key":"display_name","operation":"IS_SUBSTRING","string_value":"nightly"}]}`

	first := listIDs(t, fake, "experiment_id=exp-1&page_size=2&filter="+url.QueryEscape(substring))
	second := listIDs(t, fake, "experiment_id=exp-1&page_size=2&filter="+url.QueryEscape(substring)+"&page_token="+first.next)

	assert.Equal(t, []string{"r1", "r2"}, first.ids)
	assert.Equal(t, 3, first.total)
	assert.NotEmpty(t, first.next)
	assert.Equal(t, []string{"r5"}, second.ids)
	assert.Empty(t, second.next)
}

func TestFakeListFilterOperations(t *testing.T) {
	fake := startFake(t)
	fake.AddRun(kfp.Run{ID: "r1", DisplayName: "nightly", State: kfp.StateSucceeded})
	fake.AddRun(kfp.Run{ID: "r2", DisplayName: "weekly", State: kfp.StateFailed})
	fake.AddRun(kfp.Run{ID: "r3", DisplayName: "nightly", State: kfp.StateFailed})

	tests := []struct {
		name   string
		filter string
		want   []string
	}{
		{"equals", `{"predicates":[{"key":"display_name","operation":"EQUALS","string_value":"nightly"}]}`, []string{"r1", "r3"}},
		{"camel case value", `{"predicates":[{"key":"name","operation":"EQUALS","stringValue":"weekly"}]}`, []string{"r2"}},
		{"not equals", `{"predicates":[{"key":"state","operation":"NOT_EQUALS","string_value":"FAILED"}]}`, []string{"r1"}},
		{"in", `{"predicates":[{"key":"run_id","operation":"IN","string_values":{"values":["r2","r3"]}}]}`, []string{"r2", "r3"}},
		{"and", `{"predicates":[{"key":"display_name","operation":"EQUALS","string_value":"nightly"},
			{"key":"state","operation":"EQUALS","string_value":"FAILED"}]}`, []string{"r3"}},
		{"no predicates", `{}`, []string{"r1", "r2", "r3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := listIDs(t, fake, "filter="+url.QueryEscape(tt.filter))

			assert.Equal(t, tt.want, page.ids)
			assert.Equal(t, len(tt.want), page.total)
		})
	}
}

func TestFakeRejectsBadListRequests(t *testing.T) {
	tests := []struct {
		name        string
		query       string
		wantMessage string
	}{
		{"filter not json", "filter=display_name%3Dx", "want a JSON-serialised Filter"},
		{"unknown filter field", "filter=" + url.QueryEscape(`{"predicate":[]}`), `unknown field "predicate"`},
		{"unknown key", "filter=" + url.QueryEscape(`{"predicates":[{"key":"owner","operation":"EQUALS","string_value":"x"}]}`),
			`key "owner" is not supported`},
		{"numeric operation", "filter=" + url.QueryEscape(`{"predicates":[{"key":"name","operation":1,"string_value":"x"}]}`),
			`invalid value 1 for "operation"`},
		{"unsupported operation", "filter=" + url.QueryEscape(`{"predicates":[{"key":"name","operation":"LESS_THAN","string_value":"x"}]}`),
			`operation "LESS_THAN" is not supported`},
		{"int value", "filter=" + url.QueryEscape(`{"predicates":[{"key":"name","operation":"EQUALS","int_value":3}]}`),
			`value field "int_value" is not supported`},
		{"missing value", "filter=" + url.QueryEscape(`{"predicates":[{"key":"name","operation":"EQUALS"}]}`), "needs string_value"},
		{"in without list", "filter=" + url.QueryEscape(`{"predicates":[{"key":"name","operation":"IN","string_value":"x"}]}`),
			"IN needs string_values"},
		{"sort by", "sort_by=created_at+desc", "sort_by is not supported"},
		{"bad page token", "page_token=bogus", `invalid page token "bogus"`},
		{"page size text", "page_size=ten", `invalid value "ten" for query parameter "page_size"`},
		{"negative page size", "page_size=-1", "invalid page_size -1"},
		{"unknown parameter", "owner=me", `unknown query parameter "owner"`},
		{"repeated parameter", "experiment_id=a&experiment_id=b", `query parameter "experiment_id" is repeated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, rpc := sendError(t, fake, http.MethodGet, "runs?"+tt.query, "", "")

			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, int(kfp.CodeInvalidArgument), rpc.Code)
			assert.Contains(t, rpc.Message, tt.wantMessage)
		})
	}
}

func TestFakeListEmpty(t *testing.T) {
	fake := startFake(t)

	status, body := send(t, fake, http.MethodGet, "runs?namespace=team-a", "", "")

	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, map[string]any{"runs": []any{}, "total_size": float64(0), "next_page_token": ""}, body)
	assert.Equal(t, []string{"GET runs namespace=team-a"}, fake.Calls())
}

func TestFakeGetRunNotFound(t *testing.T) {
	fake := startFake(t)

	status, rpc := sendError(t, fake, http.MethodGet, "runs/run-9", "", "")

	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, int(kfp.CodeNotFound), rpc.Code)
	assert.Contains(t, rpc.Message, "run-9")
	assert.Equal(t, []string{"GET runs/run-9 → 404 NOT_FOUND"}, fake.Calls())
}

func TestFakeUnservedRoutes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantCode   kfp.Code
	}{
		{"unknown path", http.MethodGet, "experiments", http.StatusNotFound, kfp.CodeNotFound},
		{"runs with put", http.MethodPut, "runs", http.StatusMethodNotAllowed, kfp.CodeUnimplemented},
		{"run with post", http.MethodPost, "runs/run-1", http.StatusMethodNotAllowed, kfp.CodeUnimplemented},
		{"archive", http.MethodPost, "runs/run-1:archive", http.StatusNotImplemented, kfp.CodeUnimplemented},
		{"terminate with get", http.MethodGet, "runs/run-1:terminate", http.StatusMethodNotAllowed, kfp.CodeUnimplemented},
		{"delete", http.MethodDelete, "runs/run-1", http.StatusNotImplemented, kfp.CodeUnimplemented},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)

			status, rpc := sendError(t, fake, tt.method, tt.path, "application/json", "{}")

			assert.Equal(t, tt.wantStatus, status)
			assert.Equal(t, int(tt.wantCode), rpc.Code)
		})
	}
}

func TestFakeFailNextMatchesRoutes(t *testing.T) {
	fake := startFake(t)
	fake.AddRun(kfp.Run{ID: "run-a", DisplayName: "nightly"})
	fake.FailNext("POST runs", http.StatusServiceUnavailable, 2)
	fake.FailNext("/apis/v2beta1/runs/{run_id}", http.StatusForbidden, 1)

	listStatus, _ := send(t, fake, http.MethodGet, "runs", "", "")
	first, _ := sendError(t, fake, http.MethodPost, "runs", "application/json", validBody)
	second, _ := sendError(t, fake, http.MethodPost, "runs", "application/json", validBody)
	third, _ := send(t, fake, http.MethodPost, "runs", "application/json", validBody)
	getStatus, _ := sendError(t, fake, http.MethodGet, "runs/run-a", "", "")
	getAgain, _ := send(t, fake, http.MethodGet, "runs/run-a", "", "")

	assert.Equal(t, http.StatusOK, listStatus, "a POST route does not match GET")
	assert.Equal(t, []int{503, 503, 200}, []int{first, second, third})
	assert.Equal(t, http.StatusForbidden, getStatus)
	assert.Equal(t, http.StatusOK, getAgain)
	assert.Equal(t, []string{
		"GET runs",
		"POST runs (injected) → 503 UNAVAILABLE",
		"POST runs (injected) → 503 UNAVAILABLE",
		"POST runs nightly",
		"GET runs/run-a (injected) → 403 PERMISSION_DENIED",
		"GET runs/run-a (SUCCEEDED)",
	}, fake.Calls())
}

func TestFakeFailNextRetryAfterHeader(t *testing.T) {
	fake := startFake(t)
	fake.FailNextRetryAfter("runs", http.StatusTooManyRequests, 1, 3*time.Second)

	resp, err := http.Get(fake.URL() + "/apis/v2beta1/runs")
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "3", resp.Header.Get("Retry-After"))
}

func TestFakeRequireToken(t *testing.T) {
	fake := startFake(t)
	fake.RequireToken("s3cret")

	statuses := map[string]int{}
	for name, header := range map[string]string{"missing": "", "wrong": "Bearer nope", "right": "Bearer s3cret", "no scheme": "s3cret"} {
		req, err := http.NewRequest(http.MethodGet, fake.URL()+"/apis/v2beta1/runs", nil)
		require.NoError(t, err)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		statuses[name] = resp.StatusCode
	}

	assert.Equal(t, map[string]int{"missing": 401, "wrong": 401, "right": 200, "no scheme": 401}, statuses)
}

func TestFakeHold(t *testing.T) {
	fake := startFake(t)
	release := fake.Hold("GET runs")
	done := make(chan int)
	go func() {
		resp, err := http.Get(fake.URL() + "/apis/v2beta1/runs")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()

	select {
	case <-done:
		t.Fatal("the held request finished before release")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	release()

	assert.Equal(t, http.StatusOK, <-done)
}

func TestFakeDropResponse(t *testing.T) {
	fake := startFake(t)
	fake.DropResponseNext("POST runs", 1)

	req, err := http.NewRequest(http.MethodPost, fake.URL()+"/apis/v2beta1/runs", strings.NewReader(validBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	_, err = http.DefaultClient.Do(req)

	require.Error(t, err)
	assert.Len(t, fake.Created(), 1)
	assert.Equal(t, []string{"POST runs nightly (response dropped)"}, fake.Calls())
}

// TestContractMatchesTestdata keeps the embedded copies and the ones in
// testdata/kfp byte for byte equal.
func TestContractMatchesTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("contract", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 3)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			embedded, err := os.ReadFile(file)
			require.NoError(t, err)
			copied, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "kfp", filepath.Base(file)))
			require.NoError(t, err)
			assert.Equal(t, embedded, copied)
		})
	}
}

// listPage is one decoded listing page.
type listPage struct {
	ids   []string
	total int
	next  string
}

func listIDs(t *testing.T, fake *kfpfake.Fake, query string) listPage {
	t.Helper()
	status, body := send(t, fake, http.MethodGet, "runs?"+query, "", "")
	require.Equal(t, http.StatusOK, status, "body %v", body)

	page := listPage{total: int(body["total_size"].(float64)), next: body["next_page_token"].(string)}
	for _, run := range body["runs"].([]any) {
		page.ids = append(page.ids, run.(map[string]any)["run_id"].(string))
	}
	return page
}

func sortedKeys(object map[string]any) []string {
	keys := make([]string, 0, len(object))
	for key := range object {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
