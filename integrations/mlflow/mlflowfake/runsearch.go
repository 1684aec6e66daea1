package mlflowfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/sopbot/sopbot/integrations/mlflow"
)

// defaultSearchRunsResults is the page size of runs/search when the
// request has no max_results, as MLflow documents it.
const defaultSearchRunsResults = 1000

// searchRunsFields are the request fields of runs/search. The fake rejects
// any other field, so a misspelt one fails a test.
var searchRunsFields = []string{"experiment_ids", "filter", "run_view_type", "max_results", "order_by", "page_token"}

// viewTypes are the ViewType names. The fake deletes no runs, so
// DELETED_ONLY always gives an empty result.
var viewTypes = []string{"ACTIVE_ONLY", "DELETED_ONLY", "ALL"}

func (f *Fake) searchRuns(w http.ResponseWriter, r *http.Request) (string, any, *apiError) {
	fields, apiErr := readBody(w, r)
	if apiErr != nil {
		return "", nil, apiErr
	}
	request, apiErr := readSearchRuns(fields)
	call := request.call()
	if apiErr != nil {
		return call, nil, apiErr
	}

	clauses, err := parseRunFilter(request.filter)
	if err != nil {
		return call, nil, invalidParam("Invalid filter '%s': %v", request.filter, err)
	}
	order, err := parseOrderBy(request.orderBy)
	if err != nil {
		return call, nil, invalidParam("Invalid order_by: %v", err)
	}
	offset, apiErr := decodePageToken(request.pageToken)
	if apiErr != nil {
		return call, nil, apiErr
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	var matches []mlflow.Run
	if request.viewType != "DELETED_ONLY" {
		for _, run := range f.runs {
			if slices.Contains(request.experimentIDs, run.ExperimentID) && clauses.matches(*run) {
				matches = append(matches, *run)
			}
		}
	}
	sortRuns(matches, order)

	end := min(offset+request.maxResults, len(matches))
	response := map[string]any{}
	if page := matches[min(offset, end):end]; len(page) > 0 {
		wire := make([]wireRun, 0, len(page))
		for _, run := range page {
			wire = append(wire, toWireRun(run))
		}
		response["runs"] = wire
	}
	if end < len(matches) {
		response["next_page_token"] = encodePageToken(end)
	}
	return call, response, nil
}

// searchRunsRequest is a decoded runs/search body.
type searchRunsRequest struct {
	experimentIDs []string
	filter        string
	viewType      string
	maxResults    int
	orderBy       []string
	pageToken     string
}

// call returns the Calls line, such as
// "POST runs/search [1 2] filter=metrics.auc > 0.9 order_by=[start_time DESC]".
func (s searchRunsRequest) call() string {
	call := fmt.Sprintf("POST runs/search %v", s.experimentIDs)
	if s.filter != "" {
		call += " filter=" + s.filter
	}
	if len(s.orderBy) > 0 {
		call += fmt.Sprintf(" order_by=%v", s.orderBy)
	}
	if s.pageToken != "" {
		call += " page_token=" + s.pageToken
	}
	return call
}

// readSearchRuns decodes and checks a runs/search body. It returns what it
// read even on error, so the call line can show it.
func readSearchRuns(fields body) (searchRunsRequest, *apiError) {
	request := searchRunsRequest{viewType: "ACTIVE_ONLY", maxResults: defaultSearchRunsResults}
	for name := range fields {
		if !slices.Contains(searchRunsFields, name) {
			return request, invalidParam("Unknown field '%s' in runs/search request.", name)
		}
	}

	var apiErr *apiError
	if request.experimentIDs, apiErr = fields.textList("experiment_ids"); apiErr != nil {
		return request, apiErr
	}
	if request.filter, apiErr = fields.text("filter"); apiErr != nil {
		return request, apiErr
	}
	if request.orderBy, apiErr = fields.textList("order_by"); apiErr != nil {
		return request, apiErr
	}
	if request.pageToken, apiErr = fields.text("page_token"); apiErr != nil {
		return request, apiErr
	}
	if len(request.experimentIDs) == 0 {
		return request, invalidParam("Missing value for required parameter 'experiment_ids'.")
	}

	if viewType, apiErr := fields.text("run_view_type"); apiErr != nil {
		return request, apiErr
	} else if viewType != "" {
		if !slices.Contains(viewTypes, viewType) {
			return request, invalidParam("Invalid value %s for parameter 'run_view_type'.", viewType)
		}
		request.viewType = viewType
	}

	if _, ok := fields["max_results"]; ok {
		maxResults, apiErr := fields.integer("max_results")
		if apiErr != nil {
			return request, apiErr
		}
		if maxResults < 1 {
			return request, invalidParam("Invalid value %d for parameter 'max_results' supplied.", maxResults)
		}
		request.maxResults = maxResults
	}
	return request, nil
}

// textList returns the list-of-strings field key. A missing or null field
// is empty.
func (b body) textList(key string) ([]string, *apiError) {
	raw, ok := b[key]
	if !ok || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}

	var values []string
	if err := json.Unmarshal(raw, &values); err != nil {
		return nil, invalidParam("Invalid value %s for parameter '%s': must be a list of strings", raw, key)
	}
	return values, nil
}

// integer returns the integer field key. It must be a JSON number, not a
// string.
func (b body) integer(key string) (int, *apiError) {
	raw := b[key]
	var value int
	if err := json.Unmarshal(raw, &value); err != nil {
		return 0, invalidParam("Invalid value %s for parameter '%s': must be an integer", raw, key)
	}
	return value, nil
}

// runOrder is one order_by key.
type runOrder struct {
	field      runField
	descending bool
}

// parseOrderBy reads clauses such as "metrics.auc DESC" and appends
// MLflow's default order, start_time DESC then run ID, as tie-breakers.
func parseOrderBy(clauses []string) ([]runOrder, error) {
	var order []runOrder
	for _, clause := range clauses {
		s := &scanner{input: clause}
		field, err := s.field()
		if err != nil {
			return nil, fmt.Errorf("%q: %w", clause, err)
		}
		entry := runOrder{field: field}
		switch direction := strings.ToUpper(s.word()); direction {
		case "", "ASC":
		case "DESC":
			entry.descending = true
		default:
			return nil, fmt.Errorf("%q: want ASC or DESC, got %q", clause, direction)
		}
		if !s.done() {
			return nil, fmt.Errorf("%q: unexpected %q", clause, s.rest())
		}
		order = append(order, entry)
	}
	return append(order, runOrder{field: runField{kind: "attributes", key: "start_time"}, descending: true}), nil
}

// sortRuns orders runs by order, then by run ID. A run without the sort
// key's value, such as a missing metric, sorts after every run with one in
// either direction.
func sortRuns(runs []mlflow.Run, order []runOrder) {
	sort.SliceStable(runs, func(i, j int) bool {
		for _, entry := range order {
			a, aOK := entry.field.value(runs[i])
			b, bOK := entry.field.value(runs[j])
			switch {
			case aOK != bOK:
				return aOK
			case !aOK:
				continue
			}
			if c := compareValues(a, b); c != 0 {
				return (c < 0) != entry.descending
			}
		}
		return runs[i].ID < runs[j].ID
	})
}

func compareValues(a, b any) int {
	if x, ok := a.(float64); ok {
		y := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a.(string), b.(string))
}
