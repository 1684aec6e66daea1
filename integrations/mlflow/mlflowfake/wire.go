package mlflowfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

// MLflow error codes the fake returns.
const (
	codeNotFound        = "RESOURCE_DOES_NOT_EXIST"
	codeInvalidParam    = "INVALID_PARAMETER_VALUE"
	codeBadRequest      = "BAD_REQUEST"
	codePermission      = "PERMISSION_DENIED"
	codeUnauthenticated = "UNAUTHENTICATED"
	codeEndpoint        = "ENDPOINT_NOT_FOUND"
	codeRateLimit       = "REQUEST_LIMIT_EXCEEDED"
	codeUnavailable     = "TEMPORARILY_UNAVAILABLE"
	codeInternal        = "INTERNAL_ERROR"
)

// maxBodyBytes caps the request bodies the fake reads.
const maxBodyBytes = 1 << 20

// apiError is an MLflow error response.
type apiError struct {
	status  int
	code    string
	message string
}

func invalidParam(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, codeInvalidParam, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, codeNotFound, fmt.Sprintf(format, args...)}
}

// codeForStatus picks the MLflow error code that MLflow pairs with status.
func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return codeInvalidParam
	case http.StatusUnauthorized:
		return codeUnauthenticated
	case http.StatusForbidden:
		return codePermission
	case http.StatusNotFound:
		return codeNotFound
	case http.StatusTooManyRequests:
		return codeRateLimit
	case http.StatusServiceUnavailable:
		return codeUnavailable
	}
	return codeInternal
}

// body holds the top-level fields of a POST body, undecoded.
type body map[string]json.RawMessage

// readBody checks the Content-Type and decodes a JSON object.
func readBody(w http.ResponseWriter, r *http.Request) (body, *apiError) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return nil, &apiError{http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))}
	}

	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, invalidParam("reading request body: %v", err)
	}
	var fields body
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return nil, &apiError{http.StatusBadRequest, codeBadRequest, "request body must be a JSON object"}
	}
	return fields, nil
}

// text returns the string field key. A missing or null field is "", and
// any other JSON type is rejected, so a version sent as a number fails.
func (b body) text(key string) (string, *apiError) {
	raw, ok := b[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}

	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", invalidParam("Invalid value %s for parameter '%s': %s must be a string", raw, key, key)
	}
	return value, nil
}

// requiredText returns the string field key and rejects an empty one.
func (b body) requiredText(key string) (string, *apiError) {
	value, apiErr := b.text(key)
	if apiErr != nil {
		return "", apiErr
	}
	if value == "" {
		return "", invalidParam("Missing value for required parameter '%s'.", key)
	}
	return value, nil
}

// flag returns the boolean field key, false when missing.
func (b body) flag(key string) (bool, *apiError) {
	raw, ok := b[key]
	if !ok {
		return false, nil
	}

	var value bool
	if err := json.Unmarshal(raw, &value); err != nil {
		return false, invalidParam("Invalid value %s for parameter '%s': must be a boolean", raw, key)
	}
	return value, nil
}

type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

type wireModelVersion struct {
	Name                 string    `json:"name"`
	Version              string    `json:"version"`
	CreationTimestamp    int64     `json:"creation_timestamp"`
	LastUpdatedTimestamp int64     `json:"last_updated_timestamp"`
	CurrentStage         string    `json:"current_stage"`
	Description          string    `json:"description,omitempty"`
	Source               string    `json:"source,omitempty"`
	RunID                string    `json:"run_id,omitempty"`
	Status               string    `json:"status"`
	Tags                 []wireTag `json:"tags,omitempty"`
	RunLink              string    `json:"run_link,omitempty"`
	Aliases              []string  `json:"aliases,omitempty"`
}

type wireRegisteredModel struct {
	Name                 string             `json:"name"`
	CreationTimestamp    int64              `json:"creation_timestamp"`
	LastUpdatedTimestamp int64              `json:"last_updated_timestamp"`
	LatestVersions       []wireModelVersion `json:"latest_versions,omitempty"`
	Tags                 []wireTag          `json:"tags,omitempty"`
	Aliases              []wireAlias        `json:"aliases,omitempty"`
}

func toWire(mv mlflow.ModelVersion) wireModelVersion {
	return wireModelVersion{
		Name:                 mv.Name,
		Version:              mv.Version,
		CreationTimestamp:    mv.CreationTimestamp,
		LastUpdatedTimestamp: mv.LastUpdatedTimestamp,
		CurrentStage:         mv.CurrentStage,
		Description:          mv.Description,
		Source:               mv.Source,
		RunID:                mv.RunID,
		Status:               mv.Status,
		Tags:                 tagList(mv.Tags),
		RunLink:              mv.RunLink,
		Aliases:              mv.Aliases,
	}
}

// tagList returns tags as MLflow's list of {key, value}, sorted by key.
func tagList(tags map[string]string) []wireTag {
	list := make([]wireTag, 0, len(tags))
	for key, value := range tags {
		list = append(list, wireTag{Key: key, Value: value})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	return list
}

func writeJSON(w http.ResponseWriter, status int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(value)
}

func writeError(w http.ResponseWriter, apiErr *apiError) {
	writeJSON(w, apiErr.status, map[string]string{"error_code": apiErr.code, "message": apiErr.message})
}
