package bot

import (
	"fmt"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// RenderIssue returns the title and body of a request's issue: the SOP
// rendered with the request's parameters, the configured role holders, the
// stored ticks and a link to the model in the registry. modelURL may be
// nil.
func RenderIssue(s *sop.SOP, req store.Request, requestID string, items map[string]store.Item, dir *Directory, modelURL func(name, version string) string) (string, string) {
	in := sop.RenderInput{
		RequestID: requestID,
		Params:    req.Params,
		Requester: "@" + req.RequesterLogin,
		Assignees: map[string][]string{},
		Checked:   map[string]bool{},
	}
	for _, role := range s.Roles {
		for _, m := range role.Members {
			if handles := dir.Handles(m); len(handles) > 0 {
				in.Assignees[m] = handles
			}
		}
	}
	for key, item := range items {
		in.Checked[key] = item.Checked
	}
	if model, version := req.Params["model"], req.Params["version"]; model != "" && version != "" && modelURL != nil {
		in.Links = append(in.Links, sop.Link{Text: fmt.Sprintf("MLflow registry: %s version %s", model, version), URL: modelURL(model, version)})
	}
	return sop.Render(s, in)
}

// ValidateParams checks parameter values given by name, as the command
// grammar would, and fills in defaults.
func ValidateParams(s *sop.SOP, values map[string]string) (map[string]string, error) {
	if s.Binding == nil {
		return nil, fmt.Errorf("%s has no binding, so it takes no parameters", s.ID)
	}
	declared := map[string]bool{}
	for _, p := range s.Binding.Params {
		declared[p.Name] = true
	}
	for name := range values {
		if !declared[name] {
			return nil, problemf("Unknown parameter %q for %s.", clip(name, 40), s.ID)
		}
	}
	return validateParams(s.Binding.Params, values)
}
