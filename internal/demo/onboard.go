package demo

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The onboarding demo's project.
const (
	Project    = "churn"
	Team       = "risk"
	CostCenter = "cc-42"
)

// RunOnboarding plays SOP-01: a data scientist asks for a project, both
// approvers sign, the bot creates the namespace, experiment, feature job,
// training run and inventory entry, and people finish the handoff.
func (s *Scenario) RunOnboarding(ctx context.Context) error {
	if err := s.setupFor("SOP-01"); err != nil {
		return err
	}
	return s.runPhases(ctx, s.openOnboarding, s.onboardingPreconditions, s.onboardingApproval, s.onboardingHandoff,
		s.verifyOnboarding, s.printAudit)
}

func (s *Scenario) openOnboarding(ctx context.Context) error {
	line := fmt.Sprintf("onboard project %s --team %s --cost-center %s", Project, Team, CostCenter)
	return s.openWith(ctx, People.Alice, line)
}

// openWith sends the command as p and records the issue it opened.
func (s *Scenario) openWith(ctx context.Context, p Person, line string) error {
	s.say("%s types `/mlops %s` in Slack", p.Login, line)
	before := len(s.Fakes.GitHub.Issues())
	ack, err := s.slashCommand(ctx, p, line)
	if err != nil {
		return err
	}
	s.show("Slack, immediate "+ack.ResponseType+" reply", ack.Text)
	if err := s.settle(ctx); err != nil {
		return err
	}
	issues := s.Fakes.GitHub.Issues()
	if len(issues) != before+1 {
		return fmt.Errorf("expected one new issue, found %d", len(issues)-before)
	}
	issue := issues[len(issues)-1]
	s.issue = issue.Number
	s.show("GitHub issue #"+fmt.Sprint(s.issue), issue.Title)
	for _, l := range strings.Split(issue.Body, "\n") {
		if strings.HasPrefix(l, "### ") || strings.HasPrefix(l, "- [") {
			fmt.Fprintf(s.Out, "     %s\n", stripItemMarker(l))
		}
	}
	return nil
}

func (s *Scenario) onboardingPreconditions(ctx context.Context) error {
	s.say("%s ticks the preconditions; %s tries to tick the bot's namespace box", People.Alice.Login, People.Bob.Login)
	if err := s.tick(ctx, People.Alice, s.keys("pre")...); err != nil {
		return err
	}
	skip := len(s.Fakes.GitHub.Comments(s.issue))
	if err := s.tick(ctx, People.Bob, "s1-1"); err != nil {
		return err
	}
	s.showComments(skip)
	if s.checked("s1-1") {
		return fmt.Errorf("a person's tick of the bot's item s1-1 stayed")
	}
	return nil
}

func (s *Scenario) onboardingApproval(ctx context.Context) error {
	p := People
	s.say("%s (ML platform lead) and %s (security officer) approve; the bot runs the onboarding", p.Frank.Login, p.Gina.Login)
	skip := len(s.Fakes.GitHub.Comments(s.issue))
	for _, approver := range []Person{p.Frank, p.Gina} {
		ack, err := s.slashCommand(ctx, approver, fmt.Sprintf("approve #%d", s.issue))
		if err != nil {
			return err
		}
		s.show("Slack reply to "+approver.Login, ack.Text)
		if err := s.settle(ctx); err != nil {
			return err
		}
	}
	s.showComments(skip)
	for _, key := range []string{"s1-1", "s2-1", "s2-2", "s2-3", "s3-1"} {
		if !s.checked(key) {
			return fmt.Errorf("the bot did not tick %s after the approval", key)
		}
	}
	return nil
}

func (s *Scenario) onboardingHandoff(ctx context.Context) error {
	s.say("%s and %s tick the steps that stay with people", People.Alice.Login, People.Bob.Login)
	if err := s.tick(ctx, People.Alice, "s2-4", "s4-1", "s4-2", "s4-3", "s5-1", "s5-2", "s5-3"); err != nil {
		return err
	}
	skip := len(s.Fakes.GitHub.Comments(s.issue))
	if err := s.tick(ctx, People.Bob, "s6-3", "s7-1", "s7-3"); err != nil {
		return err
	}
	s.showComments(skip)
	if _, err := s.slashCommand(ctx, People.Alice, "inventory"); err != nil {
		return err
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	if responses := s.Fakes.Slack.Responses(); len(responses) > 0 {
		s.show("Slack, /mlops inventory", responses[len(responses)-1].Text)
	}
	return nil
}

func (s *Scenario) verifyOnboarding(ctx context.Context) error {
	s.say("end state")
	var state string
	if err := s.DB.QueryRowContext(ctx, `SELECT state FROM requests WHERE issue_number = ?`, s.issue).Scan(&state); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	issue, _ := s.Fakes.GitHub.Issue(s.issue)
	ns, nsErr := s.Fakes.Kube.CoreV1().Namespaces().Get(ctx, "ml-"+Project, metav1.GetOptions{})
	_, saErr := s.Fakes.Kube.CoreV1().ServiceAccounts("ml-"+Project).Get(ctx, Project+"-sa", metav1.GetOptions{})
	quotas, _ := s.Fakes.Kube.CoreV1().ResourceQuotas("ml-"+Project).List(ctx, metav1.ListOptions{})
	jobs, _ := s.Fakes.Kube.BatchV1().Jobs("ml-"+Project).List(ctx, metav1.ListOptions{})
	var experimentTags map[string]string
	for _, e := range s.Fakes.MLflow.Experiments() {
		if e.Name == Project+"-experiment" {
			experimentTags = e.Tags
		}
	}
	var inventoried int
	if err := s.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM projects WHERE name = ? AND team = ?`, Project, Team).Scan(&inventoried); err != nil {
		return err
	}
	checks := []struct {
		ok   bool
		what string
	}{
		{state == "done", "request state is done (got " + state + ")"},
		{issue.State == "closed", "issue is closed (got " + issue.State + ")"},
		{nsErr == nil && ns.Labels["sopbot.dev/team"] == Team, "namespace ml-churn exists, labelled with the team"},
		{saErr == nil, "service account churn-sa exists"},
		{len(quotas.Items) == 1, "one resource quota"},
		{len(jobs.Items) == 1, "one feast job ran"},
		{experimentTags["team"] == Team && experimentTags["env"] == "dev" && experimentTags["cost-center"] == CostCenter,
			fmt.Sprintf("experiment churn-experiment is tagged team, env=dev and cost-center (got %v)", experimentTags)},
		{len(s.Fakes.KFP.Created()) == 1, "one initial training run was submitted"},
		{inventoried == 1, "the project is in the inventory"},
		{allTicked(issue.Body), "every box of the issue is ticked"},
	}
	return report(s, checks)
}

type endCheck = struct {
	ok   bool
	what string
}

func report(s *Scenario, checks []endCheck) error {
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
