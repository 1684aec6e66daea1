package kfp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// RuntimeState values of a run, as the API spells them.
const (
	StateUnspecified = "RUNTIME_STATE_UNSPECIFIED"
	StatePending     = "PENDING"
	StateRunning     = "RUNNING"
	StateSucceeded   = "SUCCEEDED"
	StateSkipped     = "SKIPPED"
	StateFailed      = "FAILED"
	StateCanceling   = "CANCELING"
	StateCanceled    = "CANCELED"
	StatePaused      = "PAUSED"
)

// Terminal reports whether a run in state has stopped for good: SUCCEEDED,
// SKIPPED, FAILED or CANCELED. CANCELING and PAUSED are not terminal,
// because a canceling run still moves to a final state and a paused run
// can resume.
func Terminal(state string) bool {
	switch state {
	case StateSucceeded, StateSkipped, StateFailed, StateCanceled:
		return true
	}
	return false
}

// Succeeded reports whether state is SUCCEEDED. A SKIPPED run is terminal
// but does not count as a success.
func Succeeded(state string) bool {
	return state == StateSucceeded
}

// RunRequest describes a run to start from an uploaded pipeline version.
type RunRequest struct {
	// DisplayName is the run's name. It is required, and EnsureRun uses it
	// to find an earlier run, so it should be unique per run to start.
	DisplayName string
	Description string
	// ExperimentID is the experiment the run belongs to. The server uses
	// its default experiment when it is empty.
	ExperimentID string
	// PipelineID is required. PipelineVersionID is optional, and the
	// server uses the pipeline's latest version when it is empty.
	PipelineID        string
	PipelineVersionID string
	// Parameters are the pipeline's runtime parameters. Each value must
	// encode as JSON, and numbers stay numbers on the wire.
	Parameters map[string]any
	// ServiceAccount is the Kubernetes service account the run uses. The
	// server picks its default when it is empty.
	ServiceAccount string
}

// Run is a pipeline run as the API server returns it.
type Run struct {
	ID           string
	DisplayName  string
	Description  string
	ExperimentID string
	// PipelineID and PipelineVersionID name the pipeline version the run
	// executes. Both are empty for a run created from an inline pipeline
	// spec.
	PipelineID        string
	PipelineVersionID string
	// State is a RuntimeState, such as PENDING, RUNNING or SUCCEEDED.
	State string
	// StorageState is AVAILABLE or ARCHIVED.
	StorageState   string
	ServiceAccount string
	// CreatedAt and FinishedAt are in UTC. Either is zero when the server
	// sent no time or the Unix epoch, so FinishedAt is zero while the run
	// is active.
	CreatedAt  time.Time
	FinishedAt time.Time
	// Error is the message of the run's error status, set when the run
	// failed or the server could not read part of it.
	Error string
	// Parameters are the runtime parameters. A number decodes as float64,
	// because the API carries each value as a google.protobuf.Value, whose
	// numbers are doubles.
	Parameters map[string]any
}

// CreateRun starts the run that req describes and returns it as the server
// stored it. It creates a new run on every call, even when a run with the
// same display name exists. EnsureRun does not.
func (c *Client) CreateRun(ctx context.Context, req RunRequest) (Run, error) {
	payload, err := encodeRunRequest(req)
	if err != nil {
		return Run{}, fmt.Errorf("creating run %q: %w", req.DisplayName, err)
	}

	var wire wireRun
	if err := c.post(ctx, "runs", payload, &wire); err != nil {
		return Run{}, fmt.Errorf("creating run %q: %w", req.DisplayName, err)
	}
	run, err := wire.toRun()
	if err != nil {
		return Run{}, fmt.Errorf("creating run %q: decoding response: %w", req.DisplayName, err)
	}
	if run.ID == "" {
		return Run{}, fmt.Errorf("creating run %q: decoding response: no run_id", req.DisplayName)
	}
	return run, nil
}

// GetRun returns the run runID. A missing run gives an error matching
// ErrNotFound.
func (c *Client) GetRun(ctx context.Context, runID string) (Run, error) {
	path, err := runPath(runID)
	if err != nil {
		return Run{}, fmt.Errorf("getting run: %w", err)
	}

	var wire wireRun
	if err := c.get(ctx, path, nil, &wire); err != nil {
		return Run{}, fmt.Errorf("getting run %s: %w", runID, err)
	}
	run, err := wire.toRun()
	if err != nil {
		return Run{}, fmt.Errorf("getting run %s: decoding response: %w", runID, err)
	}
	return run, nil
}

// TerminateRun requests that the API server stop the active run runID,
// with POST runs/{run_id}:terminate and no body. The server moves a
// PENDING, RUNNING or PAUSED run to CANCELING at once, and reports it
// CANCELED once its workflow has stopped. For any other state it responds INVALID_ARGUMENT,
// and for a missing run NOT_FOUND, which matches ErrNotFound. (Source:
// TerminateRun in backend/src/apiserver/storage/run_store.go of
// kubeflow/pipelines.) A caller that cannot tell whether an earlier call
// got through reads the run first: a CANCELING run was terminated.
func (c *Client) TerminateRun(ctx context.Context, runID string) error {
	path, err := runPath(runID)
	if err != nil {
		return fmt.Errorf("terminating run: %w", err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiURL+path+":terminate", nil)
	if err != nil {
		return fmt.Errorf("terminating run %s: %w", runID, err)
	}
	if err := c.do(req, nil); err != nil {
		return fmt.Errorf("terminating run %s: %w", runID, err)
	}
	return nil
}

// runPath returns the path of the run runID below the API root.
// url.PathEscape leaves "." and "..", which a server or proxy that cleans
// paths resolves as dot segments, so the call would reach another endpoint
// and its 404 would read as a missing run. Those IDs are rejected instead.
func runPath(runID string) (string, error) {
	switch runID {
	case "":
		return "", invalidArgument("run ID is required")
	case ".", "..":
		return "", invalidArgument("run ID %q is not a valid run ID: it would be read as a dot segment of the URL path", runID)
	}
	return "runs/" + url.PathEscape(runID), nil
}

// validateRunRequest rejects a request that the server would reject for a
// missing field.
func validateRunRequest(req RunRequest) error {
	if req.DisplayName == "" {
		return invalidArgument("run display name is required")
	}
	if req.PipelineID == "" {
		return invalidArgument("pipeline ID is required")
	}
	return nil
}

// encodeRunRequest returns req as the JSON body of POST runs, a
// v2beta1Run holding only input fields.
func encodeRunRequest(req RunRequest) ([]byte, error) {
	if err := validateRunRequest(req); err != nil {
		return nil, err
	}

	parameters := req.Parameters
	if parameters == nil {
		parameters = map[string]any{}
	}
	body := wireRunRequest{
		DisplayName:  req.DisplayName,
		Description:  req.Description,
		ExperimentID: req.ExperimentID,
		PipelineVersionReference: wirePipelineVersionReference{
			PipelineID:        req.PipelineID,
			PipelineVersionID: req.PipelineVersionID,
		},
		RuntimeConfig:  wireRuntimeConfig{Parameters: parameters},
		ServiceAccount: req.ServiceAccount,
	}

	payload, err := json.Marshal(body)
	if err != nil {
		return nil, invalidArgument("encoding run parameters: %v", err)
	}
	return payload, nil
}
