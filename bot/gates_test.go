package bot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
)

func (h *harness) click(actor bot.Actor, action string) {
	h.t.Helper()
	h.handle(bot.ButtonPressed{DeliveryID: h.deliveryID(), Actor: actor, Ref: bot.RequestRef{Issue: 1}, Action: action,
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
