package kfpfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/sopbot/sopbot/integrations/kfp"
)

// maxBodyBytes caps the request bodies the fake reads.
const maxBodyBytes = 1 << 20

// Swagger path templates of the endpoints the fake serves.
const (
	runsTemplate      = "/apis/v2beta1/runs"
	runTemplate       = "/apis/v2beta1/runs/{run_id}"
	terminateTemplate = "/apis/v2beta1/runs/{run_id}:terminate"
)

// terminateSuffix ends the path of the terminate call, runs/{run_id}:terminate.
const terminateSuffix = ":terminate"

// handler serves one endpoint. It returns the readable call line, the
// response on success, or an error.
type handler func(w http.ResponseWriter, r *http.Request, path string) (call string, response any, rpcErr *rpcError)

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	request := r.Method + " " + path
	f.wait(r, path)

	f.mu.Lock()
	injected, failing := takeFailure(f.failures, r.Method, path)
	f.mu.Unlock()
	if failing {
		f.finish(w, request+" (injected)", nil, &rpcError{status: injected.status, code: codeForStatus(injected.status),
			message: "injected failure", retryAfter: injected.retryAfter})
		return
	}
	if rpcErr := f.checkToken(r); rpcErr != nil {
		f.finish(w, request, nil, rpcErr)
		return
	}

	serve, rpcErr := f.route(r.Method, r.URL.Path, path)
	if rpcErr != nil {
		f.finish(w, request, nil, rpcErr)
		return
	}
	call, response, rpcErr := serve(w, r, path)
	if call == "" {
		call = request
	}

	f.mu.Lock()
	_, dropping := takeFailure(f.drops, r.Method, path)
	f.mu.Unlock()
	if dropping {
		f.record(call + " (response dropped)")
		dropConnection(w)
		return
	}
	f.finish(w, call, response, rpcErr)
}

// route picks the handler for a request. Like grpc-gateway, it returns 404
// NOT_FOUND for a path it does not know and 405 UNIMPLEMENTED for a known
// path with another method. The run actions that the swagger lists and the
// fake does not model (archive, unarchive, retry and delete) return 501
// UNIMPLEMENTED.
func (f *Fake) route(method, fullPath, path string) (handler, *rpcError) {
	segments := strings.Split(path, "/")
	switch {
	case !strings.HasPrefix(fullPath, apiPrefix):
		return nil, notFound("Not Found")
	case path == "runs" && method == http.MethodPost:
		return f.createRun, nil
	case path == "runs" && method == http.MethodGet:
		return f.listRuns, nil
	case path == "runs":
		return nil, methodNotAllowed(method, path)
	case len(segments) == 2 && segments[0] == "runs" && isTerminate(segments[1]) && method == http.MethodPost:
		return f.terminateRun, nil
	case len(segments) == 2 && segments[0] == "runs" && isTerminate(segments[1]):
		return nil, methodNotAllowed(method, path)
	case len(segments) == 2 && segments[0] == "runs" && segments[1] != "" && strings.Contains(segments[1], ":"):
		return nil, &rpcError{status: http.StatusNotImplemented, code: kfp.CodeUnimplemented,
			message: "the fake does not implement " + method + " " + path}
	case len(segments) == 2 && segments[0] == "runs" && segments[1] != "" && method == http.MethodGet:
		return f.getRun, nil
	case len(segments) == 2 && segments[0] == "runs" && segments[1] != "" && method == http.MethodDelete:
		return nil, &rpcError{status: http.StatusNotImplemented, code: kfp.CodeUnimplemented,
			message: "the fake does not implement DELETE runs/{run_id}"}
	case len(segments) == 2 && segments[0] == "runs" && segments[1] != "":
		return nil, methodNotAllowed(method, path)
	}
	return nil, notFound("Not Found")
}

// isTerminate reports whether a path segment is "{run_id}:terminate" with a
// run ID.
func isTerminate(segment string) bool {
	runID, ok := strings.CutSuffix(segment, terminateSuffix)
	return ok && runID != "" && !strings.Contains(runID, ":")
}

func methodNotAllowed(method, path string) *rpcError {
	return &rpcError{status: http.StatusMethodNotAllowed, code: kfp.CodeUnimplemented,
		message: fmt.Sprintf("Method Not Allowed: %s %s", method, path)}
}

// finish records call with its outcome and writes the response.
func (f *Fake) finish(w http.ResponseWriter, call string, response any, rpcErr *rpcError) {
	if rpcErr != nil {
		f.record(fmt.Sprintf("%s → %d %s", call, rpcErr.status, rpcErr.code))
		writeError(w, rpcErr)
		return
	}
	f.record(call)
	writeJSON(w, http.StatusOK, response)
}

func (f *Fake) checkToken(r *http.Request) *rpcError {
	f.mu.Lock()
	token := f.token
	f.mu.Unlock()

	if token == "" || r.Header.Get("Authorization") == "Bearer "+token {
		return nil
	}
	return &rpcError{status: http.StatusUnauthorized, code: kfp.CodeUnauthenticated, message: "missing or wrong bearer token"}
}

// dropConnection closes the connection under w without writing a response.
func dropConnection(w http.ResponseWriter) {
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		panic("kfpfake: the response writer cannot hijack its connection")
	}
	conn, _, err := hijacker.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// createBody is the part of a checked create body that the fake stores.
type createBody struct {
	DisplayName              string `json:"display_name"`
	Description              string `json:"description"`
	ExperimentID             string `json:"experiment_id"`
	PipelineVersionReference *struct {
		PipelineID        string `json:"pipeline_id"`
		PipelineVersionID string `json:"pipeline_version_id"`
	} `json:"pipeline_version_reference"`
	PipelineSpec  map[string]any `json:"pipeline_spec"`
	RuntimeConfig *struct {
		Parameters map[string]any `json:"parameters"`
	} `json:"runtime_config"`
	ServiceAccount string `json:"service_account"`
}

func (f *Fake) createRun(w http.ResponseWriter, r *http.Request, _ string) (string, any, *rpcError) {
	call := "POST runs"
	raw, rpcErr := readJSONBody(w, r)
	if rpcErr != nil {
		return call, nil, rpcErr
	}
	object, rpcErr := checkCreateBody(r, raw)
	if name, ok := object["display_name"].(string); ok && name != "" {
		call += " " + name
	}
	if rpcErr != nil {
		return call, nil, rpcErr
	}

	var body createBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return call, nil, invalidArgument("decoding run: %v", err)
	}

	run := kfp.Run{
		DisplayName:    body.DisplayName,
		Description:    body.Description,
		ExperimentID:   body.ExperimentID,
		State:          kfp.StatePending,
		StorageState:   "AVAILABLE",
		ServiceAccount: body.ServiceAccount,
		Parameters:     body.RuntimeConfig.Parameters,
	}
	if run.ExperimentID == "" {
		run.ExperimentID = DefaultExperimentID
	}
	if run.Parameters == nil {
		run.Parameters = map[string]any{}
	}
	if ref := body.PipelineVersionReference; ref != nil {
		run.PipelineID = ref.PipelineID
		run.PipelineVersionID = ref.PipelineVersionID
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	run.ID = f.newID()
	run.CreatedAt = f.timestamp()
	stored := &storedRun{
		run:          run,
		created:      true,
		pipelineSpec: body.PipelineSpec,
		history:      []stateChange{{state: run.State, at: run.CreatedAt}},
	}
	f.store(stored)
	return call, stored.toWire(), nil
}

// readJSONBody checks the Content-Type and reads the body.
func readJSONBody(w http.ResponseWriter, r *http.Request) ([]byte, *rpcError) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return nil, invalidArgument("Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, invalidArgument("reading request body: %v", err)
	}
	return raw, nil
}

// checkCreateBody validates a create body against the swagger's v2beta1Run
// and the fields the server requires. It returns the decoded object, when
// the body is one, so the caller can name the run in Calls.
func checkCreateBody(r *http.Request, raw []byte) (map[string]any, *rpcError) {
	value, err := decodeJSON(raw)
	if err != nil {
		return nil, invalidArgument("request body is not valid JSON: %v", err)
	}
	object, ok := value.(map[string]any)
	if !ok {
		return nil, invalidArgument("request body must be a JSON object, a v2beta1Run")
	}

	contract := loadContract()
	if err := contract.checkQuery(http.MethodPost, runsTemplate, r.URL.Query()); err != nil {
		return object, invalidArgument("%v", err)
	}
	if r.URL.Query().Has("experiment_id") {
		return object, invalidArgument("the experiment_id query parameter is deprecated, set experiment_id in the run instead")
	}
	if err := contract.validate(contract.definition("v2beta1Run"), "", object); err != nil {
		return object, invalidArgument("invalid run: %v", err)
	}
	return object, checkRunFields(object, contract.outputOnlyFields())
}

// checkRunFields rejects output-only and deprecated fields and requires
// display_name, runtime_config and exactly one pipeline source.
func checkRunFields(object map[string]any, outputOnly map[string]bool) *rpcError {
	for name := range outputOnly {
		if object[name] != nil {
			return invalidArgument("invalid run: field %q is output only and set by the server", name)
		}
	}
	if object["pipeline_version_id"] != nil {
		return invalidArgument("invalid run: pipeline_version_id is deprecated, set pipeline_version_reference instead")
	}
	if name, _ := object["display_name"].(string); name == "" {
		return invalidArgument("invalid run: missing display_name")
	}
	if object["runtime_config"] == nil {
		return invalidArgument("invalid run: missing runtime_config")
	}

	reference, hasReference := object["pipeline_version_reference"].(map[string]any)
	_, hasSpec := object["pipeline_spec"].(map[string]any)
	switch {
	case hasReference && hasSpec:
		return invalidArgument("invalid run: set pipeline_version_reference or pipeline_spec, not both")
	case !hasReference && !hasSpec:
		return invalidArgument("invalid run: missing pipeline reference, set pipeline_version_reference.pipeline_id or pipeline_spec")
	case hasReference:
		if id, _ := reference["pipeline_id"].(string); id == "" {
			return invalidArgument("invalid run: missing pipeline_version_reference.pipeline_id")
		}
	}
	return nil
}

func (f *Fake) getRun(_ http.ResponseWriter, r *http.Request, path string) (string, any, *rpcError) {
	runID := strings.TrimPrefix(path, "runs/")
	call := "GET runs/" + runID
	if err := loadContract().checkQuery(http.MethodGet, runTemplate, r.URL.Query()); err != nil {
		return call, nil, invalidArgument("%v", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	stored := f.byID[runID]
	if stored == nil {
		return call, nil, notFound("Failed to get run: run %s not found", runID)
	}
	f.advance(stored)
	return call + " (" + stored.run.State + ")", stored.toWire(), nil
}

// terminateRun moves an active run to CANCELING, as the API server's
// TerminateRun does: PENDING, RUNNING, PAUSED and RUNTIME_STATE_UNSPECIFIED
// runs are active, and any other state gets 400 INVALID_ARGUMENT. Like the
// server, it adds no state_history entry for CANCELING, and the response
// is an empty object. A later GET moves the run to CANCELED (see
// SetCancelingGets).
//
// NOTE: the API server reads no body for this call, because its HTTP rule
// has none. The fake rejects a non-empty body so that a client cannot come
// to rely on one.
func (f *Fake) terminateRun(w http.ResponseWriter, r *http.Request, path string) (string, any, *rpcError) {
	runID := strings.TrimSuffix(strings.TrimPrefix(path, "runs/"), terminateSuffix)
	call := "POST runs/" + runID + terminateSuffix
	if err := loadContract().checkQuery(http.MethodPost, terminateTemplate, r.URL.Query()); err != nil {
		return call, nil, invalidArgument("%v", err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return call, nil, invalidArgument("reading request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		return call, nil, invalidArgument("the terminate call takes no request body, got %d bytes", len(body))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	stored := f.byID[runID]
	if stored == nil {
		return call, nil, notFound("Failed to terminate run %s due to error fetching the run: run %s not found", runID, runID)
	}
	switch stored.run.State {
	case kfp.StatePending, kfp.StateRunning, kfp.StatePaused, kfp.StateUnspecified:
	default:
		return call, nil, invalidArgument("Failed to terminate run %s: Failed to terminate a run %s. Row not found", runID, runID)
	}
	stored.run.State = kfp.StateCanceling
	stored.cancelingGets = f.cancelingGets
	return call, map[string]any{}, nil
}

func (f *Fake) listRuns(_ http.ResponseWriter, r *http.Request, _ string) (string, any, *rpcError) {
	query := r.URL.Query()
	call := listCall(query)
	if err := loadContract().checkQuery(http.MethodGet, runsTemplate, query); err != nil {
		return call, nil, invalidArgument("%v", err)
	}
	if query.Get("sort_by") != "" {
		return call, nil, invalidArgument("sort_by is not supported by the fake, which lists runs oldest first")
	}
	predicates, err := parseFilter(query.Get("filter"))
	if err != nil {
		return call, nil, invalidArgument("%v", err)
	}
	offset, rpcErr := decodePageToken(query.Get("page_token"))
	if rpcErr != nil {
		return call, nil, rpcErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	pageSize := f.pageSize
	if raw := query.Get("page_size"); raw != "" {
		requested, _ := strconv.Atoi(raw)
		if requested < 0 {
			return call, nil, invalidArgument("invalid page_size %d: want 0 or more", requested)
		}
		if requested > 0 {
			pageSize = requested
		}
	}

	var matches []*storedRun
	for _, stored := range f.runs {
		experimentID := query.Get("experiment_id")
		if experimentID != "" && stored.run.ExperimentID != experimentID {
			continue
		}
		if predicates.matches(stored.run) {
			matches = append(matches, stored)
		}
	}

	end := min(offset+pageSize, len(matches))
	page := make([]map[string]any, 0, max(end-offset, 0))
	for _, stored := range matches[min(offset, end):end] {
		page = append(page, stored.toWire())
	}
	next := ""
	if end < len(matches) {
		next = encodePageToken(end)
	}
	return call, map[string]any{"runs": page, "total_size": len(matches), "next_page_token": next}, nil
}

// listCall returns the Calls line of a listing, with the parameters in a
// fixed order and the filter in readable form when it parses.
func listCall(query map[string][]string) string {
	parts := []string{"GET runs"}
	for _, name := range []string{"experiment_id", "namespace"} {
		if values := query[name]; len(values) > 0 && values[0] != "" {
			parts = append(parts, name+"="+values[0])
		}
	}
	if values := query["filter"]; len(values) > 0 && values[0] != "" {
		if predicates, err := parseFilter(values[0]); err == nil {
			parts = append(parts, "filter="+predicates.String())
		} else {
			parts = append(parts, "filter="+values[0])
		}
	}
	if values := query["page_token"]; len(values) > 0 && values[0] != "" {
		parts = append(parts, "page_token="+values[0])
	}
	return strings.Join(parts, " ")
}
