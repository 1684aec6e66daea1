package githubfake

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// statusStates are the commit status states GitHub accepts.
var statusStates = []string{"pending", "success", "failure", "error"}

// maxStatusDescription is the longest status description, in characters,
// that GitHub accepts.
const maxStatusDescription = 140

// Status is a snapshot of a commit status in the fake.
type Status struct {
	State       string
	Context     string
	Description string
	TargetURL   string
}

// commitStatus is one status created on a commit.
type commitStatus struct {
	Status
	id      int64
	sha     string
	creator actor
	created time.Time
}

// statusRequest is the body of POST /repos/{owner}/{repo}/statuses/{sha}.
type statusRequest struct {
	State       *string `json:"state"`
	TargetURL   *string `json:"target_url"`
	Description *string `json:"description"`
	Context     *string `json:"context"`
}

// createStatus serves POST /repos/{owner}/{repo}/statuses/{sha}. Like
// GitHub, it rejects an invalid state, a description over 140 characters
// and a commit the repository does not have, and names an empty context
// "default". The call is recorded with the SHA cut to seven characters and
// "context=state" as detail.
func (f *Fake) createStatus(w http.ResponseWriter, r *http.Request) {
	sha := r.PathValue("sha")
	setCallPath(r, strings.TrimSuffix(r.URL.Path, sha)+shortSHA(sha))
	var req statusRequest
	if !decodeBody(w, r, &req) {
		return
	}
	status := Status{
		State:       deref(req.State),
		Context:     deref(req.Context),
		Description: deref(req.Description),
		TargetURL:   deref(req.TargetURL),
	}
	if status.Context == "" {
		status.Context = "default"
	}
	setDetail(r, "%s=%s", status.Context, status.State)

	if !slices.Contains(statusStates, status.State) {
		writeValidationFailed(w, "Status", "state", "invalid")
		return
	}
	if utf8.RuneCountInString(status.Description) > maxStatusDescription {
		message := fmt.Sprintf("description is too long (maximum is %d characters)", maxStatusDescription)
		writeValidationMessage(w, "Status", "description", message)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.knownCommitLocked(sha) {
		writeValidationMessage(w, "Status", "sha", "No commit found for SHA: "+sha)
		return
	}
	cs := &commitStatus{Status: status, id: f.nextID, sha: sha, creator: f.bot(), created: f.now()}
	f.nextID++
	f.statuses[sha] = append(f.statuses[sha], cs)
	writeJSON(w, http.StatusCreated, f.statusJSON(cs))
}

// knownCommitLocked reports whether sha is the main branch's commit or a
// head commit, current or earlier, of a pull request.
func (f *Fake) knownCommitLocked(sha string) bool {
	if sha == f.baseSHA() {
		return true
	}
	for _, is := range f.issues {
		if is.pull == nil {
			continue
		}
		for push := 0; push <= is.pull.pushes; push++ {
			if sha == f.pushSHA(is.number, push) {
				return true
			}
		}
	}
	return false
}

// statusJSON returns a commit status object as the REST API sends it.
func (f *Fake) statusJSON(cs *commitStatus) map[string]any {
	creator := f.actorJSON(cs.creator)
	return map[string]any{
		"url":         f.apiRepoURL() + "/statuses/" + cs.sha,
		"avatar_url":  creator["avatar_url"],
		"id":          cs.id,
		"node_id":     nodeID("StatusContext", cs.id),
		"state":       cs.State,
		"description": nilIfEmpty(cs.Description),
		"target_url":  nilIfEmpty(cs.TargetURL),
		"context":     cs.Context,
		"created_at":  timestamp(cs.created),
		"updated_at":  timestamp(cs.created),
		"creator":     creator,
	}
}

// Statuses returns every status set on commit sha, oldest first.
func (f *Fake) Statuses(sha string) []Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	var statuses []Status
	for _, cs := range f.statuses[sha] {
		statuses = append(statuses, cs.Status)
	}
	return statuses
}

// LatestStatus returns the newest status named context on commit sha,
// which is the one GitHub shows.
func (f *Fake) LatestStatus(sha, context string) (Status, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := f.statuses[sha]
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Context == context {
			return list[i].Status, true
		}
	}
	return Status{}, false
}

// shortSHA returns the first seven characters of sha, as GitHub shows it.
func shortSHA(sha string) string {
	if len(sha) <= 7 {
		return sha
	}
	return sha[:7]
}
