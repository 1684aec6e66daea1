package mlflowfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// handler serves one endpoint. It returns the readable call line, the
// response on success, or an MLflow error. The response is encoded as JSON
// unless it is artifactContent.
type handler func(w http.ResponseWriter, r *http.Request) (call string, response any, apiErr *apiError)

func (f *Fake) routes() map[string]handler {
	return map[string]handler{
		"GET model-versions/get":               f.getModelVersion,
		"GET model-versions/search":            f.searchModelVersions,
		"POST model-versions/transition-stage": f.transitionStage,
		"POST model-versions/set-tag":          f.setModelVersionTag,
		"GET registered-models/alias":          f.getByAlias,
		"POST registered-models/alias":         f.setAlias,
		"GET registered-models/get":            f.getRegisteredModel,
		"GET registered-models/search":         f.searchRegisteredModels,
		"GET runs/get":                         f.getRun,
		"GET artifacts/list":                   f.listArtifacts,
		"GET experiments/get-by-name":          f.getExperimentByName,
		"POST experiments/create":              f.createExperiment,
		"POST experiments/set-experiment-tag":  f.setExperimentTag,
		"POST runs/search":                     f.searchRuns,
		"POST registered-models/set-tag":       f.setRegisteredModelTag,
	}
}

func (f *Fake) serveHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := strings.TrimPrefix(r.URL.Path, apiPrefix)
	if r.URL.Path == downloadPath {
		endpoint = strings.TrimPrefix(downloadPath, "/")
	}
	request := r.Method + " " + endpoint
	f.wait(r, endpoint)

	if status, ok := f.takeFailure(endpoint); ok {
		f.finish(w, request+" (injected)", nil, &apiError{status, codeForStatus(status), "injected failure"})
		return
	}
	if apiErr := f.checkAuthorization(r); apiErr != nil {
		f.finish(w, request, nil, apiErr)
		return
	}

	// The download route sits at the server root, so it bypasses the API
	// route table.
	if r.URL.Path == downloadPath && r.Method == http.MethodGet {
		call, response, apiErr := f.getArtifact(w, r)
		f.finish(w, call, response, apiErr)
		return
	}

	serve, ok := f.routes()[request]
	if !ok || !strings.HasPrefix(r.URL.Path, apiPrefix) {
		f.finish(w, request, nil, &apiError{http.StatusNotFound, codeEndpoint, "no such endpoint: " + request})
		return
	}

	call, response, apiErr := serve(w, r)
	if call == "" {
		call = request
	}
	f.finish(w, call, response, apiErr)
}

// finish records call with its outcome and writes the response.
func (f *Fake) finish(w http.ResponseWriter, call string, response any, apiErr *apiError) {
	if apiErr != nil {
		f.record(fmt.Sprintf("%s → %d %s", call, apiErr.status, apiErr.code))
		writeError(w, apiErr)
		return
	}

	f.record(call)
	if content, ok := response.(artifactContent); ok {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		_, _ = w.Write(content)
		return
	}
	if response == nil {
		response = struct{}{}
	}
	writeJSON(w, http.StatusOK, response)
}

func (f *Fake) checkAuthorization(r *http.Request) *apiError {
	f.mu.Lock()
	required := f.authorization
	f.mu.Unlock()

	if required == "" || r.Header.Get("Authorization") == required {
		return nil
	}
	return &apiError{http.StatusUnauthorized, codeUnauthenticated, "missing or wrong credentials"}
}

// requiredQuery returns the query parameter key and rejects an empty one.
func requiredQuery(r *http.Request, key string) (string, *apiError) {
	value := r.URL.Query().Get(key)
	if value == "" {
		return "", invalidParam("Missing value for required parameter '%s'.", key)
	}
	return value, nil
}
