package githubfake

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Page sizes of the REST API: 30 by default, at most 100.
const (
	defaultPerPage = 30
	maxPerPage     = 100
)

// paginate returns the slice bounds of the requested page of total items
// and the Link header GitHub sends with it, with "prev", "next", "first"
// and "last" relations as they apply.
func paginate(pageURL string, query url.Values, total int) (start, end int, link string) {
	perPage := intParam(query.Get("per_page"), defaultPerPage)
	perPage = min(max(perPage, 1), maxPerPage)
	page := max(intParam(query.Get("page"), 1), 1)
	last := max((total+perPage-1)/perPage, 1)

	start = min((page-1)*perPage, total)
	end = min(start+perPage, total)

	var links []string
	add := func(rel string, p int) {
		q := url.Values{}
		for key, values := range query {
			q[key] = values
		}
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		links = append(links, fmt.Sprintf(`<%s?%s>; rel="%s"`, pageURL, q.Encode(), rel))
	}
	if page > 1 {
		add("prev", min(page-1, last))
	}
	if page < last {
		add("next", page+1)
		add("last", last)
	}
	if page > 1 {
		add("first", 1)
	}
	return start, end, strings.Join(links, ", ")
}

func intParam(value string, fallback int) int {
	n, err := strconv.Atoi(value)
	if err != nil {
		return fallback
	}
	return n
}
