package mlflow

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// searchRegisteredModelsPageSize is the max_results that
// SearchRegisteredModels sends: the maximum MLflow accepts, because its
// SQL store (mlflow/store/model_registry/sqlalchemy_store.py) rejects a
// larger value with INVALID_PARAMETER_VALUE.
const searchRegisteredModelsPageSize = 1000

// maxSearchRegisteredModelsPages bounds how many pages
// SearchRegisteredModels reads, so a server that keeps returning new page
// tokens cannot hold it forever.
const maxSearchRegisteredModelsPages = 10000

// SearchRegisteredModels returns every registered model with its latest
// version in each stage, its aliases and its tags, in the server's order
// (by name for MLflow's SQL store). It follows next_page_token until the
// server returns no token. An empty registry gives an empty slice and no
// error.
//
// MLflow's page token is an offset into the result, so a model registered
// while the pages are read can push a model already returned onto the next
// page. SearchRegisteredModels keeps the first copy of each name.
//
// NOTE: a model deleted while the pages are read moves the models after it
// one place back, so the model that would have started the next page is
// missing from the result.
func (c *Client) SearchRegisteredModels(ctx context.Context) ([]RegisteredModel, error) {
	models := []RegisteredModel{}
	seenNames := map[string]bool{}
	seenTokens := map[string]bool{}
	pageToken := ""
	for range maxSearchRegisteredModelsPages {
		page, next, err := c.searchRegisteredModelsPage(ctx, pageToken)
		if err != nil {
			return nil, fmt.Errorf("searching registered models: %w", err)
		}
		for _, model := range page {
			if !seenNames[model.Name] {
				seenNames[model.Name] = true
				models = append(models, model)
			}
		}

		if next == "" {
			return models, nil
		}
		if seenTokens[next] {
			return nil, fmt.Errorf("searching registered models: server repeated page token %q", next)
		}
		seenTokens[next] = true
		pageToken = next
	}
	return nil, fmt.Errorf("searching registered models: more than %d pages of models", maxSearchRegisteredModelsPages)
}

func (c *Client) searchRegisteredModelsPage(ctx context.Context, pageToken string) ([]RegisteredModel, string, error) {
	query := url.Values{"max_results": {strconv.Itoa(searchRegisteredModelsPageSize)}}
	if pageToken != "" {
		query.Set("page_token", pageToken)
	}

	var resp struct {
		RegisteredModels []wireRegisteredModel `json:"registered_models"`
		NextPageToken    string                `json:"next_page_token"`
	}
	if err := c.get(ctx, "registered-models/search", query, &resp); err != nil {
		return nil, "", err
	}

	page := make([]RegisteredModel, 0, len(resp.RegisteredModels))
	for _, wire := range resp.RegisteredModels {
		page = append(page, wire.toRegisteredModel())
	}
	return page, resp.NextPageToken, nil
}
