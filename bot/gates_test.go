package bot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
)

// click handles a click on the gate message of issue 1, drawn for the
// request's current revision.
func (h *harness) click(actor bot.Actor, action string) {
	h.t.Helper()
	h.clickRevision(actor, action, h.request(h.requestIDOfIssue(1)).Revision)
}

// clickRevision handles a click on a gate message of issue 1 drawn for
// revision.
func (h *harness) clickRevision(actor bot.Actor, action, revision string) {
	h.t.Helper()
	h.handle(bot.ButtonPressed{DeliveryID: h.deliveryID(), Actor: actor, Ref: bot.RequestRef{Issue: 1}, Action: action, Revision: revision,
		ResponseURL: "https://hooks.slack.com/actions/T0/1/x", TriggerID: "trigger-1", Channel: testChannel})
}

func slackActor(h *harness, login, slackID string) bot.Actor {
	a := h.actor(login)
	a.Slack = slackID
	return a
}

func TestGateOpensWithSlackMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	mark := h.queue.mark()
	id := h.reviewed()
	assert.Contains(t, jobsOf[bot.GateMessageArgs](h.queue, mark), bot.GateMessageArgs{RequestID: id}, "the gate message is posted")
}

func TestApproveButtonSigns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	mark := h.queue.mark()
	h.click(slackActor(h, "dana", "U0DANA"), bot.ButtonApprove)

	signoffs := h.signoffs(id)
	require.Len(t, signoffs, 1, "sign-offs")
	assert.Equal(t, bot.ViaButton, signoffs[0].Via, "via")
	assert.Equal(t, "ML lead", signoffs[0].Member, "member")
	assert.Equal(t, "Signed #1 as ML lead.", lastReplyText(h, mark))
	assert.True(t, jobsOf[bot.ReplyArgs](h.queue, mark)[0].Ephemeral, "the reply is ephemeral")
}

func TestButtonRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		actor  func(h *harness) bot.Actor
		action string
		want   string
	}{
		{"unpaired Slack user", func(*harness) bot.Actor { return bot.Actor{Slack: "U0NOBODY", Members: map[string]bool{}} }, bot.ButtonApprove,
			"Your Slack account is not paired with a GitHub login"},
		{"reviewer is no approver", func(h *harness) bot.Actor { return slackActor(h, "bob", "U0BOB") }, bot.ButtonApprove,
			"Not signed: you are not an approver of this request."},
		{"requester approves own request", func(h *harness) bot.Actor { return slackActor(h, "alice", "U0ALICE") }, bot.ButtonApprove,
			"Not signed: you opened this request"},
		{"reviewer rejects", func(h *harness) bot.Actor { return slackActor(h, "bob", "U0BOB") }, bot.ButtonReject,
			"Not rejected: only an approver can reject."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.reviewed()
			mark := h.queue.mark()
			h.click(tc.actor(h), tc.action)
			assert.Empty(t, h.signoffs(id), "nothing is signed")
			assert.Empty(t, jobsOf[bot.RejectModalArgs](h.queue, mark), "no modal opens")
			assert.Contains(t, lastReplyText(h, mark), tc.want)
			assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state")
		})
	}
}

func TestLateClickSaysWhoApproved(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.reviewed()
	h.click(slackActor(h, "dana", "U0DANA"), bot.ButtonApprove)
	h.click(slackActor(h, "erin", "U0ERIN"), bot.ButtonApprove)

	mark := h.queue.mark()
	h.click(slackActor(h, "dana", "U0DANA"), bot.ButtonApprove)
	reply := lastReplyText(h, mark)
	assert.Contains(t, reply, "#1 is already approved by @dana as ML lead at ")
	assert.Contains(t, reply, "and @erin as compliance officer at ")
}

func TestRejectButtonOpensModalThenRejects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	mark := h.queue.mark()
	h.click(slackActor(h, "erin", "U0ERIN"), bot.ButtonReject)
	modals := jobsOf[bot.RejectModalArgs](h.queue, mark)
	require.Len(t, modals, 1, "the reason modal opens")
	assert.Equal(t, "trigger-1", modals[0].TriggerID)
	assert.Equal(t, "#1", modals[0].Ref)

	h.handle(bot.RejectReasonSubmitted{DeliveryID: h.deliveryID(), Actor: slackActor(h, "erin", "U0ERIN"), Ref: bot.RequestRef{Issue: 1}, Reason: "bias analysis missing for segment B"})
	req := h.request(id)
	assert.Equal(t, bot.StateRejected, req.State)
	assert.Contains(t, req.Reason, "bias analysis missing for segment B")
}

func TestRejectReasonFromNonApproverIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	h.handle(bot.RejectReasonSubmitted{DeliveryID: h.deliveryID(), Actor: slackActor(h, "bob", "U0BOB"), Ref: bot.RequestRef{Issue: 1}, Reason: "no"})
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "a forged modal submission rejects nothing")
}

func TestParameterChangeRedrawsGateMessage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("mlflow-server")

	mark := h.queue.mark()
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")
	require.Equal(t, "payments-api", h.request(id).Params["deployment"])
	assert.Contains(t, jobsOf[bot.GateMessageArgs](h.queue, mark), bot.GateMessageArgs{RequestID: id}, "the gate message is redrawn")
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State)
}

func TestStaleApproveButtonRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("mlflow-server")
	drawn := h.request(id).Revision
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")

	mark := h.queue.mark()
	h.clickRevision(slackActor(h, "gina", "U0GINA"), bot.ButtonApprove, drawn)
	assert.Empty(t, h.signoffs(id), "nothing is signed")
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State)
	assert.Equal(t, "Not signed: the request changed since this message: deployment mlflow-server → payments-api by @hank; "+
		"review the new parameters in #1 ("+issueURL+").", lastReplyText(h, mark))
	assert.Contains(t, jobsOf[bot.GateMessageArgs](h.queue, mark), bot.GateMessageArgs{RequestID: id}, "the clicked message is redrawn")

	h.click(slackActor(h, "gina", "U0GINA"), bot.ButtonApprove)
	signoffs := h.signoffs(id)
	require.Len(t, signoffs, 1, "a click on the redrawn message signs")
	assert.Equal(t, h.request(id).Revision, signoffs[0].Revision)
	assert.Equal(t, "payments-api", h.request(id).Params["deployment"])
}

func TestStaleButtonListsEveryLaterChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("mlflow-server")
	drawn := h.request(id).Revision
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment billing-api")

	mark := h.queue.mark()
	h.clickRevision(slackActor(h, "gina", "U0GINA"), bot.ButtonApprove, drawn)
	assert.Contains(t, lastReplyText(h, mark),
		"the request changed since this message: deployment mlflow-server → payments-api by @hank; deployment payments-api → billing-api by @hank;")
	assert.Empty(t, h.signoffs(id))
}

func TestButtonWithoutRevisionRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	mark := h.queue.mark()
	h.clickRevision(slackActor(h, "dana", "U0DANA"), bot.ButtonApprove, "")
	assert.Empty(t, h.signoffs(id), "nothing is signed")
	assert.Contains(t, lastReplyText(h, mark), "Not signed: this message carries no revision of #1")
	assert.Contains(t, jobsOf[bot.GateMessageArgs](h.queue, mark), bot.GateMessageArgs{RequestID: id}, "the message is redrawn with a revision")
}

func TestStaleRejectButtonStillOpensModal(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.reviewed()
	mark := h.queue.mark()
	h.clickRevision(slackActor(h, "erin", "U0ERIN"), bot.ButtonReject, "")
	assert.Len(t, jobsOf[bot.RejectModalArgs](h.queue, mark), 1, "a rejection never signs, so any revision may reject")
}

func TestApproveCommandRevision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("mlflow-server")
	reviewed := h.request(id).Revision[:12]
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")

	reply := h.commandReply("gina", "approve #1 "+reviewed)
	assert.Equal(t, "Not signed: the request changed since revision "+reviewed+": deployment mlflow-server → payments-api by @hank; "+
		"review the new parameters in #1 ("+issueURL+").", reply)
	assert.Empty(t, h.signoffs(id))

	reply = h.commandReply("gina", "approve #1 "+h.request(id).Revision[:12])
	assert.Equal(t, "Signed #1 as Security lead.", reply)
	assert.Len(t, h.signoffs(id), 1)
}

func TestStaleApprovalTickSetBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("mlflow-server")
	stale := h.body(id)
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")

	// gina ticks her approval line in the body from before the change.
	mark := h.queue.mark()
	h.editBody("gina", h.body(id), h.edit(stale, true, "approve-security-lead"))
	assert.Empty(t, h.signoffs(id), "nothing is signed")
	assert.False(t, h.items(id)["approve-security-lead"].Checked, "the box is set back")
	comments := jobsOf[bot.CommentArgs](h.queue, mark)
	require.NotEmpty(t, comments)
	assert.Contains(t, comments[len(comments)-1].Body,
		"the Parameters table you ticked it in differs from the request's (deployment `mlflow-server` where the request has `payments-api`)")
}

func TestApprovalTickOnCurrentBodySigns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedSecret("mlops", "mlflow-secrets", "")
	id := h.openRotationIssue("mlflow-server")
	h.command("hank", "rotate secret mlflow-secrets -n mlops --deployment payments-api")
	h.tick("gina", "approve-security-lead")
	assert.Len(t, h.signoffs(id), 1)
}
