package mlflowfake

import (
	"encoding/base64"
	"net/http"
	"regexp"
	"strconv"
)

// nameFilterPattern matches the only filter the fake understands,
// name='<name>' or name="<name>". As in MLflow, the quotes are dropped and
// nothing inside is unescaped.
var nameFilterPattern = regexp.MustCompile(`^\s*name\s*=\s*(?:'([^']*)'|"([^"]*)")\s*$`)

func (f *Fake) searchModelVersions(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	query := r.URL.Query()
	call := "GET model-versions/search " + query.Get("filter")
	if token := query.Get("page_token"); token != "" {
		call += " page_token=" + token
	}

	match := nameFilterPattern.FindStringSubmatch(query.Get("filter"))
	if match == nil {
		return call, nil, invalidParam("the fake supports only filter name='<model name>', got %q", query.Get("filter"))
	}
	name := match[1] + match[2]

	offset, apiErr := decodePageToken(query.Get("page_token"))
	if apiErr != nil {
		return call, nil, apiErr
	}
	pageSize, apiErr := f.searchPageSize(query.Get("max_results"))
	if apiErr != nil {
		return call, nil, apiErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	return call, f.searchPage(name, offset, pageSize), nil
}

// searchPage returns one page of versions of name, newest first. An unknown
// model gives an empty page, as in MLflow. The caller holds f.mu.
func (f *Fake) searchPage(name string, offset, pageSize int) map[string]any {
	page := []wireModelVersion{}
	registered := f.models[name]
	if registered == nil {
		return map[string]any{"model_versions": page}
	}

	versions := registered.sortedVersions()
	end := min(offset+pageSize, len(versions))
	for _, version := range versions[min(offset, end):end] {
		page = append(page, toWire(registered.snapshot(version)))
	}

	response := map[string]any{"model_versions": page}
	if end < len(versions) {
		response["next_page_token"] = encodePageToken(end)
	}
	return response
}

func (f *Fake) searchPageSize(raw string) (int, *apiError) {
	if raw == "" {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.pageSize, nil
	}

	size, err := strconv.Atoi(raw)
	if err != nil || size < 1 {
		return 0, invalidParam("Invalid value %s for parameter 'max_results' supplied.", raw)
	}
	return size, nil
}

// encodePageToken hides the offset so clients treat the token as opaque.
func encodePageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

func decodePageToken(token string) (int, *apiError) {
	if token == "" {
		return 0, nil
	}

	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil && len(raw) > len("offset:") && string(raw[:len("offset:")]) == "offset:" {
		offset, convErr := strconv.Atoi(string(raw[len("offset:"):]))
		if convErr == nil && offset >= 0 {
			return offset, nil
		}
	}
	return 0, invalidParam("Invalid page token %q.", token)
}
