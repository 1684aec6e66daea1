package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/sopbot/sopbot/sop"
)

func (s *Scenario) openRequest(ctx context.Context) error {
	p := People
	s.say("%s types `/mlops promote model %s 3` in Slack", p.Alice.Login, Model)
	before := len(s.Fakes.GitHub.Issues())
	ack, err := s.slashCommand(ctx, p.Alice, "promote model "+Model+" 3")
	if err != nil {
		return err
	}
	s.show("Slack, immediate "+ack.ResponseType+" reply", ack.Text)
	if err := s.settle(ctx); err != nil {
		return err
	}
	responses := s.Fakes.Slack.Responses()
	if len(responses) == 0 || !strings.Contains(responses[len(responses)-1].Text, "Opened #") {
		return fmt.Errorf("expected a Slack response with the issue link, got %+v", responses)
	}
	last := responses[len(responses)-1]
	s.show("Slack, "+last.ResponseType, last.Text)

	issues := s.Fakes.GitHub.Issues()
	if len(issues) != before+1 {
		return fmt.Errorf("expected one new issue, found %d", len(issues)-before)
	}
	opened := issues[len(issues)-1]
	s.issue = opened.Number
	s.show("GitHub issue #"+fmt.Sprint(s.issue), opened.Title)
	s.show("labels", strings.Join(s.Fakes.GitHub.Labels(s.issue), ", "))
	for _, line := range strings.Split(opened.Body, "\n") {
		if strings.HasPrefix(line, "### ") || strings.HasPrefix(line, "- [") {
			fmt.Fprintf(s.Out, "     %s\n", stripItemMarker(line))
		}
	}
	return nil
}

func stripItemMarker(line string) string {
	if i := strings.Index(line, " <!-- sopbot:item="); i >= 0 {
		return line[:i]
	}
	return line
}

func (s *Scenario) repeatRequest(ctx context.Context) error {
	s.say("%s sends the same command again", People.Alice.Login)
	before := len(s.Fakes.GitHub.Issues())
	if _, err := s.slashCommand(ctx, People.Alice, "promote model "+Model+" 3"); err != nil {
		return err
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	responses := s.Fakes.Slack.Responses()
	last := responses[len(responses)-1]
	s.show("Slack, "+last.ResponseType, last.Text)
	if !strings.Contains(last.Text, "already open") || len(s.Fakes.GitHub.Issues()) != before {
		return fmt.Errorf("a repeated command must point at the open request, got %q", last.Text)
	}
	return nil
}

func (s *Scenario) preconditions(ctx context.Context) error {
	s.say("sopbot checks MLflow, compares metrics and scans the artifacts; %s ticks the model card precondition", People.Alice.Login)
	if open := s.unticked("pre-1", "pre-2", "s2-5"); len(open) > 0 {
		return fmt.Errorf("sopbot did not tick %s from its evidence", strings.Join(open, ", "))
	}
	seen := s.showComments(0)
	if err := s.tick(ctx, People.Alice, "pre-3"); err != nil {
		return err
	}
	s.showComments(seen)
	return nil
}

// unticked returns the keys whose boxes are not ticked in the issue.
func (s *Scenario) unticked(keys ...string) []string {
	var open []string
	for _, key := range keys {
		if !s.checked(key) {
			open = append(open, key)
		}
	}
	return open
}

func (s *Scenario) pullRequest(ctx context.Context) error {
	p := People
	s.say("%s opens a pull request for #%d; CI reports `%s` on it", p.Alice.Login, s.issue, ParityCheck)
	seen := len(s.Fakes.GitHub.Comments(s.issue))
	body := fmt.Sprintf("Serve %s v3 from the scoring service.\n\nSOP request: #%d", Model, s.issue)
	pr, _, err := s.Fakes.GitHub.OpenPullRequest(p.Alice.Login, "Serve fraud-detector v3", body)
	if err != nil {
		return err
	}
	s.pr = pr
	if err := s.settle(ctx); err != nil {
		return err
	}
	if err := s.Fakes.GitHub.CompleteCheckRun("ci-runner[bot]", pr, ParityCheck, "success"); err != nil {
		return err
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	s.showComments(seen)
	if !s.checked("s2-2") {
		return fmt.Errorf("a successful %s run did not tick s2-2", ParityCheck)
	}
	return nil
}

func (s *Scenario) technicalReview(ctx context.Context) error {
	p := People
	s.say("%s (%s) and %s (%s) tick the rest of the technical review", p.Bob.Login, p.Bob.Role, p.Carol.Login, p.Carol.Role)
	keys := s.keys("step-2")
	if err := s.tick(ctx, p.Bob, "s2-1", "s2-3"); err != nil {
		return err
	}
	if err := s.tick(ctx, p.Carol, "s2-4"); err != nil {
		return err
	}
	for _, key := range keys {
		if !s.checked(key) {
			return fmt.Errorf("box %s was set back after a reviewer ticked it", key)
		}
	}
	fmt.Fprintf(s.Out, "   all %d boxes stay ticked\n", len(keys))
	return nil
}

func (s *Scenario) outsiderTick(ctx context.Context) error {
	s.say("%s, who holds no role, ticks a compliance box", People.Mallory.Login)
	key := s.keys("step-3")[0]
	seen := len(s.Fakes.GitHub.Comments(s.issue))
	if err := s.tick(ctx, People.Mallory, key); err != nil {
		return err
	}
	s.showComments(seen)
	if s.checked(key) {
		return fmt.Errorf("the tick of %s by %s was not reverted", key, People.Mallory.Login)
	}
	comments := s.newComments(seen)
	if len(comments) == 0 || !strings.Contains(comments[0].Body, "@"+People.Mallory.Login) {
		return fmt.Errorf("no comment named who may tick the box for %s", People.Mallory.Login)
	}
	fmt.Fprintf(s.Out, "   the box is unticked again\n")
	return nil
}

func (s *Scenario) complianceReview(ctx context.Context) error {
	s.say("%s (%s) ticks the compliance review", People.Erin.Login, People.Erin.Role)
	if err := s.tick(ctx, People.Erin, s.keys("step-3")...); err != nil {
		return err
	}
	s.show("labels", strings.Join(s.Fakes.GitHub.Labels(s.issue), ", "))
	return nil
}

func (s *Scenario) pullRequestApprovals(ctx context.Context) error {
	p := People
	s.say("%s (%s) and %s (%s) approve pull request #%d", p.Dana.Login, p.Dana.Role, p.Erin.Login, p.Erin.Role, s.pr)
	seen := len(s.Fakes.GitHub.Comments(s.issue))
	for _, approver := range []Person{p.Dana, p.Erin} {
		if _, err := s.Fakes.GitHub.SubmitReview(approver.Login, s.pr, "approved", "LGTM"); err != nil {
			return err
		}
		if err := s.settle(ctx); err != nil {
			return err
		}
	}
	s.showComments(seen)
	version, ok := s.Fakes.MLflow.Version(Model, "3")
	if !ok || version.CurrentStage != "Production" {
		return fmt.Errorf("MLflow has %s v3 in stage %q, expected Production", Model, version.CurrentStage)
	}
	for _, m := range s.Fakes.Slack.Messages() {
		s.show("Slack #"+m.Channel, m.Text)
	}
	return nil
}

func (s *Scenario) deployment(ctx context.Context) error {
	s.say("%s ticks the deployment steps after the canary rollout", People.Alice.Login)
	if err := s.tick(ctx, People.Alice, s.keys("step-5")...); err != nil {
		return err
	}
	issue, _ := s.Fakes.GitHub.Issue(s.issue)
	s.show("GitHub issue #"+fmt.Sprint(s.issue), "state "+issue.State+"; labels "+strings.Join(issue.Labels, ", "))
	return nil
}

func (s *Scenario) verify(ctx context.Context) error {
	s.say("end state")
	var state string
	if err := s.DB.QueryRowContext(ctx, `SELECT state FROM requests WHERE issue_number = ?`, s.issue).Scan(&state); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	v3, _ := s.Fakes.MLflow.Version(Model, "3")
	v2, _ := s.Fakes.MLflow.Version(Model, "2")
	issue, _ := s.Fakes.GitHub.Issue(s.issue)
	checks := []struct {
		ok   bool
		what string
	}{
		{state == "done", "request state is done (got " + state + ")"},
		{issue.State == "closed", "issue is closed (got " + issue.State + ")"},
		{v3.CurrentStage == "Production", "v3 is in Production (got " + v3.CurrentStage + ")"},
		{v2.CurrentStage == "Archived", "v2 is Archived (got " + v2.CurrentStage + ")"},
		{strings.Contains(v3.Tags["sopbot.approved_by"], "dana (ML lead)") && strings.Contains(v3.Tags["sopbot.approved_by"], "erin (compliance officer)"),
			"v3 is tagged with both approvers (got " + v3.Tags["sopbot.approved_by"] + ")"},
		{v3.Tags["sopbot.ticket"] != "", "v3 is tagged with the ticket link"},
		{len(s.Fakes.Slack.Messages()) > 0, "Slack was notified"},
		{allTicked(issue.Body), "every box of the issue is ticked"},
	}
	failed := 0
	for _, c := range checks {
		mark := "ok  "
		if !c.ok {
			mark, failed = "FAIL", failed+1
		}
		fmt.Fprintf(s.Out, "   %s %s\n", mark, c.what)
	}
	if failed > 0 {
		return fmt.Errorf("%d end-state check(s) failed", failed)
	}
	return nil
}

func allTicked(body string) bool {
	entries := sop.ReadChecklist(body)
	for _, e := range entries {
		if !e.Checked {
			return false
		}
	}
	return len(entries) > 0
}

func (s *Scenario) printAudit(ctx context.Context) error {
	s.say("audit trail of #%d", s.issue)
	rows, err := s.DB.QueryContext(ctx, `SELECT id, at, actor, action, detail FROM audit
		WHERE request_id = (SELECT id FROM requests WHERE issue_number = ?) ORDER BY id`, s.issue)
	if err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at, actor, action, detail string
		if err := rows.Scan(&id, &at, &actor, &action, &detail); err != nil {
			return err
		}
		if len(detail) > 110 {
			detail = detail[:110] + "…"
		}
		fmt.Fprintf(s.Out, "   %3d %s %-8s %-18s %s\n", id, at[11:19], actor, action, detail)
	}
	return rows.Err()
}
