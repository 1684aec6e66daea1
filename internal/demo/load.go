package demo

import (
	"context"
	"fmt"

	"github.com/sopbot/sopbot/integrations/github"
)

// LoadTemplate is one webhook body that a load run sends many times, each
// time under a new X-GitHub-Delivery id.
type LoadTemplate struct {
	Event string // X-GitHub-Event, such as "issues"
	Body  []byte
}

// LoadTemplates returns two deliveries for each of n new issues of the
// GitHub fake: an issue_comment.created whose body carries no command and
// an issues.edited that changes only the issue's prose. Both are stored by
// the bot's edge and cheap to process, because no request owns the issues.
//
// The app opens the issues through the fake's REST API. Every delivery
// that creates, including issues.opened, is recorded without being sent,
// so LoadTemplates can run before or after the webhook URL is set.
func (f *Fakes) LoadTemplates(ctx context.Context, n int) ([]LoadTemplate, error) {
	client, err := github.New(github.Config{BaseURL: f.GitHub.URL(), AppID: AppID, PrivateKey: f.PrivateKeyPEM,
		Owner: Owner, Repo: Repo})
	if err != nil {
		return nil, fmt.Errorf("configuring the GitHub client for the fake: %w", err)
	}
	before := len(f.GitHub.Deliveries())
	f.GitHub.SuppressNextDeliveries(3 * n)
	defer f.GitHub.SuppressNextDeliveries(0)

	for i := range n {
		body := fmt.Sprintf("Load test issue %d.\n\nNo request belongs to this issue.", i+1)
		issue, err := client.CreateIssue(ctx, InstallationID, fmt.Sprintf("Load test %d", i+1), body, nil)
		if err != nil {
			return nil, fmt.Errorf("creating load test issue %d: %w", i+1, err)
		}
		if _, err := f.GitHub.UserComment(People.Alice.Login, issue.Number, "Thanks, I will look at this tomorrow."); err != nil {
			return nil, err
		}
		if err := f.GitHub.UserEditBody(People.Alice.Login, issue.Number, body+"\n\nEdited."); err != nil {
			return nil, err
		}
	}

	var templates []LoadTemplate
	for _, d := range f.GitHub.Deliveries()[before:] {
		if d.Event == "issue_comment" || (d.Event == "issues" && d.Action == "edited") {
			templates = append(templates, LoadTemplate{Event: d.Event, Body: d.Body})
		}
	}
	if len(templates) != 2*n {
		return nil, fmt.Errorf("the GitHub fake recorded %d load deliveries, expected %d", len(templates), 2*n)
	}
	return templates, nil
}
