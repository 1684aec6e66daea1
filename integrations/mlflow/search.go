package mlflow

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// SearchModelVersions returns every version of the registered model name,
// following next_page_token until the server returns no token. A model
// with no versions gives an empty slice and no error.
func (c *Client) SearchModelVersions(ctx context.Context, name string) ([]ModelVersion, error) {
	filter, err := nameFilter(name)
	if err != nil {
		return nil, fmt.Errorf("searching versions of %s: %w", name, err)
	}

	var versions []ModelVersion
	seen := map[string]bool{}
	pageToken := ""
	for {
		page, next, err := c.searchPage(ctx, filter, pageToken)
		if err != nil {
			return nil, fmt.Errorf("searching versions of %s: %w", name, err)
		}
		versions = append(versions, page...)

		if next == "" {
			return versions, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("searching versions of %s: server repeated page token %q", name, next)
		}
		seen[next] = true
		pageToken = next
	}
}

func (c *Client) searchPage(ctx context.Context, filter, pageToken string) ([]ModelVersion, string, error) {
	query := url.Values{"filter": {filter}}
	if pageToken != "" {
		query.Set("page_token", pageToken)
	}

	var resp struct {
		ModelVersions []wireModelVersion `json:"model_versions"`
		NextPageToken string             `json:"next_page_token"`
	}
	if err := c.get(ctx, "model-versions/search", query, &resp); err != nil {
		return nil, "", err
	}

	page := make([]ModelVersion, 0, len(resp.ModelVersions))
	for _, wire := range resp.ModelVersions {
		page = append(page, wire.toModelVersion())
	}
	return page, resp.NextPageToken, nil
}

// nameFilter returns the search filter name='<name>'.
//
// MLflow's filter parser (mlflow/utils/search_utils.py, _strip_quotes) drops
// the outer quotes of a string value and does not unescape anything inside,
// so a doubled quote would be compared literally. A name containing a single
// quote is therefore wrapped in double quotes, and a name containing both
// kinds cannot be expressed at all.
func nameFilter(name string) (string, error) {
	if name == "" {
		return "", invalidArgument("model name is required")
	}

	hasSingle := strings.Contains(name, "'")
	hasDouble := strings.Contains(name, `"`)
	switch {
	case !hasSingle:
		return "name='" + name + "'", nil
	case !hasDouble:
		return `name="` + name + `"`, nil
	default:
		return "", invalidArgument("model name %q contains both quote characters, which an MLflow filter cannot express", name)
	}
}
