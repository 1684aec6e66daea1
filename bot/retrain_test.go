package bot_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
)

const retrainIssueURL = "https://github.example/acme/ml-requests/issues/1"

// newRetrainHarness is the engine harness with the SOP-03 roles: olga and
// oscar are the ML engineers on call, and dana is the ML lead.
func newRetrainHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	cfg := testConfig()
	cfg.Roles["ML engineer on-call"] = config.Holders{GitHub: []string{"olga", "oscar"}}
	cfg.People = append(cfg.People, config.Person{GitHub: "olga", Slack: "U0OLGA"})
	h.dir = bot.NewDirectory(cfg, nil)
	h.engine.Directory = h.dir
	return h
}

func num(v float64) *float64 { return &v }

var testPolicy = bot.RetrainPolicy{Thresholds: config.DriftThresholds{PSI: 0.2, KSPValue: 0.01}, SOP: "SOP-03"}

// driftReport is a report on fraud-detector whose tokens feature has the
// given PSI; amount never drifts.
func driftReport(psi float64) bot.DriftReport {
	return bot.DriftReport{
		Model:       "fraud-detector",
		WindowStart: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		WindowEnd:   time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
		Features: []bot.FeatureScore{
			{Name: "amount", KSStatistic: num(0.02), KSPValue: num(0.6), PSI: num(0.01), KL: num(0.001)},
			{Name: "tokens", KSStatistic: num(0.3), KSPValue: num(0.2), PSI: num(psi)},
		},
	}
}

// report records a drift report as the HTTP edge does.
func (h *harness) report(r bot.DriftReport, p bot.RetrainPolicy) bot.DriftDecision {
	h.t.Helper()
	var decision bot.DriftDecision
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		decision, err = h.engine.RecordDriftReport(h.ctx, tx, r, p)
		return err
	})
	require.NoError(h.t, err)
	return decision
}

func (h *harness) driftScores(requestID int64) []store.DriftScore {
	h.t.Helper()
	scores, err := h.db.RequestDriftScores(h.ctx, h.db.SQL, requestID)
	require.NoError(h.t, err)
	return scores
}

// openRetraining opens the SOP-03 request of fraud-detector from a
// drifted report and records issue 1 for it.
func (h *harness) openRetraining() int64 {
	h.t.Helper()
	decision := h.report(driftReport(0.31), testPolicy)
	require.Equal(h.t, bot.DriftRequestOpened, decision.Outcome)
	id := h.requestID(decision.Request)
	h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: retrainIssueURL})
	return id
}

func (h *harness) requestID(label string) int64 {
	h.t.Helper()
	var id int64
	_, err := fmt.Sscanf(label, "R-%d", &id)
	require.NoError(h.t, err, "request label %q", label)
	return id
}

// finishAction records an action's success as the worker does.
func (h *harness) finishAction(id int64, action, summary string, result any) {
	h.t.Helper()
	data, err := json.Marshal(result)
	require.NoError(h.t, err)
	h.startRun(id, action)
	h.handle(bot.InfraFinished{RequestID: id, Action: action, Succeeded: true, Summary: summary, Result: string(data)})
}

func comparison(auto bool) bot.ModelComparison {
	return bot.ModelComparison{Model: "fraud-detector", Candidate: "7", CandidateRunID: "run-7", Production: "5", To: "Production",
		ThresholdsHold: true, Improved: auto, AutoPromote: auto}
}

// compared takes the retraining through its first three actions, leaving
// it waiting for the review.
func (h *harness) compared(auto bool) int64 {
	h.t.Helper()
	id := h.openRetraining()
	h.finishAction(id, bot.ActionDriftRecord, "drift recorded", map[string]string{"trigger": "tokens drifted"})
	h.finishAction(id, bot.ActionKFPRetrain, "run succeeded", map[string]string{"run_id": "run-0001"})
	h.finishAction(id, bot.ActionModelCompare, "compared", comparison(auto))
	return id
}

// tickIssue has login tick boxes of the request of another issue.
func (h *harness) tickIssue(issue int, login string, keys ...string) {
	h.t.Helper()
	id := h.requestIDOfIssue(issue)
	for _, key := range keys {
		base := h.body(id)
		h.handle(bot.ChecklistEdited{DeliveryID: h.deliveryID(), Actor: h.actor(login), Issue: issue,
			OldBody: base, NewBody: h.edit(base, true, key), HasOld: true})
	}
}

func TestDriftReportWithoutDriftIsRecorded(t *testing.T) {
	h := newRetrainHarness(t)
	mark := h.queue.mark()
	decision := h.report(driftReport(0.05), testPolicy)

	assert.Equal(t, bot.DriftNotDetected, decision.Outcome)
	assert.Empty(t, decision.Request)
	assert.Empty(t, decision.Drifted)
	assert.Contains(t, decision.Message, "No drift detected")
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "no request opens")
	assert.Equal(t, "no drift detected", h.lastAudit(0).Action)
	scores, err := h.db.LatestModelDriftScores(h.ctx, h.db.SQL, "fraud-detector")
	require.NoError(t, err)
	require.Len(t, scores, 2, "both features are stored")
	assert.False(t, scores[1].Drifted)
	assert.Nil(t, scores[1].KL, "a score the detector left out stays missing")
}

func TestDriftReportOpensRetraining(t *testing.T) {
	h := newRetrainHarness(t)
	mark := h.queue.mark()
	decision := h.report(driftReport(0.31), testPolicy)

	assert.Equal(t, bot.DriftRequestOpened, decision.Outcome)
	assert.Equal(t, "R-1", decision.Request)
	assert.Equal(t, []string{"tokens"}, decision.Drifted)
	assert.Equal(t, []string{"tokens: PSI 0.31 > 0.2"}, decision.Reasons)
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(t, opened, 1)
	req := h.request(opened[0].RequestID)
	assert.Equal(t, "SOP-03", req.SOPID)
	assert.Equal(t, bot.BotActor, req.RequesterLogin)
	assert.Contains(t, req.Origin.Note, "from 2026-11-27T00:00:00Z to 2026-12-04T00:00:00Z")
	scores := h.driftScores(req.ID)
	require.Len(t, scores, 2, "the scores belong to the request")
	assert.True(t, scores[1].Drifted)

	mark = h.queue.mark()
	again := h.report(driftReport(0.31), testPolicy)
	assert.True(t, again.Duplicate, "the same report again is a duplicate")
	assert.Equal(t, "R-1", again.Request)
	assert.Empty(t, h.queue.kindsSince(mark), "a duplicate changes nothing")
	assert.Len(t, h.driftScores(req.ID), 2, "a duplicate stores no scores")
}

func TestDriftReportJoinsOpenRetraining(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.openRetraining()
	mark := h.queue.mark()
	decision := h.report(driftReport(0.45), testPolicy)

	assert.Equal(t, bot.DriftReportAttached, decision.Outcome)
	assert.Equal(t, "R-1", decision.Request)
	assert.Equal(t, retrainIssueURL, decision.IssueURL)
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "one open request per model")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "Drift is still detected.")
	assert.Len(t, h.driftScores(id), 4, "the second report is attached")
}

func TestScheduledRetrainingIsDue(t *testing.T) {
	h := newRetrainHarness(t)
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := start
	h.db.SetClock(func() time.Time { return now })
	advance := func(d time.Duration) { now = start.Add(d) }
	policy := testPolicy
	policy.Every = 30 * 24 * time.Hour

	first := h.report(driftReport(0.05), policy)
	assert.Equal(t, bot.DriftNotDetected, first.Outcome, "the first report starts the schedule")
	assert.False(t, first.ScheduleDue)

	advance(29 * 24 * time.Hour)
	early := driftReport(0.06)
	assert.Equal(t, bot.DriftNotDetected, h.report(early, policy).Outcome, "not due before the schedule")

	advance(31 * 24 * time.Hour)
	due := h.report(driftReport(0.07), policy)
	assert.Equal(t, bot.DriftRequestOpened, due.Outcome)
	assert.True(t, due.ScheduleDue)
	assert.Empty(t, due.Drifted)
	require.Len(t, due.Reasons, 1)
	assert.Contains(t, due.Reasons[0], "scheduled retraining is due: the first drift report arrived 2026-12-01T00:00:00Z")

	h.handle(bot.IssueOpened{RequestID: h.requestID(due.Request), Number: 1, URL: retrainIssueURL})
	advance(32 * 24 * time.Hour)
	h.command("olga", "reject #1 not needed")
	advance(40 * 24 * time.Hour)
	assert.Equal(t, bot.DriftNotDetected, h.report(driftReport(0.08), policy).Outcome,
		"the schedule starts again from the last request")

	advance(62 * 24 * time.Hour)
	next := h.report(driftReport(0.09), policy)
	assert.Equal(t, bot.DriftRequestOpened, next.Outcome)
	assert.Contains(t, next.Reasons[0], "the last retraining request opened 2027-01-01T00:00:00Z, and the schedule is every 30 days")

	advance(93 * 24 * time.Hour)
	mark := h.queue.mark()
	h.handle(bot.IssueOpened{RequestID: h.requestID(next.Request), Number: 2, URL: "https://github.example/acme/ml-requests/issues/2"})
	again := h.report(driftReport(0.1), policy)
	assert.Equal(t, bot.DriftReportAttached, again.Outcome, "the open request takes the next due report")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "No feature drifted, but the scheduled retraining date has passed again")
}

func TestRetrainingActionsChain(t *testing.T) {
	h := newRetrainHarness(t)
	mark := h.queue.mark()
	id := h.openRetraining()
	assert.Equal(t, []string{bot.ActionDriftRecord}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)),
		"drift-record starts when the issue opens")
	assert.Equal(t, bot.StateAwaitingReview, h.request(id).State, "the preconditions are the reviewer's")

	mark = h.queue.mark()
	h.finishAction(id, bot.ActionDriftRecord, "drift recorded", map[string]string{"trigger": "tokens drifted"})
	for _, key := range []string{"s1-1", "s1-2", "s1-3", "s1-4", "s2-1", "s2-3"} {
		assert.True(t, h.items(id)[key].Checked, "drift-record ticks %s", key)
	}
	assert.False(t, h.items(id)["s2-2"].Checked, "the pipeline has not run yet")
	notices := jobsOf[bot.NotifyArgs](h.queue, mark)
	require.Len(t, notices, 1, "the channel is told")
	assert.Contains(t, notices[0].Text, "retraining request #1 "+retrainIssueURL+" is open (tokens drifted)")
	assert.Equal(t, []string{bot.ActionKFPRetrain}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))

	mark = h.queue.mark()
	h.finishAction(id, bot.ActionKFPRetrain, "run succeeded", map[string]string{"run_id": "run-0001"})
	for _, key := range []string{"s2-2", "s3-1", "s3-2"} {
		assert.True(t, h.items(id)[key].Checked, "kfp-retrain ticks %s", key)
	}
	assert.Equal(t, []string{bot.ActionModelCompare}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))

	h.tick("olga", "s4-1")
	assert.False(t, h.items(id)["s4-1"].Checked, "the review opens after step 3")

	mark = h.queue.mark()
	h.finishAction(id, bot.ActionModelCompare, "compared", comparison(false))
	assert.True(t, h.items(id)["s3-3"].Checked)
	assert.True(t, h.items(id)["s3-4"].Checked)
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "reference-update waits for the promotion")
	assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "no automatic promotion")
	notices = jobsOf[bot.NotifyArgs](h.queue, mark)
	require.Len(t, notices, 1)
	assert.Contains(t, notices[0].Text, "v7 is ready for review in #1")

	h.tick("olga", "s5-1")
	assert.False(t, h.items(id)["s5-1"].Checked, "people cannot tick the promotion check")
}

func TestPromoteNeedsCandidateAndReview(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.openRetraining()
	reply := h.commandReply("olga", "promote #1")
	assert.Contains(t, reply, "has no candidate yet, because `model-compare` is not started")

	h.finishAction(id, bot.ActionDriftRecord, "drift recorded", map[string]string{})
	h.finishAction(id, bot.ActionKFPRetrain, "run succeeded", map[string]string{})
	h.finishAction(id, bot.ActionModelCompare, "compared", comparison(false))

	reply = h.commandReply("olga", "promote #1")
	assert.Contains(t, reply, "Not promoted: the review in Step 4: Human Review is not complete: 4 of 4 open")

	reply = h.commandReply("bob", "promote #1")
	assert.Contains(t, reply, "only a reviewer or an approver can promote")

	reply = h.commandReply("mallory", "promote R-9")
	assert.Contains(t, reply, "No request R-9")
}

func TestPromoteOpensLinkedPromotion(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)
	h.tick("olga", "s4-1", "s4-2", "s4-3", "s4-4")

	mark := h.queue.mark()
	h.command("olga", "promote #1")
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(t, opened, 1, "the SOP-02 request opens")
	promo := h.request(opened[0].RequestID)
	assert.Equal(t, "SOP-02", promo.SOPID)
	assert.Equal(t, map[string]string{"model": "fraud-detector", "version": "7", "to": "Production"}, promo.Params)
	assert.Equal(t, "olga", promo.RequesterLogin, "the reviewer who decided is the requester")
	assert.Contains(t, promo.Origin.Note, "[#1]("+retrainIssueURL+")", "the promotion links the retraining")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "opened R-2, the SOP-02 promotion request")
	assert.Contains(t, h.lastReply(mark), "Opened R-2 to promote fraud-detector v7 to Production, from #1.")
	assert.Equal(t, "promotion opened", h.lastAudit(id).Action)

	reply := h.commandReply("oscar", "promote #1")
	assert.Contains(t, reply, "R-2 already promotes fraud-detector v7 to Production")

	mark = h.queue.mark()
	h.handle(bot.IssueOpened{RequestID: promo.ID, Number: 2, URL: "https://github.example/acme/ml-requests/issues/2"})
	var onRetraining []string
	for _, c := range jobsOf[bot.CommentArgs](h.queue, mark) {
		if c.Issue == 1 {
			onRetraining = append(onRetraining, c.Body)
		}
	}
	assertHasLine(t, onRetraining, "is open: #2 https://github.example/acme/ml-requests/issues/2")

	reply = h.commandReply("olga", "reject #1 data issues")
	assert.Contains(t, reply, "Not rejected: #2 promotes this candidate")
}

// promoteThroughSOP02 takes the promotion request of issue 2 to done.
func (h *harness) promoteThroughSOP02(promo int64) {
	h.t.Helper()
	h.passCheck(promo)
	h.tickIssue(2, "olga", "pre-3")
	h.tickIssue(2, "bob", "s2-1", "s2-2", "s2-3")
	h.tickIssue(2, "carol", "s2-4")
	h.tickIssue(2, "erin", "s3-1", "s3-2", "s3-3", "s3-4")
	h.command("dana", "approve #2")
	h.command("erin", "approve #2")
	require.Equal(h.t, bot.StateActing, h.request(promo).State)
	h.handle(bot.ActionFinished{RequestID: promo, Succeeded: true, Summary: "promoted", Result: `{"model":"fraud-detector","version":"7"}`})
	// Past the monitoring window of the deployment step.
	h.db.SetClock(func() time.Time { return time.Now().Add(49 * time.Hour) })
	h.tickIssue(2, "bob", h.sectionItems("step-5")...)
	require.Equal(h.t, bot.StateDone, h.request(promo).State)
}

func TestPromotionDoneUpdatesReference(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)
	h.tick("olga", "s4-1", "s4-2", "s4-3", "s4-4")
	h.command("olga", "promote #1")
	promo := int64(2)
	h.handle(bot.IssueOpened{RequestID: promo, Number: 2, URL: "https://github.example/acme/ml-requests/issues/2"})

	mark := h.queue.mark()
	h.promoteThroughSOP02(promo)
	item := h.items(id)["s5-1"]
	assert.True(t, item.Checked, "the promotion check passed")
	assert.Equal(t, bot.BotActor, item.ByLogin)
	assert.Equal(t, []string{bot.ActionReferenceUpdate}, infraActions(jobsOf[bot.InfraArgs](h.queue, mark)))
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "promoted `fraud-detector` v7 to Production through SOP-02")

	h.finishAction(id, bot.ActionReferenceUpdate, "reference set", map[string]string{"value": "s3://data/fraud"})
	assert.True(t, h.items(id)["s5-3"].Checked)
	h.tick("olga", "pre-1", "pre-2", "pre-3")
	assert.Equal(t, bot.StateInProgress, h.request(id).State, "the canary deployment is still open")
	h.tick("olga", "s5-2")
	assert.Equal(t, bot.StateDone, h.request(id).State)
}

func TestPromotionCancelledFailsCheck(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)
	h.tick("olga", "s4-1", "s4-2", "s4-3", "s4-4")
	h.command("olga", "promote #1")
	h.handle(bot.IssueOpened{RequestID: 2, Number: 2, URL: "https://github.example/acme/ml-requests/issues/2"})

	mark := h.queue.mark()
	h.command("olga", "cancel #2")
	assert.Equal(t, bot.StateCancelled, h.request(2).State)
	assert.False(t, h.items(id)["s5-1"].Checked)
	assert.Equal(t, bot.CheckFailed, h.items(id)["s5-1"].CheckState)
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "ended cancelled")
	assert.Empty(t, jobsOf[bot.InfraArgs](h.queue, mark), "no reference update without a promotion")

	mark = h.queue.mark()
	h.command("oscar", "promote #1")
	assert.Len(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), 1, "the reviewers can decide again")
}

func TestPromotionClosedIssueFailsCheck(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)
	h.tick("olga", "s4-1", "s4-2", "s4-3", "s4-4")
	h.command("olga", "promote #1")
	h.handle(bot.IssueOpened{RequestID: 2, Number: 2, URL: "https://github.example/acme/ml-requests/issues/2"})

	h.handle(bot.IssueClosed{DeliveryID: h.deliveryID(), Actor: h.actor("olga"), Issue: 2})
	assert.Equal(t, bot.StateCancelled, h.request(2).State)
	assert.Equal(t, bot.CheckFailed, h.items(id)["s5-1"].CheckState)
}

func TestAutoPromotionOpensWithoutReviewer(t *testing.T) {
	h := newRetrainHarness(t)
	mark := h.queue.mark()
	id := h.compared(true)

	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(t, opened, 2, "the retraining and its promotion open")
	promo := h.request(opened[1].RequestID)
	assert.Equal(t, "SOP-02", promo.SOPID)
	assert.Equal(t, bot.BotActor, promo.RequesterLogin)
	assert.Equal(t, "7", promo.Params["version"])
	assert.Contains(t, promo.Origin.Note, "without a reviewer's decision")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "so sopbot opened R-2 to promote v7 to Production without a reviewer's decision")
	assert.Equal(t, "promotion opened", h.lastAudit(id).Action)
	assert.Equal(t, bot.BotActor, h.lastAudit(id).Actor)
}

func TestAutoPromotionQueuesBehindOpenPromotion(t *testing.T) {
	h := newRetrainHarness(t)
	h.command("alice", "promote model fraud-detector 6")
	mark := h.queue.mark()
	h.compared(true)

	promo := h.request(3)
	assert.Equal(t, "SOP-02", promo.SOPID)
	assert.Equal(t, bot.StateQueued, promo.State, "the promotion of v7 waits for the one of v6")
	assert.Equal(t, int64(1), promo.QueuedBehind)
	assert.Len(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), 2)
}

func TestRejectRetraining(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.compared(false)

	reply := h.commandReply("bob", "reject #1 metrics are worse")
	assert.Contains(t, reply, "only a reviewer or an approver can reject")

	mark := h.queue.mark()
	h.command("dana", "reject #1 metrics are worse")
	req := h.request(id)
	assert.Equal(t, bot.StateRejected, req.State)
	assert.Contains(t, req.Reason, "rejected in the review by @dana: metrics are worse")
	assert.Len(t, jobsOf[bot.CloseIssueArgs](h.queue, mark), 1)
	assert.Contains(t, h.auditActions(id), "dana rejected")

	reply = h.commandReply("olga", "reject #1 again")
	assert.Contains(t, reply, "#1 is already rejected.")
}

func TestRejectWhilePipelineRuns(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.openRetraining()
	h.finishAction(id, bot.ActionDriftRecord, "drift recorded", map[string]string{})
	h.startRun(id, bot.ActionKFPRetrain)

	h.command("olga", "reject #1 data issues found")
	req := h.request(id)
	assert.Equal(t, bot.StateRejected, req.State)
	assert.Contains(t, req.Reason, "sopbot terminates its Kubeflow Pipelines run with `kfp-terminate`",
		"a run that kfp-retrain has not recorded yet is stopped too")
	assert.Equal(t, store.RunQueued, h.runs(id)[bot.ActionKFPTerminate].State)
}

func TestPromoteRejectsPromotionRequest(t *testing.T) {
	h := newRetrainHarness(t)
	h.openIssue()
	reply := h.commandReply("dana", "promote #1")
	assert.Contains(t, reply, "#1 is a SOP-02 request, not a retraining")
	assert.Contains(t, reply, "/mlops promote model <model> <version>")
}

func TestRejectOtherRequestsStaysWithApprovers(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.reviewed()
	reply := h.commandReply("olga", "reject #1 no")
	assert.Contains(t, reply, "only an approver can reject")
	h.command("dana", "reject #1 not ready")
	assert.Equal(t, bot.StateRejected, h.request(id).State)
}

func TestPromoteGrammar(t *testing.T) {
	h := newRetrainHarness(t)
	g := h.engine.Grammar
	for _, line := range []string{"promote R-3", "/mlops promote #3", "promote 3"} {
		cmd, err := g.Parse(line)
		require.NoError(t, err, line)
		assert.Equal(t, bot.VerbPromote, cmd.Verb, line)
	}
	cmd, err := g.Parse("promote model fraud-detector 3")
	require.NoError(t, err)
	assert.Equal(t, bot.VerbOpen, cmd.Verb, "the SOP-02 command keeps its meaning")
	_, err = g.Parse("promote model")
	assert.ErrorContains(t, err, "Missing <model>")
	assert.Contains(t, g.Help(), "`/mlops promote <request>`")
}

func TestDriftCheckStoresScores(t *testing.T) {
	h := newRetrainHarness(t)
	scores := []store.DriftScore{{Model: "fraud-detector", Feature: "tokens", PSI: num(0.5), Drifted: true}}
	h.handle(bot.DriftChecked{Model: "fraud-detector", SOP: "SOP-03", Drifted: true, Summary: "1 of 1 column(s) drifted: tokens",
		Report: "### Drift check", Scores: scores})
	stored := h.driftScores(1)
	require.Len(t, stored, 1)
	assert.Equal(t, "tokens", stored[0].Feature)
	assert.Equal(t, int64(1), stored[0].RequestID)
}

func TestCheckImprovements(t *testing.T) {
	production := map[string]float64{"accuracy": 0.9, "latency_ms": 50}
	margins := map[string]config.Improvement{"accuracy": {}, "latency_ms": {Margin: 5, LowerIsBetter: true}}

	results, met, table := bot.CheckImprovements(map[string]float64{"accuracy": 0.91, "latency_ms": 44}, production, margins)
	assert.True(t, met)
	require.Len(t, results, 2)
	assert.InDelta(t, 0.01, *results[0].Gain, 1e-9)
	assert.InDelta(t, 6, *results[1].Gain, 1e-9, "a fall is a gain when lower is better")
	assert.Contains(t, table, "| `latency_ms` | 44 | 50 | 6 | ≥ 5 better (lower is better) | ✅ yes |")

	_, met, _ = bot.CheckImprovements(map[string]float64{"accuracy": 0.9, "latency_ms": 44}, production, margins)
	assert.False(t, met, "a zero margin still asks for a gain")

	results, met, _ = bot.CheckImprovements(map[string]float64{"latency_ms": 44}, production, margins)
	assert.False(t, met, "a metric the candidate did not log is not met")
	assert.Nil(t, results[0].Gain)

	_, met, _ = bot.CheckImprovements(map[string]float64{"accuracy": 0.99}, nil, map[string]config.Improvement{"accuracy": {}})
	assert.False(t, met, "without production nothing improved")

	results, met, _ = bot.CheckImprovements(map[string]float64{"accuracy": 0.99}, production, nil)
	assert.False(t, met, "no margins never allow an automatic promotion")
	assert.Empty(t, results)
}

func TestCompareMetricsReusesThresholds(t *testing.T) {
	thresholds := map[string]config.Threshold{"accuracy": {Min: num(0.9), MaxRegression: num(0.01)}}
	rows, hold, table := bot.CompareMetrics(map[string]float64{"accuracy": 0.88}, map[string]float64{"accuracy": 0.92}, thresholds, "v7", "v5")
	assert.False(t, hold)
	require.Len(t, rows, 1)
	assert.Len(t, rows[0].Failures, 2, "below the minimum and regressed too far")
	assert.Contains(t, table, "| metric | candidate v7 | production v5 |")
}

func TestCancelRetrainingByReviewer(t *testing.T) {
	h := newRetrainHarness(t)
	id := h.openRetraining()
	reply := h.commandReply("bob", "cancel #1")
	assert.Contains(t, reply, "Only the requester (@sopbot) or an approver (ML engineer on-call, ML lead) can cancel #1.")
	h.command("oscar", "cancel #1")
	assert.Equal(t, bot.StateCancelled, h.request(id).State, "a reviewer cancels a request the bot opened")
}
