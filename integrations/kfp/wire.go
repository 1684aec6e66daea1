package kfp

import (
	"fmt"
	"time"
)

// wireRunRequest is the body of POST runs: the input fields of a
// v2beta1Run.
type wireRunRequest struct {
	DisplayName              string                       `json:"display_name"`
	Description              string                       `json:"description,omitempty"`
	ExperimentID             string                       `json:"experiment_id,omitempty"`
	PipelineVersionReference wirePipelineVersionReference `json:"pipeline_version_reference"`
	RuntimeConfig            wireRuntimeConfig            `json:"runtime_config"`
	ServiceAccount           string                       `json:"service_account,omitempty"`
}

// wirePipelineVersionReference is a v2beta1PipelineVersionReference.
type wirePipelineVersionReference struct {
	PipelineID        string `json:"pipeline_id"`
	PipelineVersionID string `json:"pipeline_version_id,omitempty"`
}

// wireRuntimeConfig is a v2beta1RuntimeConfig without pipeline_root, which
// the client leaves to the pipeline's default.
type wireRuntimeConfig struct {
	Parameters map[string]any `json:"parameters"`
}

// wireRun is the part of a v2beta1Run that the client reads.
type wireRun struct {
	RunID        string `json:"run_id"`
	DisplayName  string `json:"display_name"`
	Description  string `json:"description"`
	ExperimentID string `json:"experiment_id"`
	StorageState string `json:"storage_state"`
	// PipelineVersionID is the deprecated top-level version ID, read when
	// pipeline_version_reference is absent.
	PipelineVersionID        string                        `json:"pipeline_version_id"`
	PipelineVersionReference *wirePipelineVersionReference `json:"pipeline_version_reference"`
	RuntimeConfig            *struct {
		Parameters map[string]any `json:"parameters"`
	} `json:"runtime_config"`
	ServiceAccount string `json:"service_account"`
	CreatedAt      string `json:"created_at"`
	FinishedAt     string `json:"finished_at"`
	State          string `json:"state"`
	Error          *struct {
		Code    int32  `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// wireListRuns is a v2beta1ListRunsResponse.
type wireListRuns struct {
	Runs          []wireRun `json:"runs"`
	TotalSize     int32     `json:"total_size"`
	NextPageToken string    `json:"next_page_token"`
}

func (w *wireRun) toRun() (Run, error) {
	createdAt, err := parseTimestamp("created_at", w.CreatedAt)
	if err != nil {
		return Run{}, err
	}
	finishedAt, err := parseTimestamp("finished_at", w.FinishedAt)
	if err != nil {
		return Run{}, err
	}

	run := Run{
		ID:                w.RunID,
		DisplayName:       w.DisplayName,
		Description:       w.Description,
		ExperimentID:      w.ExperimentID,
		PipelineVersionID: w.PipelineVersionID,
		State:             w.State,
		StorageState:      w.StorageState,
		ServiceAccount:    w.ServiceAccount,
		CreatedAt:         createdAt,
		FinishedAt:        finishedAt,
		Parameters:        map[string]any{},
	}
	if ref := w.PipelineVersionReference; ref != nil {
		run.PipelineID = ref.PipelineID
		run.PipelineVersionID = ref.PipelineVersionID
	}
	if w.RuntimeConfig != nil && w.RuntimeConfig.Parameters != nil {
		run.Parameters = w.RuntimeConfig.Parameters
	}
	if w.Error != nil {
		run.Error = w.Error.Message
	}
	return run, nil
}

// parseTimestamp reads an RFC 3339 time. An empty value and the Unix epoch
// give the zero time.
//
// NOTE: the epoch case assumes that the API server stores times as Unix
// seconds with 0 for a time not set yet, such as finished_at of an active
// run. The example runs in testdata/kfp show only set times.
func parseTimestamp(field, value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, value)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid %s %q: want an RFC 3339 time", field, value)
	}
	if at.Unix() == 0 && at.Nanosecond() == 0 {
		return time.Time{}, nil
	}
	return at.UTC(), nil
}
