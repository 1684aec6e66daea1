package githubfake

import (
	"net/http"
	"strconv"
	"strings"
)

// getPull serves GET /repos/{owner}/{repo}/pulls/{number}. An issue that
// is not a pull request gets 404, as on GitHub.
func (f *Fake) getPull(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.pullFromPathLocked(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, f.pullRequestJSON(is))
}

// listReviews serves GET /repos/{owner}/{repo}/pulls/{number}/reviews,
// oldest first, with per_page and page.
func (f *Fake) listReviews(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.pullFromPathLocked(w, r)
	if !ok {
		return
	}

	reviews := is.pull.reviews
	start, end, link := paginate(f.pageURL(r), r.URL.Query(), len(reviews))
	objects := make([]any, 0, end-start)
	for _, rv := range reviews[start:end] {
		objects = append(objects, f.restReviewJSON(is, rv))
	}
	if link != "" {
		w.Header().Set("Link", link)
	}
	writeJSON(w, http.StatusOK, objects)
}

// restReviewJSON returns a review as the REST API sends it, which differs
// from webhook payloads: the state is uppercase, such as "APPROVED", and
// an empty body is "" rather than null.
func (f *Fake) restReviewJSON(is *issue, rv *review) map[string]any {
	object := f.reviewJSON(is, rv)
	object["state"] = strings.ToUpper(rv.state)
	object["body"] = rv.body
	return object
}

// pullFromPathLocked returns the pull request named by the {number} path
// value, writing 404 when there is none.
func (f *Fake) pullFromPathLocked(w http.ResponseWriter, r *http.Request) (*issue, bool) {
	number, err := strconv.Atoi(r.PathValue("number"))
	is := f.issues[number]
	if err != nil || is == nil || is.pull == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return is, true
}
