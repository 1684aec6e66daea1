package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/infra"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/sop"
)

// RetrainPipeline is the KFP pipeline that retrains the demo model.
const RetrainPipeline = "fraud-retraining"

// RunDrift plays SOP-03. The drift detector reports no drift, then drift.
// The bot opens the retraining request, records the scores, starts the
// retraining pipeline and compares the version it registers with
// production. The ML engineer on call reviews it and promotes it, which
// opens an SOP-02 request whose reviewers and approvers sign quickly. Then
// the bot points the drift reference at the new training data and the
// retraining ends. The bot must serve the drift endpoint with
// Fakes.DriftToken.
func (s *Scenario) RunDrift(ctx context.Context) error {
	d := &driftRun{Scenario: s}
	if err := d.setup(); err != nil {
		return err
	}
	return s.runPhases(ctx, d.rejectToken, d.reportNoDrift, d.reportDrift, d.runPipeline, d.outsiderPromote, d.review,
		d.promote, d.promotionReviews, d.promotionApproval, d.finishRetraining, d.verify, s.printAudit)
}

// driftRun is the state of one drift scenario.
type driftRun struct {
	*Scenario
	retraining, promotion *sop.SOP
	// request is the retraining request's id, such as "R-3".
	request string
	// retrainIssue and promoIssue are the issues of the SOP-03 request
	// and of the SOP-02 request that it opens.
	retrainIssue, promoIssue int
	// retrainSeen counts the retraining issue's comments already shown.
	retrainSeen int
	// production is the version in Production before the scenario, and
	// candidate the version the pipeline registers.
	production, candidate string
	runName               string
	// dataset is the source of the candidate's training data.
	dataset string
	slack   int // Slack messages seen so far
}

func (d *driftRun) setup() error {
	lib, err := sop.Embedded()
	if err != nil {
		return err
	}
	var ok bool
	if d.retraining, ok = lib.Get("SOP-03"); !ok {
		return errors.New("the embedded library has no SOP-03")
	}
	if d.promotion, ok = lib.Get("SOP-02"); !ok {
		return errors.New("the embedded library has no SOP-02")
	}

	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.Out == nil {
		d.Out = io.Discard
	}
	d.issue, d.pr = 0, 0

	// After the promote scenario v3 is in Production. Alone, the scenario
	// starts from the registry the promote scenario starts from.
	if _, ok := d.Fakes.MLflow.Version(Model, "2"); !ok {
		d.Fakes.seedRegistry()
	}
	last := 0
	for n := 1; n < 100; n++ {
		v, ok := d.Fakes.MLflow.Version(Model, strconv.Itoa(n))
		if !ok {
			continue
		}
		last = n
		if v.CurrentStage == mlflow.StageProduction {
			d.production = v.Version
		}
	}
	if d.production == "" {
		return fmt.Errorf("no version of %s is in Production", Model)
	}
	d.candidate = strconv.Itoa(last + 1)
	return nil
}

// driftReport is a detector report over seven days that end weeksAgo
// weeks before today.
func driftReport(weeksAgo int, features string) string {
	end := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -7*weeksAgo)
	start := end.AddDate(0, 0, -7)
	return fmt.Sprintf(`{"model": %q, "window": {"start": %q, "end": %q}, "features": [%s]}`,
		Model, start.Format(time.RFC3339), end.Format(time.RFC3339), features)
}

// postDrift sends a report to the drift endpoint with token and returns
// the status and the body.
func (d *driftRun) postDrift(ctx context.Context, token, report string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.ServerURL+"/api/v1/drift", strings.NewReader(report))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("posting the drift report: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// showReport prints a report as the detector sends it.
func (d *driftRun) showReport(report string) {
	var compact bytes.Buffer
	if json.Compact(&compact, []byte(report)) != nil {
		compact.WriteString(report)
	}
	d.show("detector", "POST /api/v1/drift with Authorization: Bearer <retraining.apiToken>\n"+compact.String())
}

func (d *driftRun) rejectToken(ctx context.Context) error {
	d.say("a sender without the drift token posts a report")
	status, body, err := d.postDrift(ctx, "not-the-token", driftReport(0, `{"name": "amount", "psi": 0.9}`))
	if err != nil {
		return err
	}
	d.show(fmt.Sprintf("HTTP %d", status), string(body))
	if status != http.StatusUnauthorized {
		return fmt.Errorf("a report with a wrong token got status %d, expected 401", status)
	}
	return nil
}

func (d *driftRun) reportNoDrift(ctx context.Context) error {
	d.say("the drift detector posts last week's scores of %s: no feature crosses a threshold", Model)
	report := driftReport(1, `{"name": "amount", "ks_statistic": 0.04, "ks_pvalue": 0.52, "psi": 0.03},
		{"name": "tokens", "ks_statistic": 0.06, "ks_pvalue": 0.21, "psi": 0.08}`)
	d.showReport(report)
	decision, err := d.sendReport(ctx, report, http.StatusOK)
	if err != nil {
		return err
	}
	if decision.Outcome != bot.DriftNotDetected || decision.Request != "" {
		return fmt.Errorf("a report without drift returned outcome %q and request %q, expected %q and none", decision.Outcome, decision.Request, bot.DriftNotDetected)
	}
	return d.settle(ctx)
}

// sendReport posts a report with the drift token and expects status.
func (d *driftRun) sendReport(ctx context.Context, report string, status int) (bot.DriftDecision, error) {
	var decision bot.DriftDecision
	got, body, err := d.postDrift(ctx, d.Fakes.DriftToken, report)
	if err != nil {
		return decision, err
	}
	d.show(fmt.Sprintf("HTTP %d", got), string(body))
	if got != status {
		return decision, fmt.Errorf("the drift endpoint returned status %d, expected %d: %s", got, status, body)
	}
	if err := json.Unmarshal(body, &decision); err != nil {
		return decision, fmt.Errorf("the drift decision is not JSON: %w", err)
	}
	return decision, nil
}

func (d *driftRun) reportDrift(ctx context.Context) error {
	d.say("in this week's report the feature `tokens` drifts: PSI 0.42 against the threshold 0.2")
	// The pipeline's run stays RUNNING until the scenario has registered
	// the retrained version, as a real pipeline registers it before it
	// ends.
	d.Fakes.KFP.SetOutcome("sopbot R-", kfp.StateRunning)
	d.slack = len(d.Fakes.Slack.Messages())
	report := driftReport(0, `{"name": "amount", "ks_statistic": 0.05, "ks_pvalue": 0.44, "psi": 0.04},
		{"name": "tokens", "ks_statistic": 0.31, "ks_pvalue": 0.0001, "psi": 0.42}`)
	d.showReport(report)
	decision, err := d.sendReport(ctx, report, http.StatusCreated)
	if err != nil {
		return err
	}
	if decision.Outcome != bot.DriftRequestOpened || decision.Request == "" {
		return fmt.Errorf("a drifted report returned outcome %q, expected %q with a request", decision.Outcome, bot.DriftRequestOpened)
	}
	d.request = decision.Request
	d.runName = fmt.Sprintf("sopbot %s retrain %s", d.request, Model)

	// kfp-retrain waits for the run, so the bot does not settle until the
	// run ends: wait for its notice instead.
	err = d.waitFor(ctx, "the retraining issue and its KFP run", func() bool {
		d.retrainIssue = d.issueOf(ctx, d.request)
		return d.retrainIssue > 0 && d.hasComment(d.retrainIssue, "started KFP run")
	})
	if err != nil {
		return err
	}
	d.on(d.retrainIssue, d.retraining)
	issue, _ := d.Fakes.GitHub.Issue(d.issue)
	d.show("GitHub issue #"+strconv.Itoa(d.issue), issue.Title)
	d.showChecklist(issue.Body)
	d.showComments(0)
	d.showSlack()
	if open := d.unticked("s1-1", "s1-2", "s1-3", "s1-4", "s2-1", "s2-3"); len(open) > 0 {
		return fmt.Errorf("drift-record did not tick %s", strings.Join(open, ", "))
	}
	return nil
}

// waitFor polls ok until it holds or the scenario's timeout passes.
func (d *driftRun) waitFor(ctx context.Context, what string, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s waiting for %s", d.Timeout, what)
		case <-time.After(30 * time.Millisecond):
		}
	}
	return nil
}

// issueOf returns the issue number of a request such as "R-3", or 0 while
// its issue is not open.
func (d *driftRun) issueOf(ctx context.Context, request string) int {
	id, err := strconv.ParseInt(strings.TrimPrefix(request, "R-"), 10, 64)
	if err != nil {
		return 0
	}
	var number int
	_ = d.DB.QueryRowContext(ctx, `SELECT COALESCE(issue_number, 0) FROM requests WHERE id = ?`, id).Scan(&number)
	return number
}

func (d *driftRun) hasComment(issue int, text string) bool {
	for _, c := range d.Fakes.GitHub.Comments(issue) {
		if strings.Contains(c.Body, text) {
			return true
		}
	}
	return false
}

// on makes the scenario's tick, keys and comment helpers act on an issue
// of the given SOP.
func (d *driftRun) on(issue int, s *sop.SOP) { d.issue, d.sop = issue, s }

func (d *driftRun) showChecklist(body string) {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "### ") || strings.HasPrefix(line, "- [") {
			fmt.Fprintf(d.Out, "     %s\n", stripItemMarker(line))
		}
	}
}

// showSlack prints the channel's messages since the last call.
func (d *driftRun) showSlack() {
	messages := d.Fakes.Slack.Messages()
	for _, m := range messages[min(d.slack, len(messages)):] {
		d.show("Slack #"+m.Channel, m.Text)
	}
	d.slack = len(messages)
}

func (d *driftRun) runPipeline(ctx context.Context) error {
	var run kfp.Run
	for _, r := range d.Fakes.KFP.Created() {
		if r.DisplayName == d.runName {
			run = r
		}
	}
	if run.ID == "" {
		return fmt.Errorf("KFP has no run named %q", d.runName)
	}
	start, _ := run.Parameters["window_start"].(string)
	end, _ := run.Parameters["window_end"].(string)
	d.say("the pipeline %s trains on the data window it was given and registers %s v%s, tagged %s=%s",
		run.PipelineID, Model, d.candidate, bot.TagRequest, d.request)
	d.show("KFP run "+run.ID, fmt.Sprintf("%s: pipeline %s version %s, parameters %v", run.DisplayName, run.PipelineID, run.PipelineVersionID, run.Parameters))

	// This is the part of the pipeline that the demo plays itself: log the
	// run with its evaluation and training data, register the version.
	skip := len(d.Fakes.GitHub.Comments(d.issue))
	runID := "run-fd-" + d.candidate
	d.dataset = fmt.Sprintf("s3://ml-data/fraud/transactions/%s_%s", dateOf(start), dateOf(end))
	m := d.Fakes.MLflow
	m.AddRun(mlflow.Run{ID: runID, Name: "fraud-detector-retrain-" + d.request,
		Metrics: map[string]float64{"accuracy": 0.953, "auc": 0.969, "latency_p95_ms": 39, "f1": 0.824},
		Params:  map[string]string{"dataset_version": dateOf(end), "request": d.request, "epochs": "5"},
		Datasets: []mlflow.DatasetInput{{Name: "transactions-" + dateOf(end), Digest: "4be07c1a", SourceType: "s3",
			Source: d.dataset, Context: "training"}}})
	m.AddArtifact(runID, "model/MLmodel", []byte("artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"))
	m.AddArtifact(runID, "model/model.pkl", benignPickle)
	m.AddArtifact(runID, "model/requirements.txt", []byte("scikit-learn==1.5.2\n"))
	m.AddVersion(Model, d.candidate, mlflow.StageNone, map[string]string{bot.TagRequest: d.request})
	m.SetVersionRun(Model, d.candidate, runID, "")
	d.Fakes.KFP.SetOutcome(d.runName, kfp.StateSucceeded)
	d.Fakes.KFP.SetOutcome("sopbot R-", kfp.StateSucceeded)
	if err := d.settle(ctx); err != nil {
		return err
	}
	d.showComments(skip)
	d.showSlack()
	if open := d.unticked("s2-2", "s3-1", "s3-2", "s3-3", "s3-4"); len(open) > 0 {
		return fmt.Errorf("kfp-retrain and model-compare did not tick %s", strings.Join(open, ", "))
	}
	return nil
}

func dateOf(rfc3339 string) string {
	if t, err := time.Parse(time.RFC3339, rfc3339); err == nil {
		return t.Format(time.DateOnly)
	}
	return rfc3339
}

func (d *driftRun) outsiderPromote(ctx context.Context) error {
	p := People.Mallory
	d.say("%s, who holds no role, types `/mlops promote #%d`", p.Login, d.issue)
	reply, err := d.command(ctx, p, fmt.Sprintf("promote #%d", d.issue))
	if err != nil {
		return err
	}
	if !strings.Contains(reply, "only a reviewer or an approver can promote") {
		return fmt.Errorf("a promote by %s was not rejected: %q", p.Login, reply)
	}
	return nil
}

// command sends a slash command as p, waits for the bot and returns its
// delayed response, which it prints.
func (d *driftRun) command(ctx context.Context, p Person, line string) (string, error) {
	before := len(d.Fakes.Slack.Responses())
	if _, err := d.slashCommand(ctx, p, line); err != nil {
		return "", err
	}
	if err := d.settle(ctx); err != nil {
		return "", err
	}
	responses := d.Fakes.Slack.Responses()
	if len(responses) == before {
		return "", fmt.Errorf("no Slack response to `/mlops %s`", line)
	}
	last := responses[len(responses)-1]
	d.show("Slack, "+last.ResponseType+" reply to "+p.Login, last.Text)
	return last.Text, nil
}

func (d *driftRun) review(ctx context.Context) error {
	p := People.Judy
	d.say("%s (%s) confirms the preconditions and ticks the review of step 4", p.Login, p.Role)
	keys := append(d.keys("pre"), d.keys("step-4")...)
	if err := d.tick(ctx, p, keys...); err != nil {
		return err
	}
	if open := d.unticked(keys...); len(open) > 0 {
		return fmt.Errorf("the reviewer's ticks of %s were set back", strings.Join(open, ", "))
	}
	fmt.Fprintf(d.Out, "   all %d boxes stay ticked\n", len(keys))
	return nil
}

func (d *driftRun) promote(ctx context.Context) error {
	p := People.Judy
	d.say("%s types `/mlops promote #%d`", p.Login, d.issue)
	skip := len(d.Fakes.GitHub.Comments(d.issue))
	reply, err := d.command(ctx, p, fmt.Sprintf("promote #%d", d.issue))
	if err != nil {
		return err
	}
	if !strings.Contains(reply, "Opened #") {
		return fmt.Errorf("the promote command did not open the promotion: %q", reply)
	}
	d.retrainSeen = d.showComments(skip)
	d.promoIssue = d.issueOf(ctx, d.promotionRequest(ctx))
	if d.promoIssue == 0 {
		return fmt.Errorf("the SOP-02 request of %s v%s has no issue", Model, d.candidate)
	}
	issue, _ := d.Fakes.GitHub.Issue(d.promoIssue)
	d.show("GitHub issue #"+strconv.Itoa(d.promoIssue), issue.Title)
	want := fmt.Sprintf("[SOP-02] Promote %s v%s to Production", Model, d.candidate)
	if issue.Title != want {
		return fmt.Errorf("the promotion issue is %q, expected %q", issue.Title, want)
	}
	return nil
}

// promotionRequest returns the id of the SOP-02 request of the candidate.
func (d *driftRun) promotionRequest(ctx context.Context) string {
	var id int64
	_ = d.DB.QueryRowContext(ctx, `SELECT id FROM requests WHERE sop_id = 'SOP-02' AND json_extract(params, '$.version') = ? ORDER BY id DESC LIMIT 1`,
		d.candidate).Scan(&id)
	return fmt.Sprintf("R-%d", id)
}

func (d *driftRun) promotionReviews(ctx context.Context) error {
	p := People
	d.on(d.promoIssue, d.promotion)
	d.say("on #%d %s ticks the model card, opens the serving pull request, and %s, %s and %s review",
		d.issue, p.Judy.Login, p.Bob.Login, p.Carol.Login, p.Erin.Login)
	if open := d.unticked("pre-1", "pre-2", "s2-5"); len(open) > 0 {
		return fmt.Errorf("sopbot did not tick %s of the promotion from its evidence", strings.Join(open, ", "))
	}
	if err := d.tick(ctx, p.Judy, "pre-3"); err != nil {
		return err
	}
	body := fmt.Sprintf("Serve %s v%s, retrained in %s.\n\nSOP request: #%d", Model, d.candidate, d.request, d.issue)
	pr, _, err := d.Fakes.GitHub.OpenPullRequest(p.Judy.Login, fmt.Sprintf("Serve %s v%s", Model, d.candidate), body)
	if err != nil {
		return err
	}
	d.pr = pr
	if err := d.settle(ctx); err != nil {
		return err
	}
	if err := d.Fakes.GitHub.CompleteCheckRun("ci-runner[bot]", pr, ParityCheck, "success"); err != nil {
		return err
	}
	if err := d.settle(ctx); err != nil {
		return err
	}

	if err := d.tick(ctx, p.Bob, "s2-1", "s2-3"); err != nil {
		return err
	}
	if err := d.tick(ctx, p.Carol, "s2-4"); err != nil {
		return err
	}
	if err := d.tick(ctx, p.Erin, d.keys("step-3")...); err != nil {
		return err
	}
	keys := append(append(d.keys("pre"), d.keys("step-2")...), d.keys("step-3")...)
	if open := d.unticked(keys...); len(open) > 0 {
		return fmt.Errorf("the promotion's reviews left %s unticked", strings.Join(open, ", "))
	}
	fmt.Fprintf(d.Out, "   pull request #%d passes %s; all %d boxes of the preconditions and reviews are ticked\n", pr, ParityCheck, len(keys))
	return nil
}

func (d *driftRun) promotionApproval(ctx context.Context) error {
	p := People
	d.say("%s (%s) and %s (%s) type `/mlops approve #%d`; the bot promotes v%s; %s ticks the deployment",
		p.Dana.Login, p.Dana.Role, p.Erin.Login, p.Erin.Role, d.issue, d.candidate, p.Judy.Login)
	skip := len(d.Fakes.GitHub.Comments(d.issue))
	for _, approver := range []Person{p.Dana, p.Erin} {
		if _, err := d.slashCommand(ctx, approver, fmt.Sprintf("approve #%d", d.issue)); err != nil {
			return err
		}
		if err := d.settle(ctx); err != nil {
			return err
		}
	}
	if v, _ := d.Fakes.MLflow.Version(Model, d.candidate); v.CurrentStage != mlflow.StageProduction {
		return fmt.Errorf("MLflow has %s v%s in stage %q after the approval, expected Production", Model, d.candidate, v.CurrentStage)
	}
	if err := d.tick(ctx, p.Judy, d.keys("step-5")...); err != nil {
		return err
	}
	d.showComments(skip)
	d.showSlack()
	issue, _ := d.Fakes.GitHub.Issue(d.issue)
	d.show("GitHub issue #"+strconv.Itoa(d.issue), "state "+issue.State+"; labels "+strings.Join(issue.Labels, ", "))
	return nil
}

func (d *driftRun) finishRetraining(ctx context.Context) error {
	p := People.Judy
	d.on(d.retrainIssue, d.retraining)
	d.say("back on #%d: the promotion check passes, the bot updates the drift reference, %s ticks the canary deployment", d.issue, p.Login)
	if err := d.settle(ctx); err != nil {
		return err
	}
	skip := d.retrainSeen
	if open := d.unticked("s5-1", "s5-3"); len(open) > 0 {
		return fmt.Errorf("the end of the promotion did not tick %s", strings.Join(open, ", "))
	}
	if err := d.tick(ctx, p, "s5-2"); err != nil {
		return err
	}
	d.showComments(skip)
	d.showSlack()
	issue, _ := d.Fakes.GitHub.Issue(d.issue)
	d.show("GitHub issue #"+strconv.Itoa(d.issue), "state "+issue.State+"; labels "+strings.Join(issue.Labels, ", "))
	return nil
}

func (d *driftRun) verify(ctx context.Context) error {
	d.say("end state")
	state := func(issue int) string {
		var state string
		_ = d.DB.QueryRowContext(ctx, `SELECT state FROM requests WHERE issue_number = ?`, issue).Scan(&state)
		return state
	}
	retrainState, promoState := state(d.retrainIssue), state(d.promoIssue)
	retrainIssue, _ := d.Fakes.GitHub.Issue(d.retrainIssue)
	promoIssue, _ := d.Fakes.GitHub.Issue(d.promoIssue)
	var retrainings, noDrift int
	if err := d.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM requests WHERE sop_id = 'SOP-03'`).Scan(&retrainings); err != nil {
		return fmt.Errorf("reading the requests: %w", err)
	}
	if err := d.DB.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE action = 'no drift detected'`).Scan(&noDrift); err != nil {
		return fmt.Errorf("reading the audit trail: %w", err)
	}
	var runs []kfp.Run
	for _, r := range d.Fakes.KFP.Created() {
		if strings.HasPrefix(r.DisplayName, d.runName) {
			runs = append(runs, r)
		}
	}
	window := ""
	if len(runs) == 1 {
		window = fmt.Sprintf("%v to %v", runs[0].Parameters["window_start"], runs[0].Parameters["window_end"])
	}
	candidate, _ := d.Fakes.MLflow.Version(Model, d.candidate)
	previous, _ := d.Fakes.MLflow.Version(Model, d.production)
	tags, _ := d.Fakes.MLflow.ModelTags(Model)
	metrics, err := d.scrape(ctx)
	if err != nil {
		return err
	}
	var told []string
	for _, m := range d.Fakes.Slack.Messages() {
		told = append(told, m.Text)
	}
	slack := strings.Join(told, "\n")

	checks := []endCheck{
		{noDrift >= 1, "the report without drift was recorded as \"no drift detected\""},
		{retrainings == 1, fmt.Sprintf("one SOP-03 request, from the drifted report (got %d)", retrainings)},
		{retrainState == "done", "the retraining request is done (got " + retrainState + ")"},
		{retrainIssue.State == "closed", "the retraining issue is closed (got " + retrainIssue.State + ")"},
		{len(runs) == 1 && runs[0].Parameters["request"] == d.request,
			fmt.Sprintf("one KFP run %q was created, for %s, on the data from %s (got %d)", d.runName, d.request, window, len(runs))},
		{promoState == "done", "the SOP-02 promotion request is done (got " + promoState + ")"},
		{promoIssue.State == "closed", "the promotion issue is closed (got " + promoIssue.State + ")"},
		{candidate.CurrentStage == mlflow.StageProduction, fmt.Sprintf("v%s is in Production (got %s)", d.candidate, candidate.CurrentStage)},
		{previous.CurrentStage == mlflow.StageArchived, fmt.Sprintf("v%s, production before, is Archived (got %s)", d.production, previous.CurrentStage)},
		{strings.Contains(candidate.Tags["sopbot.approved_by"], "dana (ML lead)") && strings.Contains(candidate.Tags["sopbot.approved_by"], "erin (compliance officer)"),
			fmt.Sprintf("v%s is tagged with both approvers (got %s)", d.candidate, candidate.Tags["sopbot.approved_by"])},
		{tags["sopbot.reference_dataset"] == d.dataset && tags[infra.TagReferenceRequest] == d.request,
			fmt.Sprintf("the registered model's reference tag is %s, set by %s (got %q, %q)", d.dataset, d.request, tags["sopbot.reference_dataset"], tags[infra.TagReferenceRequest])},
		{strings.Contains(metrics, `sopbot_drift_score{feature="tokens",metric="psi",model="fraud-detector"} 0.42`),
			"/metrics exports sopbot_drift_score of the newest report (tokens psi 0.42)"},
		{strings.Contains(metrics, `sopbot_drift_detected{feature="tokens",model="fraud-detector"} 1`),
			"/metrics exports sopbot_drift_detected 1 for tokens"},
		{strings.Contains(slack, "retraining request #"+strconv.Itoa(d.retrainIssue)) && strings.Contains(slack, "is ready for review in #"+strconv.Itoa(d.retrainIssue)),
			"Slack was told of the request and of the review"},
		{allTicked(retrainIssue.Body), "every box of the retraining issue is ticked"},
		{allTicked(promoIssue.Body), "every box of the promotion issue is ticked"},
	}
	return report(d.Scenario, checks)
}

// scrape returns the bot's /metrics page.
func (d *driftRun) scrape(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.ServerURL+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("reading /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("/metrics returned status %d", resp.StatusCode)
	}
	return string(body), err
}
