package handlers

import (
	"context"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

// Normalizer turns stored deliveries into engine events. It implements
// bot.Normalizer.
type Normalizer struct {
	Directory *bot.Directory
	// BotLogin is the app's own bot user; its events are ignored.
	BotLogin string
	// Installation returns the app installation to resolve team
	// membership with when a delivery carries none (Slack commands and
	// repository webhooks). Nil leaves such lookups to fail closed.
	Installation func(ctx context.Context) (int64, error)
	// SlackEmail returns a Slack user's profile e-mail, for people the
	// config pairs by e-mail instead of Slack user id. Nil skips it.
	SlackEmail func(ctx context.Context, userID string) (string, error)
}

// Normalize decodes a delivery. A nil event comes with the reason it is
// ignored.
func (n *Normalizer) Normalize(ctx context.Context, d store.Delivery) (bot.Event, string, error) {
	if d.Source == "slack" {
		return n.slack(ctx, d)
	}
	parsed, err := gh.ParseWebHook(d.Event, d.Payload)
	if err != nil {
		return nil, "payload does not decode: " + err.Error(), nil
	}
	switch ev := parsed.(type) {
	case *gh.CheckRunEvent:
		return n.checkRun(d, ev)
	case *gh.StatusEvent:
		return n.status(d, ev)
	}
	if reason := n.skipSender(parsed); reason != "" {
		return nil, reason, nil
	}
	switch ev := parsed.(type) {
	case *gh.IssueCommentEvent:
		return n.issueComment(ctx, d, ev)
	case *gh.IssuesEvent:
		return n.issues(ctx, d, ev)
	case *gh.PullRequestEvent:
		return n.pullRequest(ctx, d, ev)
	case *gh.PullRequestReviewEvent:
		return n.review(ctx, d, ev)
	}
	return nil, "event not handled", nil
}

// skipSender drops events caused by this app or by any other bot.
func (n *Normalizer) skipSender(parsed any) string {
	type senderEvent interface{ GetSender() *gh.User }
	ev, ok := parsed.(senderEvent)
	if !ok || ev.GetSender() == nil {
		return "event has no sender"
	}
	sender := ev.GetSender()
	switch {
	case strings.EqualFold(sender.GetLogin(), n.BotLogin):
		return "sent by sopbot itself"
	case sender.GetType() == "Bot" || strings.HasSuffix(sender.GetLogin(), "[bot]"):
		return "sent by another bot"
	}
	return ""
}

func (n *Normalizer) actor(ctx context.Context, d store.Delivery, login string) bot.Actor {
	installation := d.InstallationID
	if installation == 0 && n.Installation != nil {
		// A failed lookup leaves installation 0, so team checks fail closed.
		installation, _ = n.Installation(ctx)
	}
	return n.Directory.Resolve(ctx, installation, login)
}

func (n *Normalizer) issueComment(ctx context.Context, d store.Delivery, ev *gh.IssueCommentEvent) (bot.Event, string, error) {
	if ev.GetAction() != "created" {
		return nil, "comment " + ev.GetAction() + ": only new comments can carry commands", nil
	}
	line, ok := bot.ExtractCommand(ev.GetComment().GetBody())
	if !ok {
		return nil, "comment carries no command", nil
	}
	return bot.CommandIssued{
		DeliveryID:     d.ID,
		Actor:          n.actor(ctx, d, ev.GetSender().GetLogin()),
		Line:           line,
		Origin:         store.Origin{Source: "github", Issue: ev.GetIssue().GetNumber(), InstallationID: d.InstallationID},
		InstallationID: d.InstallationID,
		CommentID:      ev.GetComment().GetID(),
	}, "", nil
}

func (n *Normalizer) issues(ctx context.Context, d store.Delivery, ev *gh.IssuesEvent) (bot.Event, string, error) {
	actor := n.actor(ctx, d, ev.GetSender().GetLogin())
	switch ev.GetAction() {
	case "edited":
		edited := bot.ChecklistEdited{DeliveryID: d.ID, Actor: actor, Issue: ev.GetIssue().GetNumber(), NewBody: ev.GetIssue().GetBody()}
		if ev.Changes != nil && ev.Changes.Body != nil && ev.Changes.Body.From != nil {
			edited.OldBody, edited.HasOld = *ev.Changes.Body.From, true
		}
		return edited, "", nil
	case "closed":
		return bot.IssueClosed{DeliveryID: d.ID, Actor: actor, Issue: ev.GetIssue().GetNumber()}, "", nil
	}
	return nil, "issue " + ev.GetAction() + " not handled", nil
}

func (n *Normalizer) pullRequest(ctx context.Context, d store.Delivery, ev *gh.PullRequestEvent) (bot.Event, string, error) {
	switch ev.GetAction() {
	case "opened", "edited", "reopened", "synchronize":
	default:
		return nil, "pull request " + ev.GetAction() + " not handled", nil
	}
	pr := ev.GetPullRequest()
	return bot.PullRequestChanged{
		DeliveryID: d.ID, Actor: n.actor(ctx, d, ev.GetSender().GetLogin()), PR: pr.GetNumber(),
		Body: pr.GetBody(), HeadSHA: pr.GetHead().GetSHA(), Action: ev.GetAction(),
	}, "", nil
}

func (n *Normalizer) review(ctx context.Context, d store.Delivery, ev *gh.PullRequestReviewEvent) (bot.Event, string, error) {
	state := strings.ToLower(ev.GetReview().GetState())
	switch ev.GetAction() {
	case "submitted":
	case "dismissed":
		state = bot.ReviewDismissed
	default:
		return nil, "review " + ev.GetAction() + " not handled", nil
	}
	pr := ev.GetPullRequest()
	return bot.ReviewSubmitted{
		DeliveryID: d.ID, Actor: n.actor(ctx, d, ev.GetSender().GetLogin()), PR: pr.GetNumber(),
		PRBody: pr.GetBody(), PRAuthor: pr.GetUser().GetLogin(), HeadSHA: pr.GetHead().GetSHA(),
		ReviewID: ev.GetReview().GetID(), State: state, Body: ev.GetReview().GetBody(),
		CommitID: ev.GetReview().GetCommitID(),
	}, "", nil
}

func (n *Normalizer) slackCommand(ctx context.Context, d store.Delivery) (bot.Event, string, error) {
	form, err := url.ParseQuery(string(d.Payload))
	if err != nil {
		return nil, "slack form does not decode", nil
	}
	slackUser := form.Get("user_id")
	actor := n.slackActor(ctx, d, slackUser)
	return bot.CommandIssued{
		DeliveryID: d.ID,
		Actor:      actor,
		Line:       form.Get("text"),
		Origin:     store.Origin{Source: "slack", ResponseURL: form.Get("response_url"), Channel: form.Get("channel_id")},
	}, "", nil
}

// checkRun turns a completed check run into evidence. Check runs come from
// other apps, so the sender is not filtered; only the bot's own are dropped.
func (n *Normalizer) checkRun(d store.Delivery, ev *gh.CheckRunEvent) (bot.Event, string, error) {
	if ev.GetAction() != "completed" {
		return nil, "check run " + ev.GetAction() + ": only completed runs count", nil
	}
	if strings.EqualFold(ev.GetSender().GetLogin(), n.BotLogin) {
		return nil, "sent by sopbot itself", nil
	}
	run := ev.GetCheckRun()
	var prs []int
	for _, pr := range run.PullRequests {
		prs = append(prs, pr.GetNumber())
	}
	return bot.CheckReported{
		DeliveryID: d.ID, PRs: prs, HeadSHA: run.GetHeadSHA(), Name: run.GetName(),
		Conclusion: run.GetConclusion(), URL: run.GetHTMLURL(),
	}, "", nil
}

// status turns a commit status into evidence. It names no pull request;
// the engine finds linked pull requests by their head commit.
func (n *Normalizer) status(d store.Delivery, ev *gh.StatusEvent) (bot.Event, string, error) {
	if ev.GetState() == "pending" {
		return nil, "commit status pending", nil
	}
	return bot.CheckReported{
		DeliveryID: d.ID, HeadSHA: ev.GetSHA(), Name: ev.GetContext(),
		Conclusion: ev.GetState(), URL: ev.GetTargetURL(),
	}, "", nil
}
