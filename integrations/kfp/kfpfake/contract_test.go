package kfpfake

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
)

// validateJSON encodes value, decodes it as a request body would be, and
// checks it against the named swagger definition.
func validateJSON(t *testing.T, definition string, value any) error {
	t.Helper()
	data, err := json.Marshal(value)
	require.NoError(t, err)
	decoded, err := decodeJSON(data)
	require.NoError(t, err)
	contract := loadContract()
	return contract.validate(contract.definition(definition), "", decoded)
}

func TestExampleRunsPassValidator(t *testing.T) {
	for _, name := range []string{"run.completed.json", "run.failed.json", "run.completed_with_spec.json"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "kfp", name))
			require.NoError(t, err)
			decoded, err := decodeJSON(data)
			require.NoError(t, err)

			contract := loadContract()
			assert.NoError(t, contract.validate(contract.definition("v2beta1Run"), "", decoded))
		})
	}
}

func TestRunWireMatchesSwagger(t *testing.T) {
	created := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		stored *storedRun
	}{
		{"pending", &storedRun{
			run: kfp.Run{ID: "run-1", DisplayName: "nightly", ExperimentID: "exp-1", PipelineID: "p",
				State: kfp.StatePending, StorageState: "AVAILABLE", CreatedAt: created,
				Parameters: map[string]any{"batch_size": float64(1000)}},
			history: []stateChange{{state: kfp.StatePending, at: created}},
		}},
		{"failed by fake", &storedRun{
			run: kfp.Run{ID: "run-2", DisplayName: "nightly", ExperimentID: "exp-1", PipelineID: "p",
				State: kfp.StateFailed, StorageState: "AVAILABLE", CreatedAt: created, FinishedAt: created.Add(time.Minute),
				Error: "This was a Failed Run."},
			failedByFake: true,
		}},
		{"added with error", &storedRun{
			run: kfp.Run{ID: "run-3", DisplayName: "nightly", State: kfp.StateFailed, StorageState: "ARCHIVED",
				Error: "OOMKilled"},
		}},
		{"inline spec", &storedRun{
			run:          kfp.Run{ID: "run-4", DisplayName: "hello", State: kfp.StateSucceeded, StorageState: "AVAILABLE"},
			pipelineSpec: map[string]any{"pipelineInfo": map[string]any{"name": "hello-world"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NoError(t, validateJSON(t, "v2beta1Run", tt.stored.toWire()))
		})
	}
}

func TestListResponseMatchesSwagger(t *testing.T) {
	fake := New()
	fake.AddRun(kfp.Run{DisplayName: "nightly"})
	fake.AddRun(kfp.Run{DisplayName: "nightly", State: kfp.StateRunning})

	var page []map[string]any
	for _, stored := range fake.runs {
		page = append(page, stored.toWire())
	}

	assert.NoError(t, validateJSON(t, "v2beta1ListRunsResponse",
		map[string]any{"runs": page, "total_size": len(page), "next_page_token": encodePageToken(2)}))
}

func TestValidatorRejectsWrongTypes(t *testing.T) {
	tests := []struct {
		name       string
		definition string
		value      string
		wantErr    string
	}{
		{"bad date-time", "v2beta1Run", `{"created_at":"yesterday"}`, "want an RFC 3339 time"},
		{"fraction as int32", "googleRpcStatus", `{"code":1.5}`, "want an integer"},
		{"string as int32", "googleRpcStatus", `{"code":"1"}`, "want an integer"},
		{"int32 overflow", "googleRpcStatus", `{"code":3000000000}`, "want an integer"},
		{"int64 not a number", "v2beta1RunDetails", `{"pipeline_context_id":"abc"}`, "want an int64"},
		{"state as number", "v2beta1Run", `{"state":3}`, "want one of"},
		{"history not array", "v2beta1Run", `{"state_history":{}}`, "want an array"},
		{"history item field", "v2beta1Run", `{"state_history":[{"state":"RUNNING","when":"x"}]}`,
			`unknown field "state_history[0].when"`},
		{"plugin input not object", "v2beta1Run", `{"plugins_input":{"mlflow":"on"}}`, "want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decoded, err := decodeJSON([]byte(tt.value))
			require.NoError(t, err)
			contract := loadContract()

			err = contract.validate(contract.definition(tt.definition), "", decoded)

			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestValidatorAcceptsProtoJSONForms(t *testing.T) {
	tests := []struct {
		name       string
		definition string
		value      string
	}{
		{"null fields", "v2beta1Run", `{"error":null,"run_details":null,"runtime_config":null}`},
		{"int64 as string", "v2beta1RunDetails", `{"pipeline_context_id":"12","pipeline_run_context_id":34}`},
		{"any parameter values", "v2beta1RuntimeConfig", `{"parameters":{"a":1,"b":"x","c":[1,{"d":null}],"e":true}}`},
		{"free pipeline spec", "v2beta1Run", `{"pipeline_spec":{"anything":{"goes":[1]}}}`},
		{"any details", "googleRpcStatus", `{"code":3,"details":[{"@type":"type.googleapis.com/x","extra":1}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decoded, err := decodeJSON([]byte(tt.value))
			require.NoError(t, err)
			contract := loadContract()

			assert.NoError(t, contract.validate(contract.definition(tt.definition), "", decoded))
		})
	}
}

func TestOutputOnlyFieldsFromSwagger(t *testing.T) {
	fields := loadContract().outputOnlyFields()

	for _, name := range []string{"run_id", "storage_state", "created_at", "scheduled_at", "finished_at", "state",
		"run_details", "state_history", "plugins_output"} {
		assert.True(t, fields[name], "%s is output only", name)
	}
	for _, name := range []string{"display_name", "experiment_id", "description", "pipeline_version_reference",
		"runtime_config", "service_account", "plugins_input"} {
		assert.False(t, fields[name], "%s is an input", name)
	}
}

func TestRouteMatching(t *testing.T) {
	tests := []struct {
		route  string
		method string
		path   string
		want   bool
	}{
		{"runs", "GET", "runs", true},
		{"runs", "POST", "runs", true},
		{"POST runs", "GET", "runs", false},
		{"/apis/v2beta1/runs", "POST", "runs", true},
		{"runs/{run_id}", "GET", "runs/run-1", true},
		{"runs/{run_id}", "GET", "runs", false},
		{"GET runs/run-1", "GET", "runs/run-2", false},
		{"runs/{run_id}", "POST", "runs/run-1:terminate", true},
		{"runs/{run_id}:terminate", "POST", "runs/run-1:terminate", true},
		{"runs/{run_id}:terminate", "GET", "runs/run-1", false},
		{"runs/{run_id}:terminate", "POST", "runs/:terminate", false},
	}
	for _, tt := range tests {
		t.Run(tt.route+" "+tt.method+" "+tt.path, func(t *testing.T) {
			assert.Equal(t, tt.want, parseRoute(tt.route).matches(tt.method, tt.path))
		})
	}
}
