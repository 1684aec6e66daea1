package mlflowfake

import (
	"net/http"
	"sort"
	"strings"
)

func (f *Fake) getRun(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	runID, apiErr := runIDQuery(r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	call := "GET runs/get " + runID

	f.mu.Lock()
	defer f.mu.Unlock()
	run := f.runs[runID]
	if run == nil {
		return call, nil, notFound("Run '%s' not found", runID)
	}
	return call, map[string]any{"run": toWireRun(*run)}, nil
}

func (f *Fake) listArtifacts(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	runID, apiErr := runIDQuery(r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	query := r.URL.Query()
	path := query.Get("path")
	call := strings.TrimSpace("GET artifacts/list " + runID + " " + path)
	if token := query.Get("page_token"); token != "" {
		call += " page_token=" + token
	}

	if apiErr := checkRequestPath(path); apiErr != nil {
		return call, nil, apiErr
	}
	offset, apiErr := decodePageToken(query.Get("page_token"))
	if apiErr != nil {
		return call, nil, apiErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	run := f.runs[runID]
	if run == nil {
		return call, nil, notFound("Run '%s' not found", runID)
	}
	entries := listDirectory(f.artifacts[runID], path)
	end := min(offset+f.artifactPageSize, len(entries))
	response := wireListArtifacts{RootURI: run.ArtifactURI, Files: entries[min(offset, end):end]}
	if end < len(entries) {
		response.NextPageToken = encodePageToken(end)
	}
	return call, response, nil
}

func (f *Fake) getArtifact(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	query := r.URL.Query()
	runID := query.Get("run_uuid")
	if runID == "" {
		runID = query.Get("run_id")
	}
	path := query.Get("path")
	call := strings.TrimSpace("GET get-artifact " + runID + " " + path)

	if runID == "" {
		return call, nil, invalidParam("Missing value for required parameter 'run_uuid'.")
	}
	if path == "" {
		return call, nil, invalidParam("Missing value for required parameter 'path'.")
	}
	if apiErr := checkRequestPath(path); apiErr != nil {
		return call, nil, apiErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.runs[runID] == nil {
		return call, nil, notFound("Run '%s' not found", runID)
	}
	data, ok := f.artifacts[runID][path]
	if !ok {
		return call, nil, notFound("Artifact '%s' of run '%s' not found", path, runID)
	}
	return call, artifactContent(data), nil
}

// runIDQuery returns run_id, or the deprecated alias run_uuid.
func runIDQuery(r *http.Request) (string, *apiError) {
	query := r.URL.Query()
	if runID := query.Get("run_id"); runID != "" {
		return runID, nil
	}
	if runID := query.Get("run_uuid"); runID != "" {
		return runID, nil
	}
	return "", invalidParam("Missing value for required parameter 'run_id'.")
}

// checkRequestPath rejects with INVALID_PARAMETER_VALUE an artifact path
// that is absolute or contains a backslash or a ".." segment.
func checkRequestPath(path string) *apiError {
	invalid := strings.HasPrefix(path, "/") || strings.Contains(path, `\`)
	for _, segment := range strings.Split(path, "/") {
		invalid = invalid || segment == ".."
	}
	if invalid {
		return invalidParam("Invalid path: %s", path)
	}
	return nil
}

// listDirectory returns the entries directly below dir, sorted by path,
// with paths relative to the artifact root as MLflow gives them. A missing
// directory or a file gives no entries. The caller holds f.mu.
func listDirectory(files map[string][]byte, dir string) []wireFileInfo {
	prefix := ""
	if dir = strings.TrimSuffix(dir, "/"); dir != "" {
		prefix = dir + "/"
	}

	entries := map[string]wireFileInfo{}
	for path, data := range files {
		rest, ok := strings.CutPrefix(path, prefix)
		if !ok {
			continue
		}
		name, _, nested := strings.Cut(rest, "/")
		child := prefix + name
		if nested {
			entries[child] = wireFileInfo{Path: child, IsDir: true}
			continue
		}
		size := int64(len(data))
		entries[child] = wireFileInfo{Path: child, FileSize: &size}
	}

	list := make([]wireFileInfo, 0, len(entries))
	for _, entry := range entries {
		list = append(list, entry)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	return list
}
