package bot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
)

func TestEngineRejectCommand(t *testing.T) {
	t.Parallel()

	t.Run("approver rejects", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		mark := h.queue.mark()
		reply := h.commandReply("erin", `reject #1 "metrics regressed on segment B"`)

		assert.Equal(t, "Rejected #1: metrics regressed on segment B", reply, "reply")
		req := h.request(id)
		assert.Equal(t, bot.StateRejected, req.State, "state")
		assert.Contains(t, req.Reason, "rejected by @erin: metrics regressed on segment B", "reason")
		assert.Equal(t, []bot.CloseIssueArgs{{RequestID: id}}, jobsOf[bot.CloseIssueArgs](h.queue, mark), "closes")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "This request is **rejected**: rejected by @erin")
		assertHasLine(t, h.auditActions(id), "erin rejected")
	})

	t.Run("approver rejects during review", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.command("dana", "reject #1 missing model card")
		assert.Equal(t, bot.StateRejected, h.request(id).State, "state")
	})

	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			login string
			want  string
		}{
			{"alice", "Not rejected: you opened this request; use `/mlops cancel` to withdraw it."},
			{"bob", "Not rejected: only an approver can reject. It may be ticked by: ML lead (@dana), compliance officer (@erin)."},
		}
		for _, tc := range cases {
			t.Run(tc.login, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t)
				id := h.reviewed()
				mark := h.queue.mark()
				reply := h.commandReply(tc.login, `reject #1 "not ready"`)

				assert.Equal(t, tc.want, reply, "reply")
				assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state")
				assert.Empty(t, jobsOf[bot.CloseIssueArgs](h.queue, mark), "closes")
			})
		}
	})

	t.Run("after action refused", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.approved()
		reply := h.commandReply("erin", "reject #1 too late")
		assert.Equal(t, "Not rejected: #1 is already approved and its action has run or is running.", reply, "reply")
		assert.Equal(t, bot.StateDeploying, h.request(id).State, "state")
	})
}

func TestEngineCancelCommand(t *testing.T) {
	t.Parallel()

	t.Run("requester cancels", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.command("alice", "cancel #1")

		req := h.request(id)
		assert.Equal(t, bot.StateCancelled, req.State, "state")
		assert.Equal(t, "cancelled by @alice", req.Reason, "reason")
		assert.Equal(t, []bot.CloseIssueArgs{{RequestID: id}}, jobsOf[bot.CloseIssueArgs](h.queue, mark), "closes")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "This request is **cancelled**: cancelled by @alice.")

		reply := h.commandReply("alice", "cancel #1")
		assert.Equal(t, "#1 is already cancelled.", reply, "second cancel")
	})

	t.Run("approver cancels", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.command("dana", "cancel #1")
		assert.Equal(t, bot.StateCancelled, h.request(id).State, "state")
	})

	t.Run("other person refused", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		reply := h.commandReply("bob", "cancel #1")

		assert.Equal(t, "Only the requester (@alice) or an approver (ML lead, compliance officer) can cancel #1.", reply, "reply")
		assert.Equal(t, bot.StateAwaitingReview, h.request(id).State, "state")
		assert.Empty(t, jobsOf[bot.CloseIssueArgs](h.queue, mark), "closes")
	})

	t.Run("refused while acting", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.command("dana", "approve #1")
		h.command("erin", "approve #1")
		reply := h.commandReply("alice", "cancel #1")
		assert.Equal(t, "#1 cannot be cancelled while its action runs; wait for the result.", reply, "reply")
		assert.Equal(t, bot.StateActing, h.request(id).State, "state")
	})

	t.Run("target opens again", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		first := h.openIssue()
		h.command("alice", "cancel #1")
		second := h.open()

		assert.NotEqual(t, first, second, "request ids")
		assert.Equal(t, bot.StateOpening, h.request(second).State, "state of the new request")
		assert.Equal(t, bot.StateCancelled, h.request(first).State, "state of the first request")
	})
}

func TestEngineActionFinished(t *testing.T) {
	t.Parallel()

	t.Run("success moves to deploying", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.command("dana", "approve #1")
		h.command("erin", "approve #1")
		mark := h.queue.mark()
		h.handle(bot.ActionFinished{RequestID: id, Succeeded: true,
			Summary: "**fraud-detector v3** moved from **Staging** to **Production** in MLflow.\n\n| tag | value |",
			Result:  `{"model":"fraud-detector"}`})

		req := h.request(id)
		assert.Equal(t, bot.StateDeploying, req.State, "state")
		assert.Equal(t, `{"model":"fraud-detector"}`, req.Result, "result")
		notes := jobsOf[bot.NotifyArgs](h.queue, mark)
		want := bot.NotifyArgs{Channel: testChannel,
			Text: "<@U0ALICE>: [SOP-02] Promote fraud-detector v3 to Production — *fraud-detector v3* moved from *Staging* to *Production* in MLflow. " + issueURL}
		assert.Equal(t, []bot.NotifyArgs{want}, notes, "notifications")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "✅ **fraud-detector v3** moved")

		mark = h.queue.mark()
		h.handle(bot.ActionFinished{RequestID: id, Succeeded: true, Summary: "again"})
		assert.Empty(t, h.queue.kindsSince(mark), "jobs for a repeated result")
	})

	t.Run("deployment ticks finish request", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.approved()
		h.pastWindows()
		steps := h.sectionItems("step-5")
		h.tick("alice", steps[:len(steps)-1]...)
		require.Equal(t, bot.StateDeploying, h.request(id).State, "state before the last tick")

		mark := h.queue.mark()
		h.tick("bob", steps[len(steps)-1])

		req := h.request(id)
		assert.Equal(t, bot.StateDone, req.State, "state")
		assert.Equal(t, []bot.CloseIssueArgs{{RequestID: id}}, jobsOf[bot.CloseIssueArgs](h.queue, mark), "closes")
		assert.Equal(t, "sopbot request done", h.lastAudit(id).Actor+" "+h.lastAudit(id).Action, "audit")
		assert.Equal(t, "ML platform engineer", h.items(id)[steps[len(steps)-1]].ByMember, "last tick counted for")
	})

	t.Run("deployment tick before approval reverted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		mark := h.queue.mark()
		h.tick("alice", "s5-1")

		h.assertReverted(id, mark, "s5-1", false, "Step 5: Deployment opens after the approval is complete.")
	})

	t.Run("failure moves to failed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.command("dana", "approve #1")
		h.command("erin", "approve #1")
		mark := h.queue.mark()
		h.handle(bot.ActionFinished{RequestID: id, Error: "mlflow: HTTP 404 RESOURCE_DOES_NOT_EXIST: version 3 not found"})

		req := h.request(id)
		assert.Equal(t, bot.StateFailed, req.State, "state")
		assert.Equal(t, "mlflow: HTTP 404 RESOURCE_DOES_NOT_EXIST: version 3 not found", req.Reason, "reason")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "❌ `mlflow-promote` failed: mlflow: HTTP 404 RESOURCE_DOES_NOT_EXIST: version 3 not found")
		notes := jobsOf[bot.NotifyArgs](h.queue, mark)
		if assert.Len(t, notes, 1, "notifications") {
			assert.Contains(t, notes[0].Text, "mlflow-promote failed for #1", "notification")
		}
		assertHasLine(t, h.auditActions(id), "sopbot action failed")
	})
}

func TestEngineIssueClosedWhileActing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	h.command("dana", "approve #1")
	h.command("erin", "approve #1")
	require.Equal(t, bot.StateActing, h.request(id).State, "state before the close")

	// The promotion job already runs when a person closes the issue, so its
	// result must still reach the request and the audit trail.
	h.handle(bot.IssueClosed{DeliveryID: "close", Actor: h.actor("bob"), Issue: 1})
	h.handle(bot.ActionFinished{RequestID: id, Succeeded: true, Summary: "**fraud-detector v3** moved to **Production**.", Result: `{"model":"fraud-detector"}`})

	req := h.request(id)
	assert.NotEqual(t, bot.StateCancelled, req.State, "state after the close and the result")
	assert.Equal(t, `{"model":"fraud-detector"}`, req.Result, "recorded result")
	assertHasLine(t, h.auditActions(id), "sopbot action succeeded")
}
