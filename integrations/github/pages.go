package github

import (
	"fmt"

	gogithub "github.com/google/go-github/v60/github"
)

// maxListPages bounds the lists that ListOpenIssues, ListReviews and
// ListComments read: at most 10 pages of pageSize, 1,000 items in all.
const maxListPages = 10

// pageFetcher requests one page, counted from 1, of a list endpoint.
type pageFetcher[T any] func(page int) ([]T, *gogithub.Response, error)

// readPages reads up to limit pages, starting at page start and following
// the "next" relation of GitHub's Link header. A start of 0 reads nothing,
// because go-github reports a missing "next" relation as page 0.
func readPages[T any](start, limit int, fetch pageFetcher[T]) ([]T, error) {
	var items []T
	for page, read := start, 0; page != 0 && read < limit; read++ {
		batch, resp, err := fetch(page)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		items = append(items, batch...)
		page = resp.NextPage
	}
	return items, nil
}

// readNewestPages reads a list that GitHub returns oldest first. When the
// list has more than maxListPages pages, it returns only the last
// maxListPages pages, because callers act on recent items. The last page
// can be partial, so that is between 901 and 1,000 items.
func readNewestPages[T any](fetch pageFetcher[T]) ([]T, error) {
	first, resp, err := fetch(1)
	if err != nil {
		return nil, fmt.Errorf("page 1: %w", err)
	}

	// LastPage is 0 on a list of one page, which has no "last" relation.
	if resp.LastPage <= maxListPages {
		rest, err := readPages(resp.NextPage, maxListPages-1, fetch)
		if err != nil {
			return nil, err
		}
		return append(first, rest...), nil
	}
	return readPages(resp.LastPage-maxListPages+1, maxListPages, fetch)
}
