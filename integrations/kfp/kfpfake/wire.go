package kfpfake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sopbot/sopbot/integrations/kfp"
)

// rpcError is an error response with a googleRpcStatus body.
type rpcError struct {
	status     int
	code       kfp.Code
	message    string
	retryAfter time.Duration
}

func invalidArgument(format string, args ...any) *rpcError {
	return &rpcError{status: http.StatusBadRequest, code: kfp.CodeInvalidArgument, message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *rpcError {
	return &rpcError{status: http.StatusNotFound, code: kfp.CodeNotFound, message: fmt.Sprintf(format, args...)}
}

// codeForStatus picks the google.rpc.Code that grpc-gateway pairs with an
// HTTP status, for injected failures.
func codeForStatus(status int) kfp.Code {
	switch status {
	case http.StatusBadRequest:
		return kfp.CodeInvalidArgument
	case http.StatusUnauthorized:
		return kfp.CodeUnauthenticated
	case http.StatusForbidden:
		return kfp.CodePermissionDenied
	case http.StatusNotFound:
		return kfp.CodeNotFound
	case http.StatusConflict:
		return kfp.CodeAlreadyExists
	case http.StatusRequestTimeout, http.StatusGatewayTimeout:
		return kfp.CodeDeadlineExceeded
	case http.StatusTooManyRequests:
		return kfp.CodeResourceExhausted
	case http.StatusInternalServerError:
		return kfp.CodeInternal
	case http.StatusNotImplemented:
		return kfp.CodeUnimplemented
	case http.StatusServiceUnavailable:
		return kfp.CodeUnavailable
	}
	return kfp.CodeUnknown
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

// writeError sends a googleRpcStatus body.
func writeError(w http.ResponseWriter, rpcErr *rpcError) {
	if rpcErr.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(rpcErr.retryAfter/time.Second)))
	}
	writeJSON(w, rpcErr.status, map[string]any{
		"code":    int32(rpcErr.code),
		"message": rpcErr.message,
		"details": []any{},
	})
}

// formatTime writes t as the API server does, RFC 3339 in UTC. A zero t is
// written as the Unix epoch, the server's form of a time not set yet.
func formatTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(time.RFC3339)
}

// toWire returns the run as the API server sends a v2beta1Run. Unset fields
// are written with their empty values, as in the example runs, and only the
// pipeline source that the run was created with is sent. The caller holds
// f.mu.
func (s *storedRun) toWire() map[string]any {
	run := s.run
	parameters := maps.Clone(run.Parameters)
	if parameters == nil {
		parameters = map[string]any{}
	}
	history := make([]map[string]any, 0, len(s.history))
	for _, change := range s.history {
		history = append(history, map[string]any{"update_time": formatTime(change.at), "state": change.state})
	}

	wire := map[string]any{
		"experiment_id":    run.ExperimentID,
		"run_id":           run.ID,
		"display_name":     run.DisplayName,
		"storage_state":    run.StorageState,
		"description":      run.Description,
		"runtime_config":   map[string]any{"parameters": parameters, "pipeline_root": ""},
		"service_account":  run.ServiceAccount,
		"created_at":       formatTime(run.CreatedAt),
		"scheduled_at":     formatTime(run.CreatedAt),
		"finished_at":      formatTime(run.FinishedAt),
		"state":            run.State,
		"error":            s.errorStatus(),
		"run_details":      nil,
		"recurring_run_id": "",
		"state_history":    history,
		"plugins_input":    map[string]any{},
		"plugins_output":   map[string]any{},
	}
	if s.pipelineSpec != nil {
		wire["pipeline_spec"] = s.pipelineSpec
	} else {
		wire["pipeline_version_reference"] = map[string]any{
			"pipeline_id":         run.PipelineID,
			"pipeline_version_id": run.PipelineVersionID,
		}
	}
	return wire
}

// errorStatus returns the run's error as a googleRpcStatus, or nil. A run
// the fake failed carries the example failed run's status, and a run that
// AddRun stored with an Error carries that message with code UNKNOWN.
func (s *storedRun) errorStatus() any {
	if s.run.Error == "" {
		return nil
	}
	if s.failedByFake {
		return exampleError()
	}
	return map[string]any{"code": int32(kfp.CodeUnknown), "message": s.run.Error, "details": []any{}}
}

// encodePageToken hides the offset so clients treat the token as opaque.
func encodePageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodePageToken(token string) (int, *rpcError) {
	if token == "" {
		return 0, nil
	}

	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		if digits, ok := strings.CutPrefix(string(raw), "offset:"); ok {
			if offset, convErr := strconv.Atoi(digits); convErr == nil && offset >= 0 {
				return offset, nil
			}
		}
	}
	return 0, invalidArgument("invalid page token %q", token)
}
