package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
)

func TestEngineOpenRequest(t *testing.T) {
	t.Parallel()

	t.Run("stores request with unticked items", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.open()

		req := h.request(id)
		assert.Equal(t, bot.StateOpening, req.State, "state")
		assert.Equal(t, "SOP-02", req.SOPID, "SOP")
		assert.Equal(t, "model:fraud-detector:Production", req.Target, "target")
		assert.Equal(t, "alice", req.RequesterLogin, "requester login")
		assert.Equal(t, "U0ALICE", req.RequesterSlack, "requester Slack id")
		assert.Equal(t, map[string]string{"model": "fraud-detector", "version": "3", "to": "Production"}, req.Params, "params")

		items := h.items(id)
		var want []string
		for _, sec := range h.sop.Sections() {
			for _, item := range sec.Items {
				want = append(want, item.Key)
			}
		}
		assert.Len(t, items, len(want), "stored items")
		for _, key := range want {
			item, ok := items[key]
			if assert.True(t, ok, "item %s stored", key) {
				assert.False(t, item.Checked, "item %s ticked", key)
			}
		}
		assert.Contains(t, items, "approve-ml-lead", "generated approval item")

		assert.Equal(t, []string{"alice request opened"}, h.auditActions(id), "audit")
		assert.Equal(t, []string{"open_issue"}, h.queue.kindsSince(0), "jobs")
	})

	t.Run("same target replies already open", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.open()
		for _, line := range []string{promoteLine, "promote model fraud-detector v3 --to production"} {
			mark := h.queue.mark()
			h.command("dana", line)
			assert.Empty(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), "%q opens an issue", line)
			reply := h.lastReply(mark)
			assert.Equal(t, "R-1 is already open for model:fraud-detector:Production: its issue is being opened (state: opening).", reply, "reply to %q", line)
		}
		assert.Equal(t, []string{"alice request opened"}, h.auditActions(id), "audit")

		h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: issueURL})
		reply := h.commandReply("alice", promoteLine)
		assert.Equal(t, "#1 is already open for model:fraud-detector:Production: "+issueURL+" (state: awaiting-review).", reply, "reply once the issue exists")
	})

	t.Run("other target opens second request", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		first := h.open()
		second := h.openTarget("promote model fraud-detector 3 --to Staging")
		assert.NotEqual(t, first, second, "request ids")
		assert.Equal(t, "model:fraud-detector:Staging", h.request(second).Target, "target")
	})

	t.Run("unmapped Slack user stores nothing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.commandAs(bot.Actor{Slack: "U0NOBODY", Members: map[string]bool{}}, promoteLine)

		assert.Equal(t, []string{"reply"}, h.queue.kindsSince(0), "jobs")
		assert.Contains(t, h.lastReply(0), "not paired with a GitHub login", "reply")
		requests, err := h.db.ListRequests(h.ctx, "", 10)
		require.NoError(t, err)
		assert.Empty(t, requests, "stored requests")
		entries, err := h.db.Audit(h.ctx, 0)
		require.NoError(t, err)
		assert.Empty(t, entries, "audit rows")
	})

	t.Run("invalid command replies with usage", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		reply := h.commandReply("alice", "promote model fraud-detector 0")
		assert.Equal(t, "Invalid model version `0`: use the version number MLflow shows, such as 3.\nUsage: `/mlops "+promoteUsage+"`", reply)
		assert.Equal(t, []string{"reply"}, h.queue.kindsSince(0), "jobs")
	})
}

// openTarget opens a request with line as alice and returns its id.
func (h *harness) openTarget(line string) int64 {
	h.t.Helper()
	mark := h.queue.mark()
	h.command("alice", line)
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(h.t, opened, 1, "one issue is opened for %q", line)
	return opened[0].RequestID
}

func TestEngineIssueOpened(t *testing.T) {
	t.Parallel()

	t.Run("records issue and starts checks", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.open()
		mark := h.queue.mark()
		h.handle(bot.IssueOpened{RequestID: id, Number: 1, URL: issueURL})

		req := h.request(id)
		assert.Equal(t, bot.StateAwaitingReview, req.State, "state")
		assert.Equal(t, 1, req.IssueNumber, "issue number")
		assert.Equal(t, issueURL, req.IssueURL, "issue URL")

		replies := jobsOf[bot.ReplyArgs](h.queue, mark)
		if assert.Len(t, replies, 1, "replies") {
			assert.Equal(t, "Opened #1 [SOP-02] Promote fraud-detector v3 to Production for @alice: "+issueURL, replies[0].Text, "reply")
			assert.False(t, replies[0].Ephemeral, "reply is ephemeral")
			assert.Equal(t, "slack", replies[0].Origin.Source, "reply origin")
		}
		checks := jobsOf[bot.CheckArgs](h.queue, mark)
		key := req.ParamsKey()
		assert.Equal(t, []bot.CheckArgs{
			{RequestID: id, Key: "pre-1", Check: bot.CheckMLflowVersionStage, Params: key},
			{RequestID: id, Key: "pre-2", Check: bot.CheckMLflowMetrics, Params: key},
			{RequestID: id, Key: "s2-5", Check: bot.CheckArtifactScan, Params: key},
		}, checks, "checks")
		assert.Equal(t, bot.CheckNotApplicable, h.items(id)["s2-2"].CheckState, "parity item without a configured check")
		assert.Equal(t, []bot.LabelsArgs{{RequestID: id}}, jobsOf[bot.LabelsArgs](h.queue, mark), "label updates")
		assert.Equal(t, []string{"alice request opened", "sopbot issue opened", "sopbot check finished", "sopbot revision changed", "sopbot state changed"}, h.auditActions(id), "audit")
	})

	t.Run("second result changes nothing", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		auditRows := len(h.audit(id))
		mark := h.queue.mark()
		h.handle(bot.IssueOpened{RequestID: id, Number: 2, URL: "https://github.example/acme/ml-requests/issues/2"})

		req := h.request(id)
		assert.Equal(t, 1, req.IssueNumber, "issue number")
		assert.Equal(t, issueURL, req.IssueURL, "issue URL")
		assert.Equal(t, bot.StateAwaitingReview, req.State, "state")
		assert.Empty(t, h.queue.kindsSince(mark), "jobs")
		assert.Len(t, h.audit(id), auditRows, "audit rows")
	})
}

func TestEngineCheckFinished(t *testing.T) {
	t.Parallel()

	t.Run("pass ticks item", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.handle(bot.CheckFinished{RequestID: id, Key: "pre-1", Passed: true, Evidence: "fraud-detector version 3 is registered"})

		item := h.items(id)["pre-1"]
		assert.True(t, item.Checked, "pre-1 ticked")
		assert.Equal(t, bot.BotActor, item.ByLogin, "ticked by")
		assert.Equal(t, bot.CheckPassed, item.CheckState, "check state")
		assert.Equal(t, "fraud-detector version 3 is registered", item.Evidence, "evidence")
		assert.Equal(t, []bot.SyncItemsArgs{{RequestID: id, Keys: []string{"pre-1"}}}, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
	})

	t.Run("failure leaves item unticked", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.handle(bot.CheckFinished{RequestID: id, Key: "pre-1", Passed: false, Evidence: "version 3 is in stage Production"})

		assert.False(t, h.items(id)["pre-1"].Checked, "pre-1 ticked")
		comments := jobsOf[bot.CommentArgs](h.queue, mark)
		if assert.Len(t, comments, 1, "comments") {
			assert.Contains(t, comments[0].Body, "Check for `pre-1` failed: version 3 is in stage Production", "comment")
		}
		assert.Empty(t, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
	})
}

func TestEngineChecklistTicks(t *testing.T) {
	t.Parallel()

	t.Run("role holder tick recorded", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.tick("bob", "s2-1")

		item := h.items(id)["s2-1"]
		assert.True(t, item.Checked, "s2-1 ticked")
		assert.Equal(t, "bob", item.ByLogin, "ticked by")
		assert.Equal(t, "ML platform engineer", item.ByMember, "counted for")
		assert.NotEmpty(t, item.DeliveryID, "delivery id")
		last := h.lastAudit(id)
		assert.Equal(t, "bob", last.Actor, "audit actor")
		assert.Equal(t, "item ticked", last.Action, "audit action")
		assert.Contains(t, last.Detail, `"item":"s2-1"`, "audit detail")
		assert.Empty(t, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
		assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "comments")
	})

	t.Run("requester ticks precondition", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.tick("alice", "pre-3")
		assert.True(t, h.items(id)["pre-3"].Checked, "pre-3 ticked")
	})

	t.Run("non-holder tick reverted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.tick("mallory", "s3-1")

		h.assertReverted(id, mark, "s3-1", false, "It may be ticked by: compliance officer (@erin).")
		comment := jobsOf[bot.CommentArgs](h.queue, mark)[0].Body
		assert.True(t, strings.HasPrefix(comment, "@mallory, "), "comment %q names the actor", comment)
		last := h.lastAudit(id)
		assert.Equal(t, "mallory change reverted", last.Actor+" "+last.Action, "audit")
	})

	t.Run("holder untick revokes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.tick("erin", "s3-1")
		mark := h.queue.mark()
		h.untick("erin", "s3-1")

		item := h.items(id)["s3-1"]
		assert.False(t, item.Checked, "s3-1 ticked")
		assert.Empty(t, item.ByLogin, "ticked by")
		assert.Equal(t, "erin item unticked", h.lastAudit(id).Actor+" "+h.lastAudit(id).Action, "audit")
		assert.Empty(t, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
	})

	t.Run("untick by someone else reverted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.tick("erin", "s3-1")
		mark := h.queue.mark()
		h.untick("bob", "s3-1")

		h.assertReverted(id, mark, "s3-1", true, "@erin ticked it; only they or another holder of the role can untick it.")
		assert.Equal(t, "erin", h.items(id)["s3-1"].ByLogin, "ticked by")
	})

	t.Run("requester tick on review reverted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.tick("alice", "s2-1")

		h.assertReverted(id, mark, "s2-1", false, "a requester never signs off their own request")
	})

	t.Run("human tick on checked item reverted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		mark := h.queue.mark()
		h.tick("alice", "pre-1")

		h.assertReverted(id, mark, "pre-1", false, "sopbot ticks this box itself when its check (mlflow-version-stage) passes.")
	})

	t.Run("human untick of bot check reverted", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		h.passCheck(id)
		mark := h.queue.mark()
		h.untick("alice", "pre-1")

		h.assertReverted(id, mark, "pre-1", true, "sopbot ticked this box after its check passed")
	})

	t.Run("one edit with several boxes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		id := h.openIssue()
		base := h.body(id)
		mark := h.queue.mark()
		h.editBody("erin", base, h.edit(base, true, "s3-1", "s2-1", "s3-2"))

		items := h.items(id)
		assert.True(t, items["s3-1"].Checked, "s3-1 ticked")
		assert.True(t, items["s3-2"].Checked, "s3-2 ticked")
		assert.False(t, items["s2-1"].Checked, "s2-1 ticked")
		syncs := jobsOf[bot.SyncItemsArgs](h.queue, mark)
		if assert.Len(t, syncs, 1, "syncs") {
			assert.Equal(t, []string{"s2-1"}, syncs[0].Keys, "synced keys")
		}
	})
}

func TestEngineReviewNeedsEachMember(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	h.passCheck(id)
	h.tick("alice", "pre-3")
	h.tick("erin", "s3-1", "s3-2", "s3-3", "s3-4")
	h.tick("bob", "s2-1", "s2-2", "s2-3", "s2-4") // s2-5 is ticked by the scan

	for _, key := range h.sectionItems("step-2") {
		assert.True(t, h.items(id)[key].Checked, "%s ticked", key)
	}
	assert.Equal(t, bot.StateAwaitingReview, h.request(id).State, "state with bob's ticks only")
	status := h.commandReply("alice", "status #1")
	assert.Contains(t, status, "☐ Step 2: Technical Review: needs a tick from senior data scientist", "status")

	// Every box is ticked, so bob frees one for carol.
	h.untick("bob", "s2-4")
	h.tick("carol", "s2-4")

	item := h.items(id)["s2-4"]
	assert.Equal(t, "carol", item.ByLogin, "s2-4 ticked by")
	assert.Equal(t, "senior data scientist", item.ByMember, "s2-4 counted for")
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State, "state with carol's tick")
}

func TestEngineConcurrentEdits(t *testing.T) {
	t.Parallel()
	// Both edits start from the same body, so the second one's new body
	// lacks the first one's tick; the bot puts that tick back.
	cases := []struct {
		name     string
		order    []string
		restored string
	}{
		{"bob first", []string{"bob", "carol"}, "s2-1"},
		{"carol first", []string{"carol", "bob"}, "s2-4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.openIssue()
			base := h.body(id)
			edits := map[string]string{
				"bob":   h.edit(base, true, "s2-1"),
				"carol": h.edit(base, true, "s2-4"),
			}
			mark := h.queue.mark()
			for _, login := range tc.order {
				h.editBody(login, base, edits[login])
			}

			items := h.items(id)
			assert.Equal(t, "bob", items["s2-1"].ByLogin, "s2-1 ticked by")
			assert.Equal(t, "carol", items["s2-4"].ByLogin, "s2-4 ticked by")
			assert.Equal(t, []bot.SyncItemsArgs{{RequestID: id, Keys: []string{tc.restored}}}, jobsOf[bot.SyncItemsArgs](h.queue, mark), "syncs")
		})
	}
}

func TestEngineEditWithoutTicks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		hasOld bool
		change func(h *harness, base string) string
	}{
		{"no previous body", false, func(h *harness, base string) string { return h.edit(base, true, "s2-1") }},
		{"text only", true, func(_ *harness, base string) string {
			return strings.Replace(base, "Canary rollout done", "Canary rollout finished", 1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			id := h.openIssue()
			base := h.body(id)
			newBody := tc.change(h, base)
			require.NotEqual(t, base, newBody, "the edit changes the body")
			before := h.items(id)
			auditRows := len(h.audit(id))
			mark := h.queue.mark()

			h.handle(bot.ChecklistEdited{DeliveryID: "edit", Actor: h.actor("bob"), Issue: 1,
				OldBody: base, NewBody: newBody, HasOld: tc.hasOld})

			assert.Equal(t, before, h.items(id), "items")
			assert.Len(t, h.audit(id), auditRows, "audit rows")
			assert.Empty(t, h.queue.kindsSince(mark), "jobs")
		})
	}
}

func TestEngineIssueClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	h.handle(bot.IssueClosed{DeliveryID: "close", Actor: h.actor("bob"), Issue: 1})

	req := h.request(id)
	assert.Equal(t, bot.StateCancelled, req.State, "state")
	assert.Equal(t, "issue closed by @bob", req.Reason, "reason")
	assert.Equal(t, "bob request cancelled", h.lastAudit(id).Actor+" "+h.lastAudit(id).Action, "audit")

	mark := h.queue.mark()
	h.handle(bot.IssueClosed{DeliveryID: "close-again", Actor: h.actor("bob"), Issue: 1})
	assert.Empty(t, h.queue.kindsSince(mark), "jobs for a closed request")
}

func TestEngineStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	h.passCheck(id)
	h.tick("alice", "pre-3")
	h.tick("bob", "s2-1")

	mark := h.queue.mark()
	h.command("carol", "status #1")
	replies := jobsOf[bot.ReplyArgs](h.queue, mark)
	require.Len(t, replies, 1, "replies")
	assert.True(t, replies[0].Ephemeral, "status reply is ephemeral")
	lines := strings.Split(replies[0].Text, "\n")
	want := []string{
		"#1 [SOP-02] Promote fraud-detector v3 to Production: awaiting-review",
		issueURL,
		"☑ Preconditions",
		"☐ Step 2: Technical Review: 3 of 5 open (Training/serving parity tests have passed; Model card reviewed and complete; Data lineage and feature provenance validated), needs a tick from senior data scientist",
		"☐ Step 3: Compliance Review: 4 of 4 open",
		"☐ Step 4: Approval Decision: 2 of 2 open (Approved by ML lead; Approved by compliance officer)",
		"☐ Step 5: Deployment: 4 of 4 open",
	}
	require.Len(t, lines, len(want), "status lines: %q", lines)
	for i := range want {
		assert.True(t, strings.HasPrefix(lines[i], want[i]), "line %d: got %q, want prefix %q", i, lines[i], want[i])
	}

	byID := h.commandReply("carol", "status R-1")
	assert.Equal(t, replies[0].Text, byID, "status by request id")
	missing := h.commandReply("carol", "status #9")
	assert.Equal(t, "No request #9. Use the number of an issue that sopbot opened.", missing, "unknown request")
}

func TestEngineHelp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	reply := h.commandReply("alice", "")
	assert.Contains(t, reply, "`/mlops "+promoteUsage+"`: open an SOP-02 request", "help")
	assert.Contains(t, reply, "`/mlops approve <request> [revision]`", "help")
}

func TestActorMention(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		actor bot.Actor
		want  string
	}{
		{"GitHub login", bot.Actor{Login: "dana"}, "@dana"},
		{"Slack only", bot.Actor{Slack: "U0NOBODY"}, "Slack user U0NOBODY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, tc.actor.Mention())
		})
	}
}

// assertHasLine fails unless one of lines contains want.
func assertHasLine(t *testing.T, lines []string, want string) {
	t.Helper()
	assert.True(t, containsLine(lines, want), "got %q, want a line containing %q", lines, want)
}
