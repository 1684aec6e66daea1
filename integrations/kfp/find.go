package kfp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
)

// listPageSize is the page_size that FindRun requests.
const listPageSize = 100

// maxListPages bounds how many pages FindRun reads, so a server that keeps
// returning new page tokens cannot hold it forever.
const maxListPages = 1000

// filter is a JSON-serialised Filter message, the value of the filter
// query parameter of GET runs.
//
// NOTE: the field names and the EQUALS operation name follow filter.proto
// of kubeflow/pipelines (backend/api/v2beta1), which run.swagger.json
// points to but which is not copied into this repository. kfpfake parses
// the same shape, so the tests cannot catch a difference from it.
type filter struct {
	Predicates []predicate `json:"predicates"`
}

// predicate is a Filter predicate with a string value.
type predicate struct {
	Key         string `json:"key"`
	Operation   string `json:"operation"`
	StringValue string `json:"string_value"`
}

// displayNameFilter returns the filter display_name EQUALS name.
func displayNameFilter(name string) (string, error) {
	encoded, err := json.Marshal(filter{Predicates: []predicate{
		{Key: "display_name", Operation: "EQUALS", StringValue: name},
	}})
	if err != nil {
		return "", err
	}
	return string(encoded), nil
}

// FindRun returns the run named displayName in the experiment
// experimentID, and false when there is none. With an empty experimentID
// it searches the configured Namespace, or every run the server lists when
// Namespace is empty too. It sends a display_name filter, follows
// next_page_token to the last page, and keeps only exact name matches. When several runs match, it returns the one created last, and
// on equal creation times the one listed last. Archived runs count.
func (c *Client) FindRun(ctx context.Context, experimentID, displayName string) (Run, bool, error) {
	if displayName == "" {
		return Run{}, false, fmt.Errorf("finding run: %w", invalidArgument("run display name is required"))
	}
	encodedFilter, err := displayNameFilter(displayName)
	if err != nil {
		return Run{}, false, fmt.Errorf("finding run %q: encoding filter: %w", displayName, err)
	}

	query := url.Values{"filter": {encodedFilter}, "page_size": {strconv.Itoa(listPageSize)}}
	switch {
	case experimentID != "":
		query.Set("experiment_id", experimentID)
	case c.namespace != "":
		query.Set("namespace", c.namespace)
	}

	var found Run
	matched := false
	seenTokens := map[string]bool{}
	for range maxListPages {
		var page wireListRuns
		if err := c.get(ctx, "runs", query, &page); err != nil {
			return Run{}, false, fmt.Errorf("finding run %q: %w", displayName, err)
		}

		for i := range page.Runs {
			run, err := page.Runs[i].toRun()
			if err != nil {
				return Run{}, false, fmt.Errorf("finding run %q: decoding response: %w", displayName, err)
			}
			if run.DisplayName != displayName {
				continue
			}
			if !matched || !run.CreatedAt.Before(found.CreatedAt) {
				found = run
				matched = true
			}
		}

		next := page.NextPageToken
		if next == "" {
			return found, matched, nil
		}
		if seenTokens[next] {
			return Run{}, false, fmt.Errorf("finding run %q: server repeated page token %q", displayName, next)
		}
		seenTokens[next] = true
		query.Set("page_token", next)
	}
	return Run{}, false, fmt.Errorf("finding run %q: more than %d pages of runs", displayName, maxListPages)
}

// EnsureRun returns the run that FindRun finds for req's experiment and
// display name, with created false, or creates one with CreateRun and
// returns it with created true. A found run is returned as it is, even
// when its pipeline or parameters differ from req.
//
// The check and the create are two calls, so two EnsureRun calls for the
// same display name that overlap can both create a run. Callers serialise
// them, for example by running one job per display name at a time.
func (c *Client) EnsureRun(ctx context.Context, req RunRequest) (run Run, created bool, err error) {
	if err := validateRunRequest(req); err != nil {
		return Run{}, false, fmt.Errorf("ensuring run %q: %w", req.DisplayName, err)
	}

	run, found, err := c.FindRun(ctx, req.ExperimentID, req.DisplayName)
	if err != nil {
		return Run{}, false, err
	}
	if found {
		return run, false, nil
	}

	run, err = c.CreateRun(ctx, req)
	if err != nil {
		return Run{}, false, err
	}
	return run, true, nil
}
