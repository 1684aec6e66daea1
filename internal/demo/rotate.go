package demo

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RunRotation plays SOP-04: the executor asks for a rotation, the security
// lead approves, the bot generates the new secret, switches the deployment,
// watches the rollout and the smoke check, waits before it deletes the old
// secret and updates the inventory. Logs holds the server's log so far;
// the end state requires that no secret value appears in it, nor in any
// issue, comment, Slack message or audit row.
func (s *Scenario) RunRotation(ctx context.Context, logs *bytes.Buffer) error {
	if err := s.setupFor("SOP-04"); err != nil {
		return err
	}
	return s.runPhases(ctx, s.openRotation, s.rotationApproval, s.rotationVerification, s.rotationDecommission,
		func(ctx context.Context) error { return s.verifyRotation(ctx, logs) }, s.printAudit)
}

func (s *Scenario) openRotation(ctx context.Context) error {
	line := fmt.Sprintf("rotate secret %s -n %s --deployment %s", SecretName, SecretNamespace, SecretDeployment)
	if err := s.openWith(ctx, People.Hank, line); err != nil {
		return err
	}
	s.say("%s ticks the preconditions", People.Hank.Login)
	return s.tick(ctx, People.Hank, s.keys("pre")...)
}

func (s *Scenario) rotationApproval(ctx context.Context) error {
	s.say("%s (security lead) approves; the bot generates the secret, switches the deployment and checks the rollout", People.Gina.Login)
	skip := len(s.Fakes.GitHub.Comments(s.issue))
	ack, err := s.slashCommand(ctx, People.Gina, fmt.Sprintf("approve #%d", s.issue))
	if err != nil {
		return err
	}
	s.show("Slack reply to "+People.Gina.Login, ack.Text)
	if err := s.settle(ctx); err != nil {
		return err
	}
	s.showComments(skip)
	for _, key := range []string{"s1-1", "s2-1", "s3-1", "s3-3"} {
		if !s.checked(key) {
			return fmt.Errorf("the bot did not tick %s after the approval", key)
		}
	}
	return nil
}

func (s *Scenario) rotationVerification(ctx context.Context) error {
	s.say("%s and %s check connectivity and the logs", People.Hank.Login, People.Ivy.Login)
	if err := s.tick(ctx, People.Hank, "s3-2"); err != nil {
		return err
	}
	skip := len(s.Fakes.GitHub.Comments(s.issue))
	if err := s.tick(ctx, People.Ivy, "s3-4"); err != nil {
		return err
	}
	s.showComments(skip)
	return nil
}

func (s *Scenario) rotationDecommission(ctx context.Context) error {
	s.say("after the wait the bot deletes the old secret; %s revokes the old credential and updates the runbook", People.Hank.Login)
	if err := s.settle(ctx); err != nil {
		return err
	}
	skip := len(s.Fakes.GitHub.Comments(s.issue))
	if err := s.tick(ctx, People.Hank, "s4-2"); err != nil {
		return err
	}
	if err := s.tick(ctx, People.Hank, "s5-3"); err != nil {
		return err
	}
	s.showComments(skip)
	if _, err := s.slashCommand(ctx, People.Hank, "secrets"); err != nil {
		return err
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	if responses := s.Fakes.Slack.Responses(); len(responses) > 0 {
		s.show("Slack, /mlops secrets", responses[len(responses)-1].Text)
	}
	return nil
}

func (s *Scenario) verifyRotation(ctx context.Context, logs *bytes.Buffer) error {
	s.say("end state")
	var state string
	if err := s.DB.QueryRowContext(ctx, `SELECT state FROM requests WHERE issue_number = ?`, s.issue).Scan(&state); err != nil {
		return fmt.Errorf("reading the request: %w", err)
	}
	issue, _ := s.Fakes.GitHub.Issue(s.issue)
	kube := s.Fakes.Kube
	_, oldErr := kube.CoreV1().Secrets(SecretNamespace).Get(ctx, SecretName, metav1.GetOptions{})
	secrets, _ := kube.CoreV1().Secrets(SecretNamespace).List(ctx, metav1.ListOptions{})
	var newName, newValue string
	for _, sec := range secrets.Items {
		if sec.Labels["sopbot.dev/request"] != "" {
			newName, newValue = sec.Name, string(sec.Data["AWS_ACCESS_KEY_ID"])
		}
	}
	d, _ := kube.AppsV1().Deployments(SecretNamespace).Get(ctx, SecretDeployment, metav1.GetOptions{})
	reads := ""
	if d != nil && len(d.Spec.Template.Spec.Containers) > 0 && len(d.Spec.Template.Spec.Containers[0].EnvFrom) > 0 {
		reads = d.Spec.Template.Spec.Containers[0].EnvFrom[0].SecretRef.Name
	}
	var current string
	if err := s.DB.QueryRowContext(ctx, `SELECT current FROM secrets WHERE namespace = ? AND name = ?`, SecretNamespace, SecretName).Scan(&current); err != nil {
		return fmt.Errorf("reading the secret inventory: %w", err)
	}
	written, err := s.everythingWritten(ctx, logs)
	if err != nil {
		return err
	}
	checks := []endCheck{
		{state == "done", "request state is done (got " + state + ")"},
		{issue.State == "closed", "issue is closed (got " + issue.State + ")"},
		{newName != "" && len(newValue) == 32, "a new secret with 32-character values exists (" + newName + ")"},
		{reads == newName, "the deployment reads the new secret (got " + reads + ")"},
		{oldErr != nil, "the old secret is deleted"},
		{current == newName, "the inventory names the new secret (got " + current + ")"},
		{!strings.Contains(written, kube.SecretValue), "the old value appears in no issue, comment, Slack message, audit row or log line"},
		{newValue != "" && !strings.Contains(written, newValue), "the new value appears in none of them either"},
		{allTicked(issue.Body), "every box of the issue is ticked"},
	}
	return report(s, checks)
}

// everythingWritten joins every text the bot wrote: issue titles and
// bodies, comments, Slack messages and responses, audit rows and logs.
func (s *Scenario) everythingWritten(ctx context.Context, logs *bytes.Buffer) (string, error) {
	var b strings.Builder
	for _, issue := range s.Fakes.GitHub.Issues() {
		b.WriteString(issue.Title + issue.Body)
		for _, c := range s.Fakes.GitHub.Comments(issue.Number) {
			b.WriteString(c.Body)
		}
	}
	for _, m := range s.Fakes.Slack.Messages() {
		b.WriteString(m.Text + string(m.Blocks))
	}
	for _, r := range s.Fakes.Slack.Responses() {
		b.WriteString(string(r.Body))
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT actor || action || detail FROM audit`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			return "", err
		}
		b.WriteString(row)
	}
	if logs != nil {
		b.Write(logs.Bytes())
	}
	return b.String(), rows.Err()
}
