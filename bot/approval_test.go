package bot_test

import (
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

const (
	headSHA  = "1111111111111111111111111111111111111111"
	otherSHA = "2222222222222222222222222222222222222222"
)

func TestEngineApproveCommand(t *testing.T) {
	t.Parallel()

	t.Run("before reviews refused", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.passCheck(id)
		h.tick("alice", "pre-3")

		reply := h.commandReply("dana", "approve #1")
		assert.Contains(t, reply, "Not signed: the approval opens once the preconditions and reviews are complete; still open: ", "reply")
		assert.Contains(t, reply, "Step 2: Technical Review (4 of 5 open", "reply names the technical review")
		assert.Contains(t, reply, "Step 3: Compliance Review (4 of 4 open", "reply names the compliance review")
		assert.NotContains(t, reply, "Preconditions", "reply names the finished preconditions")
		assert.NotContains(t, reply, "Step 5", "reply names the deployment step, which opens after the approval")
		assert.Empty(t, h.signoffs(id), "sign-offs")
	})

	t.Run("ML lead signs", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		mark := h.queue.mark()
		reply := h.commandReply("dana", "approve #1")

		assert.Equal(t, "Signed #1 as ML lead.", reply, "reply")
		signoffs := h.signoffs(id)
		require.Len(t, signoffs, 1, "sign-offs")
		assert.Equal(t, "dana", signoffs[0].Login, "login")
		assert.Equal(t, "ML lead", signoffs[0].Member, "member")
		assert.Equal(t, bot.ViaCommand, signoffs[0].Via, "via")
		item := h.items(id)["approve-ml-lead"]
		assert.True(t, item.Checked, "approve-ml-lead ticked")
		assert.Equal(t, "dana", item.ByLogin, "ticked by")
		assert.Equal(t, []bot.SyncItemsArgs{{RequestID: id, Keys: []string{"approve-ml-lead"}}}, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
		comments := jobsOf[bot.CommentArgs](h.queue, mark)
		if assert.Len(t, comments, 1, "comments") {
			assert.Equal(t, "@dana signed the approval as ML lead with `/mlops approve`.", comments[0].Body, "comment")
		}
		assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state")
	})

	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.command("dana", "approve #1")
		cases := []struct {
			login string
			want  string
		}{
			{"dana", "Not signed: you already signed as ML lead."},
			{"alice", "Not signed: you opened this request, and a requester never signs off their own request."},
			{"bob", "Not signed: you are not an approver of this request. It may be ticked by: ML lead (@dana), compliance officer (@erin)."},
		}
		for _, tc := range cases {
			mark := h.queue.mark()
			reply := h.commandReply(tc.login, "approve #1")
			assert.Equal(t, tc.want, reply, "reply to %s", tc.login)
			assert.Empty(t, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs after %s", tc.login)
		}
		assert.Len(t, h.signoffs(id), 1, "sign-offs")
		assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state")
	})

	t.Run("second approver opens gate", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.command("dana", "approve #1")
		mark := h.queue.mark()
		h.command("erin", "approve #1")

		assert.Equal(t, bot.StateActing, h.request(id).State, "state")
		assert.Equal(t, []bot.ActionArgs{{RequestID: id, Action: bot.ActionMLflowPromote}}, jobsOf[bot.ActionArgs](h.queue, mark), "actions")
		comments := jobsOf[bot.CommentArgs](h.queue, mark)
		want := "Every gate is complete (approved by @dana (ML lead, by command), @erin (compliance officer, by command)). Running `mlflow-promote`."
		assertHasComment(t, comments, want)

		reply := h.commandReply("dana", "approve #1")
		assert.Equal(t, "Not signed: #1 is acting, so it takes no more sign-offs.", reply, "reply once acting")
	})

	t.Run("unknown request", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		reply := h.commandReply("dana", "approve #7")
		assert.Equal(t, "No request #7. Use the number of an issue that sopbot opened.", reply)
	})
}

func TestEngineApprovalCheckbox(t *testing.T) {
	t.Parallel()

	t.Run("approver ticks own box", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		mark := h.queue.mark()
		h.tick("dana", "approve-ml-lead")

		signoffs := h.signoffs(id)
		require.Len(t, signoffs, 1, "sign-offs")
		assert.Equal(t, bot.ViaCheckbox, signoffs[0].Via, "via")
		assert.Equal(t, "approve-ml-lead", signoffs[0].Ref, "ref")
		assert.Empty(t, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs for a tick already in the body")
	})

	t.Run("approver ticks other box", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		mark := h.queue.mark()
		h.tick("erin", "approve-ml-lead")

		h.assertReverted(id, mark, "approve-ml-lead", false, "that box is for ML lead; you sign as compliance officer.")
		assert.Empty(t, h.signoffs(id), "sign-offs")
	})

	t.Run("signer withdraws", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.tick("dana", "approve-ml-lead")
		h.untick("dana", "approve-ml-lead")

		assert.Empty(t, h.signoffs(id), "sign-offs")
		assert.False(t, h.items(id)["approve-ml-lead"].Checked, "approve-ml-lead ticked")
	})

	t.Run("other person cannot withdraw", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.tick("dana", "approve-ml-lead")
		mark := h.queue.mark()
		h.untick("erin", "approve-ml-lead")

		h.assertReverted(id, mark, "approve-ml-lead", true, "only @dana, who signed it, can withdraw that sign-off.")
		assert.Len(t, h.signoffs(id), 1, "sign-offs")
	})
}

// linkPR opens pull request pr, whose body references issue number 1, at
// head.
func (h *harness) linkPR(pr int, head string) {
	h.t.Helper()
	h.handle(bot.PullRequestChanged{DeliveryID: h.deliveryID(), Actor: h.actor("alice"), PR: pr,
		Body: "SOP request: #1", HeadSHA: head, Action: "opened"})
}

// review submits a review of pr by login.
func (h *harness) review(login string, pr int, reviewID int64, state, commit, body string) {
	h.t.Helper()
	h.handle(bot.ReviewSubmitted{DeliveryID: h.deliveryID(), Actor: h.actor(login), PR: pr,
		PRBody: "SOP request: #1", PRAuthor: "alice", HeadSHA: headSHA, ReviewID: reviewID,
		State: state, Body: body, CommitID: commit})
}

func (h *harness) push(pr int, head string) {
	h.t.Helper()
	h.handle(bot.PullRequestChanged{DeliveryID: h.deliveryID(), Actor: h.actor("alice"), PR: pr,
		Body: "SOP request: #1", HeadSHA: head, Action: "synchronize"})
}

func TestEnginePullRequestReviews(t *testing.T) {
	t.Parallel()

	t.Run("opened pull request linked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		mark := h.queue.mark()
		h.linkPR(2, headSHA)

		assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "a link is audited and shown by the status, not commented")
		assert.Len(t, jobsOf[bot.StatusArgs](h.queue, mark), 1, "the pull request gets the sign-off status")
		assert.Equal(t, "sopbot pull request linked", h.lastAudit(id).Actor+" "+h.lastAudit(id).Action, "audit")
		linked, head := h.prLink(2)
		assert.Equal(t, id, linked, "linked request")
		assert.Equal(t, headSHA, head, "recorded head")
	})

	t.Run("approving review signs", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		mark := h.queue.mark()
		h.review("dana", 2, 1001, bot.ReviewApproved, headSHA, "")

		signoffs := h.signoffs(id)
		require.Len(t, signoffs, 1, "sign-offs")
		want := store.Signoff{Member: "ML lead", Login: "dana", Via: bot.ViaReview, Ref: "1001", PRNumber: 2, CommitSHA: headSHA}
		assert.Equal(t, want, signoffOf(signoffs[0]), "sign-off")
		assert.True(t, h.items(id)["approve-ml-lead"].Checked, "approve-ml-lead ticked")
		assert.Equal(t, []bot.SyncItemsArgs{{RequestID: id, Keys: []string{"approve-ml-lead"}}}, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
	})

	t.Run("review of old commit ignored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		mark := h.queue.mark()
		h.review("erin", 2, 1002, bot.ReviewApproved, otherSHA, "")

		assert.Empty(t, h.signoffs(id), "sign-offs")
		assert.False(t, h.items(id)["approve-compliance-officer"].Checked, "approve-compliance-officer ticked")
		assert.Equal(t, "erin review ignored", h.lastAudit(id).Actor+" "+h.lastAudit(id).Action, "audit")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "it approves commit 2222222, but the pull request's head is 1111111.")
	})

	t.Run("commented review changes nothing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		auditRows := len(h.audit(id))
		mark := h.queue.mark()
		h.review("dana", 2, 1003, bot.ReviewCommented, headSHA, "looks fine")

		assert.Empty(t, h.signoffs(id), "sign-offs")
		assert.Len(t, h.audit(id), auditRows, "audit rows")
		assert.Empty(t, h.queue.kindsSince(mark), "jobs")
	})

	t.Run("dismissed review revokes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		h.review("dana", 2, 1001, bot.ReviewApproved, headSHA, "")
		h.review("erin", 2, 1009, bot.ReviewDismissed, headSHA, "")
		require.Len(t, h.signoffs(id), 1, "a dismissal of another review revokes nothing")

		mark := h.queue.mark()
		h.review("dana", 2, 1001, bot.ReviewDismissed, headSHA, "")

		assert.Empty(t, h.signoffs(id), "sign-offs")
		assert.False(t, h.items(id)["approve-ml-lead"].Checked, "approve-ml-lead ticked")
		assert.Equal(t, []bot.SyncItemsArgs{{RequestID: id, Keys: []string{"approve-ml-lead"}}}, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "was dismissed, so that sign-off no longer counts.")
	})

	t.Run("dismissal by another person names reviewer", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		h.review("dana", 2, 1001, bot.ReviewApproved, headSHA, "")
		mark := h.queue.mark()
		// GitHub sends a dismissal with the dismisser as the sender.
		h.review("erin", 2, 1001, bot.ReviewDismissed, headSHA, "")

		assert.Empty(t, h.signoffs(id), "sign-offs")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "The approving review by @dana on #2 was dismissed")
	})

	t.Run("push revokes that pull request only", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		h.linkPR(3, headSHA)
		h.review("dana", 2, 1001, bot.ReviewApproved, headSHA, "")

		h.push(3, otherSHA)
		assert.Len(t, h.signoffs(id), 1, "sign-offs after a push to #3")

		mark := h.queue.mark()
		h.push(2, otherSHA)
		assert.Empty(t, h.signoffs(id), "sign-offs after a push to #2")
		assert.False(t, h.items(id)["approve-ml-lead"].Checked, "approve-ml-lead ticked")
		_, head := h.prLink(2)
		assert.Equal(t, otherSHA, head, "recorded head")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "1 approval(s) from pull request #2 no longer count")
	})

	t.Run("push keeps command sign-off", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		h.command("dana", "approve #1")
		h.review("erin", 2, 1002, bot.ReviewApproved, headSHA, "")
		require.Equal(t, bot.StateActing, h.request(id).State, "state after both sign-offs")

		mark := h.queue.mark()
		h.push(2, otherSHA)

		signoffs := h.signoffs(id)
		require.Len(t, signoffs, 1, "sign-offs")
		assert.Equal(t, "dana", signoffs[0].Login, "remaining signer")
		assert.Equal(t, bot.ViaCommand, signoffs[0].Via, "remaining via")
		assert.True(t, h.items(id)["approve-ml-lead"].Checked, "approve-ml-lead ticked")
		assert.False(t, h.items(id)["approve-compliance-officer"].Checked, "approve-compliance-officer ticked")
		assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "The approved action had already started and is not undone.")
	})

	t.Run("changes requested by approver rejects", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		mark := h.queue.mark()
		h.review("erin", 2, 1004, bot.ReviewChangesRequested, headSHA, "metrics regressed on segment B")

		req := h.request(id)
		assert.Equal(t, bot.StateRejected, req.State, "state")
		assert.Contains(t, req.Reason, "rejected by @erin: metrics regressed on segment B.", "reason")
		assert.Equal(t, []bot.CloseIssueArgs{{RequestID: id}}, jobsOf[bot.CloseIssueArgs](h.queue, mark), "closes")
		var rejected *store.AuditEntry
		for _, e := range h.audit(id) {
			if e.Action == "rejected" {
				rejected = &e
			}
		}
		if assert.NotNil(t, rejected, "audit has a rejected row") {
			assert.Equal(t, `{"reason":"metrics regressed on segment B","via":"review 1004 on #2"}`, rejected.Detail, "rejected detail")
		}
	})

	t.Run("changes requested by non-approver ignored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		h.linkPR(2, headSHA)
		mark := h.queue.mark()
		h.review("bob", 2, 1005, bot.ReviewChangesRequested, headSHA, "please rename")

		assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state")
		assert.Equal(t, "bob review ignored", h.lastAudit(id).Actor+" "+h.lastAudit(id).Action, "audit")
		assert.Empty(t, h.queue.kindsSince(mark), "jobs")
	})

	t.Run("unlinked pull request ignored", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.reviewed()
		auditRows := len(h.audit(id))
		mark := h.queue.mark()
		h.handle(bot.PullRequestChanged{DeliveryID: "pr", Actor: h.actor("alice"), PR: 5,
			Body: "Refactor, see #99 and `#1`\n> #1", HeadSHA: headSHA, Action: "opened"})

		assert.Len(t, h.audit(id), auditRows, "audit rows")
		assert.Empty(t, h.queue.kindsSince(mark), "jobs")
	})
}

func (h *harness) prLink(pr int) (int64, string) {
	h.t.Helper()
	var id int64
	var head string
	err := h.db.InTx(h.ctx, func(tx *sql.Tx) error {
		var err error
		id, head, err = h.db.PullRequestLink(h.ctx, tx, pr)
		return err
	})
	require.NoError(h.t, err)
	return id, head
}

// signoffOf keeps the fields of a sign-off that a test can predict.
func signoffOf(so store.Signoff) store.Signoff {
	return store.Signoff{Member: so.Member, Login: so.Login, Via: so.Via, Ref: so.Ref, PRNumber: so.PRNumber, CommitSHA: so.CommitSHA}
}

// assertHasComment fails unless one of comments contains want.
func assertHasComment(t *testing.T, comments []bot.CommentArgs, want string) {
	t.Helper()
	var bodies []string
	for _, c := range comments {
		bodies = append(bodies, c.Body)
	}
	assertHasLine(t, bodies, want)
}

func TestReviewOfStaleCommitBeforePushEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	h.linkPR(2, headSHA)
	h.command("dana", "approve #1")

	// erin approves the page she loaded at headSHA after otherSHA was
	// pushed; GitHub delivers the review before the synchronize event.
	h.handle(bot.ReviewSubmitted{DeliveryID: h.deliveryID(), Actor: h.actor("erin"), PR: 2,
		PRBody: "SOP request: #1", PRAuthor: "alice", HeadSHA: otherSHA, ReviewID: 2001,
		State: bot.ReviewApproved, CommitID: headSHA})

	for _, so := range h.signoffs(id) {
		assert.NotEqual(t, "erin", so.Login, "a review of a commit that is not the event's head signs nothing")
	}
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state after a stale review")
}

func TestReviewOfPullRequestMentioningInCode(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"inline code":         "Refactor the parser; the old bug was `see #1`",
		"indented code block": "Refactor the parser.\n\n    log: closes #1\n",
		"another host's URL":  "See https://evil.example/acme/ml-requests/issues/1",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.reviewed()
			h.handle(bot.PullRequestChanged{DeliveryID: h.deliveryID(), Actor: h.actor("alice"), PR: 7,
				Body: body, HeadSHA: headSHA, Action: "opened"})
			h.handle(bot.ReviewSubmitted{DeliveryID: h.deliveryID(), Actor: h.actor("dana"), PR: 7,
				PRBody: body, PRAuthor: "alice", HeadSHA: headSHA, ReviewID: 3001,
				State: bot.ReviewApproved, CommitID: headSHA})
			assert.Empty(t, h.signoffs(id), "sign-offs from pull request #7")
		})
	}
}
