package mlflow

import (
	"context"
	"fmt"
)

// searchRunsPageSize is the largest max_results that SearchRuns sends, the
// page size MLflow's runs/search uses by default.
const searchRunsPageSize = 1000

// maxSearchRunsPages bounds how many pages SearchRuns reads, so a server
// that keeps returning new page tokens cannot hold it forever.
const maxSearchRunsPages = 10000

// SearchRunsRequest selects runs for SearchRuns.
type SearchRunsRequest struct {
	// ExperimentIDs lists the experiments to search. At least one is
	// required.
	ExperimentIDs []string
	// Filter is an MLflow search filter, such as
	// "metrics.auc > 0.9 and tags.team = 'risk'". Empty matches every
	// active run.
	Filter string
	// MaxResults caps how many runs SearchRuns returns, and 0 returns every
	// match.
	MaxResults int
	// OrderBy lists sort keys, such as "attributes.start_time DESC" or
	// "metrics.auc DESC". MLflow orders by start time, newest first, when
	// it is empty.
	OrderBy []string
}

// SearchRuns returns the active runs that req selects, in the server's
// order, following next_page_token until the server returns no token or
// MaxResults runs have arrived. Each run carries its info, latest metrics,
// params and tags, as runs/get returns them.
func (c *Client) SearchRuns(ctx context.Context, req SearchRunsRequest) ([]Run, error) {
	if err := validateSearchRuns(req); err != nil {
		return nil, fmt.Errorf("searching runs: %w", err)
	}

	runs := []Run{}
	seen := map[string]bool{}
	pageToken := ""
	for range maxSearchRunsPages {
		pageSize := searchRunsPageSize
		if req.MaxResults > 0 {
			pageSize = min(pageSize, req.MaxResults-len(runs))
		}

		page, next, err := c.searchRunsPage(ctx, req, pageSize, pageToken)
		if err != nil {
			return nil, fmt.Errorf("searching runs in experiments %v: %w", req.ExperimentIDs, err)
		}
		runs = append(runs, page...)

		if req.MaxResults > 0 && len(runs) >= req.MaxResults {
			return runs[:req.MaxResults], nil
		}
		if next == "" {
			return runs, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("searching runs in experiments %v: server repeated page token %q", req.ExperimentIDs, next)
		}
		seen[next] = true
		pageToken = next
	}
	return nil, fmt.Errorf("searching runs in experiments %v: more than %d pages of runs", req.ExperimentIDs, maxSearchRunsPages)
}

func validateSearchRuns(req SearchRunsRequest) error {
	if len(req.ExperimentIDs) == 0 {
		return invalidArgument("at least one experiment ID is required")
	}
	for _, id := range req.ExperimentIDs {
		if id == "" {
			return invalidArgument("experiment IDs must not be empty")
		}
	}
	if req.MaxResults < 0 {
		return invalidArgument("invalid MaxResults %d: want 0 for every run, or more", req.MaxResults)
	}
	return nil
}

func (c *Client) searchRunsPage(ctx context.Context, req SearchRunsRequest, pageSize int, pageToken string) ([]Run, string, error) {
	request := struct {
		ExperimentIDs []string `json:"experiment_ids"`
		Filter        string   `json:"filter,omitempty"`
		MaxResults    int      `json:"max_results"`
		OrderBy       []string `json:"order_by,omitempty"`
		PageToken     string   `json:"page_token,omitempty"`
	}{req.ExperimentIDs, req.Filter, pageSize, req.OrderBy, pageToken}

	var resp struct {
		Runs          []wireRun `json:"runs"`
		NextPageToken string    `json:"next_page_token"`
	}
	if err := c.post(ctx, "runs/search", request, &resp); err != nil {
		return nil, "", err
	}

	page := make([]Run, 0, len(resp.Runs))
	for i := range resp.Runs {
		page = append(page, resp.Runs[i].toRun())
	}
	return page, resp.NextPageToken, nil
}
