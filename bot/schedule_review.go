package bot

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/integrations/github"
)

// ReviewLabel marks the review and audit issues the scheduler opens.
const ReviewLabel = "sopbot-review"

// reviewMarker is the hidden line that identifies a topic's review issue
// for one period, so a retried or repeated run finds the issue it opened.
func reviewMarker(topic reviewTopic, key string) string {
	return fmt.Sprintf("<!-- sopbot:review=%s:%s:%s -->", topic.SOPID, topic.Slug, key)
}

// reviewTitle is the title of a review issue, such as "[SOP-02] Monthly
// review: Review the approval process (December 2026)".
func reviewTitle(topic reviewTopic, p period, start time.Time) string {
	return fmt.Sprintf("[%s] %s review: %s (%s)", topic.SOPID, p.adjective(), topic.Subject, p.label(start))
}

// reviewContent is the part of a review issue that differs by schedule: a
// report such as an audit's findings, the checklist and extra links. notice
// is the Slack message that announces the issue, or its title when empty.
type reviewContent struct {
	report    string
	checklist []string
	links     []string
	notice    string
}

func (w *Workers) reviewIssue(ctx context.Context, job *river.Job[ReviewIssueArgs]) error {
	def, err := w.scheduled(job.Kind, job.Args.ScheduledRun)
	if err != nil {
		return err
	}
	content := reviewContent{checklist: w.Scheduler.reviewChecklist(*def.topic)}
	_, err = w.openReviewIssue(ctx, job.Kind, def, job.Args.ScheduledRun, content)
	return err
}

// openReviewIssue opens the review issue of one run, unless an earlier
// attempt or an earlier run for the same period opened it, and notifies the
// Slack channel of a new issue. Errors come back as River's retry decision.
func (w *Workers) openReviewIssue(ctx context.Context, kind string, def scheduleDef, run ScheduledRun, content reviewContent) (github.Issue, error) {
	topic := *def.topic
	attrs := []any{"schedule", def.name, "period", run.Period}
	inst, err := w.Installation(ctx)
	if err != nil {
		return github.Issue{}, w.outcome(kind, attrs, err)
	}
	marker := reviewMarker(topic, run.Period)
	// The marker is looked up on the first attempt too: the schedules
	// table may have been restored from a backup older than the issue.
	issue, found, err := w.GitHub.FindIssueByMarker(ctx, inst, ReviewLabel, marker)
	if err != nil {
		return issue, w.outcome(kind, attrs, err)
	}
	if found {
		w.Log.Info("review issue already open", append(attrs, "issue", issue.Number)...)
		return issue, nil
	}
	title := reviewTitle(topic, def.period, run.Start)
	body := w.Scheduler.reviewBody(topic, def.period, run, content, marker)
	labels := []string{ReviewLabel}
	if topic.SOPID != "sopbot" {
		labels = append(labels, "sop:"+topic.SOPID)
	}
	issue, err = w.GitHub.CreateIssue(ctx, inst, title, body, labels)
	if err != nil {
		return issue, w.outcome(kind, attrs, err)
	}
	w.Log.Info("review issue opened", append(attrs, "issue", issue.Number)...)
	notice := content.notice
	if notice == "" {
		notice = title
	}
	return issue, w.outcome(kind, attrs, w.notifyOnce(ctx, notice+": "+issue.HTMLURL))
}

// notifyOnce enqueues a Slack message to the channel, unique by its text,
// so a retried job does not post it twice.
func (w *Workers) notifyOnce(ctx context.Context, text string) error {
	return w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error { return w.Engine.notifyOnce(ctx, tx, text) })
}

// notifyOnce enqueues a Slack message to the channel in tx, unique by its
// text.
func (e *Engine) notifyOnce(ctx context.Context, tx *sql.Tx, text string) error {
	if e.Settings.Channel == "" {
		return nil
	}
	opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
	if _, err := e.Queue.InsertTx(ctx, tx, NotifyArgs{Channel: e.Settings.Channel, Text: text}, opts); err != nil {
		return fmt.Errorf("enqueuing notify: %w", err)
	}
	return nil
}

// reviewBody renders a review issue: the marker, the line that calls for
// the review, the content's report, the checklist and the links.
func (s *Scheduler) reviewBody(topic reviewTopic, p period, run ScheduledRun, content reviewContent, marker string) string {
	var b strings.Builder
	b.WriteString(marker + "\n\n")
	if topic.Line != "" {
		fmt.Fprintf(&b, "The Review Cadence of **%s: %s** asks: \"%s\". ", topic.SOPID, topic.SOPTitle, topic.Line)
	}
	fmt.Fprintf(&b, "This is the review for **%s**, opened by sopbot on %s.\n", p.label(run.Start), s.now().Format("2006-01-02 15:04 UTC"))
	if content.report != "" {
		b.WriteString("\n" + strings.TrimRight(content.report, "\n") + "\n")
	}
	b.WriteString("\n### Checklist\n\n")
	for _, item := range content.checklist {
		b.WriteString("- [ ] " + item + "\n")
	}
	links := append(append([]string(nil), content.links...), s.reviewLinks(topic, p, run.Start)...)
	if len(links) > 0 {
		b.WriteString("\n### Links\n\n")
		for _, link := range links {
			b.WriteString("- " + link + "\n")
		}
	}
	return b.String()
}

// reviewChecklist is the checklist of a plain review issue.
func (s *Scheduler) reviewChecklist(topic reviewTopic) []string {
	revision := ""
	roles := ""
	if current, ok := s.Engine.Library.Get(topic.SOPID); ok {
		revision = fmt.Sprintf(" (revision `%s`)", shortSHA(current.Revision))
		var titles []string
		for _, role := range current.Roles {
			titles = append(titles, role.Title)
		}
		if len(titles) > 0 {
			roles = ": " + strings.Join(titles, ", ")
		}
	}
	return []string{
		fmt.Sprintf("Read %s%s and note the steps that no longer match how the team works", topic.SOPID, revision),
		fmt.Sprintf("Go through the requests opened under %s since the last review and note delays, rejections and retries", topic.SOPID),
		"Check the requests that failed or need attention",
		"Agree on the changes with the holders of the SOP's roles" + roles,
		"Record the outcome in a comment: the changes to make, or that none are needed",
		"Link the pull request that changes the SOP, if any, then close this issue",
	}
}

// reviewLinks are the issue searches a reviewer needs: the SOP's requests
// of the previous period, its open requests and the earlier reviews.
func (s *Scheduler) reviewLinks(topic reviewTopic, p period, start time.Time) []string {
	repo := strings.TrimSuffix(s.settings.RepositoryURL, "/")
	if repo == "" {
		return nil
	}
	search := func(query string) string { return repo + "/issues?q=" + url.QueryEscape(query) }
	reviews := "is:issue label:" + ReviewLabel
	if topic.SOPID == "sopbot" {
		return []string{fmt.Sprintf("[Earlier reviews](%s)", search(reviews+" in:title \""+topic.Subject+"\""))}
	}
	sopLabel := fmt.Sprintf("label:\"sop:%s\"", topic.SOPID)
	previous := p.previous(start)
	created := fmt.Sprintf("created:%s..%s", previous.Format(time.DateOnly), start.AddDate(0, 0, -1).Format(time.DateOnly))
	return []string{
		fmt.Sprintf("[Requests opened under %s in %s](%s)", topic.SOPID, p.label(previous), search("is:issue label:sopbot "+sopLabel+" "+created)),
		fmt.Sprintf("[Open requests under %s](%s)", topic.SOPID, search("is:issue is:open label:sopbot "+sopLabel)),
		fmt.Sprintf("[Earlier reviews of %s](%s)", topic.SOPID, search(reviews+" "+sopLabel)),
		fmt.Sprintf("The SOP as the bot runs it: `sopbot sops render %s`", topic.SOPID),
	}
}
