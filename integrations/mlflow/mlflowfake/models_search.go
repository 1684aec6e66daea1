package mlflowfake

import (
	"net/http"
	"sort"
	"strconv"
)

// MLflow's default and maximum max_results of registered-models/search,
// from SearchRegisteredModels in MLflow's model_registry.proto.
const (
	defaultRegisteredModelResults = 100
	maxRegisteredModelResults     = 1000
)

// searchRegisteredModels lists every model the fake holds, by name, each
// with the newest version of each stage as latest_versions, its aliases
// and its tags. A page holds max_results models, or fewer when
// SetSearchPageSize set a smaller size, so tests can page a client that
// always requests the maximum. The fake supports no filter or order_by and
// rejects both.
func (f *Fake) searchRegisteredModels(_ http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	query := r.URL.Query()
	call := "GET registered-models/search"
	if maxResults := query.Get("max_results"); maxResults != "" {
		call += " max_results=" + maxResults
	}
	if token := query.Get("page_token"); token != "" {
		call += " page_token=" + token
	}

	if filter := query.Get("filter"); filter != "" {
		return call, nil, invalidParam("the fake supports no filter on registered-models/search, got %q", filter)
	}
	if orderBy := query["order_by"]; len(orderBy) > 0 {
		return call, nil, invalidParam("the fake supports no order_by on registered-models/search, got %q", orderBy)
	}
	maxResults, apiErr := registeredModelResults(query.Get("max_results"))
	if apiErr != nil {
		return call, nil, apiErr
	}
	offset, apiErr := decodePageToken(query.Get("page_token"))
	if apiErr != nil {
		return call, nil, apiErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	return call, f.registeredModelPage(offset, min(maxResults, f.pageSize)), nil
}

// registeredModelResults parses max_results, rejecting a value MLflow
// would reject.
func registeredModelResults(raw string) (int, *apiError) {
	if raw == "" {
		return defaultRegisteredModelResults, nil
	}

	size, err := strconv.Atoi(raw)
	if err != nil || size < 1 {
		return 0, invalidParam("Invalid value %s for parameter 'max_results' supplied.", raw)
	}
	if size > maxRegisteredModelResults {
		return 0, invalidParam("Invalid value for request parameter max_results. It must be at most %d, but got value %d",
			maxRegisteredModelResults, size)
	}
	return size, nil
}

// registeredModelPage returns pageSize models from offset, ordered by
// name as MLflow orders them without order_by. As MLflow does, it leaves
// out an empty registered_models list, so an empty registry gives {}. The
// caller holds f.mu.
func (f *Fake) registeredModelPage(offset, pageSize int) map[string]any {
	names := make([]string, 0, len(f.models))
	for name := range f.models {
		names = append(names, name)
	}
	sort.Strings(names)

	end := min(offset+pageSize, len(names))
	response := map[string]any{}
	if page := names[min(offset, end):end]; len(page) > 0 {
		wire := make([]wireRegisteredModel, 0, len(page))
		for _, name := range page {
			wire = append(wire, f.models[name].toWire())
		}
		response["registered_models"] = wire
	}
	if end < len(names) {
		response["next_page_token"] = encodePageToken(end)
	}
	return response
}
