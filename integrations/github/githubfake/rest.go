package githubfake

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// routes registers the REST subset the client uses. Every other request
// gets GitHub's 404 body.
func (f *Fake) routes() *http.ServeMux {
	mux := http.NewServeMux()
	app := f.withAppJWT
	inst := func(h http.HandlerFunc) http.HandlerFunc { return f.withInstallationToken(f.withRepo(h)) }

	mux.HandleFunc("POST /app/installations/{id}/access_tokens", app(f.createToken))
	mux.HandleFunc("GET /repos/{owner}/{repo}/installation", app(f.withRepo(f.getInstallation)))
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues", inst(f.listIssues))
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues", inst(f.createIssue))
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}", inst(f.getIssue))
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/issues/{number}", inst(f.editIssue))
	mux.HandleFunc("PUT /repos/{owner}/{repo}/issues/{number}/labels", inst(f.replaceLabels))
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", inst(f.listComments))
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", inst(f.createComment))
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", inst(f.getPull))
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/reviews", inst(f.listReviews))
	mux.HandleFunc("POST /repos/{owner}/{repo}/statuses/{sha}", inst(f.createStatus))
	mux.HandleFunc("GET /orgs/{org}/teams/{slug}/memberships/{username}", f.withInstallationToken(f.getMembership))
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
	return mux
}

// createToken serves POST /app/installations/{id}/access_tokens.
func (f *Fake) createToken(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != strconv.FormatInt(f.opts.InstallationID, 10) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}

	token, expiry := f.issueToken()
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                token,
		"expires_at":           expiry.Format(time.RFC3339),
		"permissions":          installationPermissions(),
		"repository_selection": "selected",
	})
}

// getInstallation serves GET /repos/{owner}/{repo}/installation.
func (f *Fake) getInstallation(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, f.installationJSON())
}

// listIssues serves GET /repos/{owner}/{repo}/issues with the labels,
// state, sort, direction, per_page and page parameters. Like GitHub, it
// lists pull requests too.
func (f *Fake) listIssues(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()

	matches := f.filterIssuesLocked(query.Get("state"), splitLabels(query.Get("labels")))
	sortIssues(matches, query.Get("sort"), query.Get("direction"))

	start, end, link := paginate(f.pageURL(r), query, len(matches))
	objects := make([]any, 0, end-start)
	for _, is := range matches[start:end] {
		objects = append(objects, f.issueJSON(is))
	}
	if link != "" {
		w.Header().Set("Link", link)
	}
	writeJSON(w, http.StatusOK, objects)
}

// filterIssuesLocked returns the issues in state ("open" when empty, or
// "closed" or "all") that carry every label in labels.
func (f *Fake) filterIssuesLocked(state string, labels []string) []*issue {
	if state == "" {
		state = "open"
	}
	var matches []*issue
	for _, is := range f.issues {
		if state != "all" && is.state != state {
			continue
		}
		if !hasAllLabels(is.labels, labels) {
			continue
		}
		matches = append(matches, is)
	}
	return matches
}

// sortIssues orders by creation (or update, for sort=updated), newest first
// unless direction is "asc". The number breaks ties.
func sortIssues(issues []*issue, by, direction string) {
	key := func(is *issue) time.Time { return is.created }
	if by == "updated" {
		key = func(is *issue) time.Time { return is.updated }
	}
	sort.Slice(issues, func(i, j int) bool {
		a, b := issues[i], issues[j]
		if direction == "asc" {
			a, b = b, a
		}
		if !key(a).Equal(key(b)) {
			return key(a).After(key(b))
		}
		return a.number > b.number
	})
}

// createIssue serves POST /repos/{owner}/{repo}/issues.
func (f *Fake) createIssue(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title  *string  `json:"title"`
		Body   *string  `json:"body"`
		Labels []string `json:"labels"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Title == nil || *req.Title == "" {
		writeValidationFailed(w, "Issue", "title", "missing_field")
		return
	}
	setDetail(r, "%q", *req.Title)

	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.newIssueLocked(*req.Title, deref(req.Body), f.bot(), req.Labels)
	f.queueIssueEventLocked("opened", is, f.bot(), nil)
	writeJSON(w, http.StatusCreated, f.issueJSON(is))
}

// getIssue serves GET /repos/{owner}/{repo}/issues/{number}.
func (f *Fake) getIssue(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issueFromPathLocked(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, f.issueJSON(is))
}

// issueRequest is the body of PATCH /repos/{owner}/{repo}/issues/{number}.
type issueRequest struct {
	Title       *string   `json:"title"`
	Body        *string   `json:"body"`
	State       *string   `json:"state"`
	StateReason *string   `json:"state_reason"`
	Labels      *[]string `json:"labels"`
}

// detail lists the fields the request sets, such as "body" or
// "state=closed state_reason=completed".
func (req issueRequest) detail() string {
	var parts []string
	if req.Title != nil {
		parts = append(parts, "title")
	}
	if req.Body != nil {
		parts = append(parts, "body")
	}
	if req.State != nil {
		parts = append(parts, "state="+*req.State)
	}
	if req.StateReason != nil {
		parts = append(parts, "state_reason="+*req.StateReason)
	}
	if req.Labels != nil {
		parts = append(parts, "labels="+strings.Join(*req.Labels, ","))
	}
	return strings.Join(parts, " ")
}

// editIssue serves PATCH /repos/{owner}/{repo}/issues/{number} and queues
// the edited, closed or reopened delivery for what changed.
func (f *Fake) editIssue(w http.ResponseWriter, r *http.Request) {
	var req issueRequest
	if !decodeBody(w, r, &req) {
		return
	}
	setDetail(r, "%s", req.detail())
	if req.State != nil && *req.State != "open" && *req.State != "closed" {
		writeValidationFailed(w, "Issue", "state", "invalid")
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issueFromPathLocked(w, r)
	if !ok {
		return
	}
	f.applyEditLocked(is, req, f.bot())
	writeJSON(w, http.StatusOK, f.issueJSON(is))
}

// replaceLabels serves PUT /repos/{owner}/{repo}/issues/{number}/labels.
// GitHub accepts a JSON array of names or an object {"labels": [...]}.
func (f *Fake) replaceLabels(w http.ResponseWriter, r *http.Request) {
	var raw labelsBody
	if !decodeBody(w, r, &raw) {
		return
	}
	setDetail(r, "%s", strings.Join(raw.names, ","))

	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issueFromPathLocked(w, r)
	if !ok {
		return
	}
	is.labels = uniqueLabels(raw.names)
	is.updated = f.now()

	objects := make([]any, 0, len(is.labels))
	for _, name := range is.labels {
		objects = append(objects, f.labelJSON(name))
	}
	writeJSON(w, http.StatusOK, objects)
}

// listComments serves GET /repos/{owner}/{repo}/issues/{number}/comments,
// oldest first, with since, per_page and page. since is an RFC 3339 time,
// and the fake lists the comments whose updated_at is at or after it.
func (f *Fake) listComments(w http.ResponseWriter, r *http.Request) {
	query := r.URL.Query()
	var since time.Time
	if raw := query.Get("since"); raw != "" {
		parsed, err := time.Parse(time.RFC3339, raw)
		if err != nil {
			writeValidationFailed(w, "IssueComment", "since", "invalid")
			return
		}
		since = parsed
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issueFromPathLocked(w, r)
	if !ok {
		return
	}

	var comments []*comment
	for _, c := range f.commentsLocked(is.number) {
		if !c.updated.Before(since) {
			comments = append(comments, c)
		}
	}
	start, end, link := paginate(f.pageURL(r), query, len(comments))
	objects := make([]any, 0, end-start)
	for _, c := range comments[start:end] {
		objects = append(objects, f.commentJSON(c))
	}
	if link != "" {
		w.Header().Set("Link", link)
	}
	writeJSON(w, http.StatusOK, objects)
}

// createComment serves POST /repos/{owner}/{repo}/issues/{number}/comments.
func (f *Fake) createComment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Body *string `json:"body"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Body == nil || *req.Body == "" {
		writeValidationFailed(w, "IssueComment", "body", "missing_field")
		return
	}
	setDetail(r, "%q", summarize(*req.Body))

	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issueFromPathLocked(w, r)
	if !ok {
		return
	}
	c := f.newCommentLocked(is, *req.Body, f.bot())
	f.queueCommentEventLocked("created", is, c, f.bot(), nil)
	writeJSON(w, http.StatusCreated, f.commentJSON(c))
}

// getMembership serves GET /orgs/{org}/teams/{slug}/memberships/{username}.
// Anyone who is not a listed member of a listed team gets 404.
func (f *Fake) getMembership(w http.ResponseWriter, r *http.Request) {
	team := strings.ToLower(r.PathValue("org") + "/" + r.PathValue("slug"))
	login := r.PathValue("username")

	f.mu.Lock()
	members := f.teams[team]
	f.mu.Unlock()

	if !slices.ContainsFunc(members, func(m string) bool { return strings.EqualFold(m, login) }) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"url":   f.URL() + "orgs/" + r.PathValue("org") + "/teams/" + r.PathValue("slug") + "/memberships/" + login,
		"role":  "member",
		"state": "active",
	})
}

// issueFromPathLocked returns the issue named by the {number} path value,
// writing 404 when there is none.
func (f *Fake) issueFromPathLocked(w http.ResponseWriter, r *http.Request) (*issue, bool) {
	number, err := strconv.Atoi(r.PathValue("number"))
	is := f.issues[number]
	if err != nil || is == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil, false
	}
	return is, true
}

// pageURL returns the absolute URL of the request for Link headers.
func (f *Fake) pageURL(r *http.Request) string {
	return strings.TrimRight(f.URL(), "/") + r.URL.Path
}
