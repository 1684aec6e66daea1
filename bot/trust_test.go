package bot_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/sop"
)

// signOnce signs the approval as dana by command, on a request whose
// reviews are done.
func signOnce(h *harness) int64 {
	h.t.Helper()
	id := h.reviewed()
	h.command("dana", "approve #1")
	require.Len(h.t, h.signoffs(id), 1, "dana signed")
	return id
}

func TestChangedParametersVoidApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := signOnce(h)

	mark := h.queue.mark()
	h.command("alice", "promote model fraud-detector 4")

	req := h.request(id)
	assert.Equal(t, "4", req.Params["version"], "the open request takes the new version")
	assert.Empty(t, h.signoffs(id), "dana's approval no longer counts")
	assert.False(t, h.items(id)["approve-ml-lead"].Checked, "the approval box is unticked")
	assert.False(t, h.items(id)["pre-1"].Checked, "bot checks run again for the new version")
	assert.Equal(t, bot.StateAwaitingReview, req.State, "back to review until the checks pass again")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "version 3 → 4 by @alice")
	assert.Len(t, jobsOf[bot.SyncParamsArgs](h.queue, mark), 1, "the issue's title and parameters are rewritten")
	assert.Len(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), 0, "no second issue")
}

func TestEditedParametersTableVoidsApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := signOnce(h)
	base := h.body(id)
	edited, ok := sop.SetParam(base, "version", "5")
	require.True(t, ok)

	h.editBody("alice", base, edited)
	assert.Equal(t, "5", h.request(id).Params["version"], "the requester's edit changes the request")
	assert.Empty(t, h.signoffs(id), "approvals on the old revision are void")
}

func TestParametersEditByOutsiderIsReverted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	base := h.body(id)
	edited, _ := sop.SetParam(base, "version", "9")

	mark := h.queue.mark()
	h.editBody("mallory", base, edited)
	assert.Equal(t, "3", h.request(id).Params["version"], "parameters unchanged")
	assert.Len(t, jobsOf[bot.SyncParamsArgs](h.queue, mark), 1, "the table is put back")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "the Parameters table was set back")
}

func TestInvalidParameterEditIsReverted(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	base := h.body(id)
	edited, _ := sop.SetParam(base, "version", "three")

	mark := h.queue.mark()
	h.editBody("alice", base, edited)
	assert.Equal(t, "3", h.request(id).Params["version"], "parameters unchanged")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "Invalid model version")
}

func TestEvidenceChangeVoidsApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := signOnce(h)

	h.handle(bot.CheckFinished{RequestID: id, Key: "s2-5", Evidence: "a dangerous global was found.", Params: h.request(id).ParamsKey()})
	assert.Empty(t, h.signoffs(id), "an approval given on clean evidence does not count once it changes")
	assert.Equal(t, bot.StateAwaitingReview, h.request(id).State, "state")
}

func TestStaleCheckResultIsDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	h.handle(bot.CheckFinished{RequestID: id, Key: "pre-1", Passed: true, Evidence: "old", Params: "for-other-parameters"})
	assert.False(t, h.items(id)["pre-1"].Checked, "a result for other parameters is ignored")
}

func TestSignoffRecordsRevision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := signOnce(h)
	req := h.request(id)
	require.NotEmpty(t, req.Revision)
	assert.Equal(t, req.Revision, h.signoffs(id)[0].Revision, "the sign-off is bound to the revision it approved")
}

func TestSecondTargetRequestQueues(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := signOnce(h)
	h.command("dana", "approve #1") // already signed; nothing changes
	h.command("erin", "approve #1")
	require.Equal(t, bot.StateActing, h.request(first).State, "the first request is promoting")

	mark := h.queue.mark()
	h.command("bob", "promote model fraud-detector 4")
	opened := jobsOf[bot.OpenIssueArgs](h.queue, mark)
	require.Len(t, opened, 1, "the second request gets its own issue")
	second := opened[0].RequestID
	assert.Equal(t, bot.StateQueued, h.request(second).State, "it waits")
	assert.Equal(t, first, h.request(second).QueuedBehind, "behind the first")

	h.handle(bot.IssueOpened{RequestID: second, Number: 7, URL: "https://github.example/acme/ml-requests/issues/7"})
	assert.Equal(t, bot.StateQueued, h.request(second).State, "still queued once its issue opens")
	assert.Contains(t, lastReplyText(h, mark), "queued behind #1")
	assert.Empty(t, jobsOf[bot.CheckArgs](h.queue, mark), "no checks while queued")

	mark = h.queue.mark()
	h.handle(bot.ActionFinished{RequestID: first, Succeeded: true, Summary: "promoted", Result: "{}"})
	h.pastWindows()
	h.tick("alice", h.sectionItems("step-5")...)
	require.Equal(t, bot.StateDone, h.request(first).State, "the first request ends")
	assert.Equal(t, bot.StateAwaitingReview, h.request(second).State, "the queued request starts")
	assert.Len(t, jobsOf[bot.CheckArgs](h.queue, mark), 3, "its checks start")
}

func TestCancelReleasesTarget(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := h.openIssue()
	mark := h.queue.mark()
	h.command("bob", "promote model fraud-detector 4") // bob may not change alice's request
	second := jobsOf[bot.OpenIssueArgs](h.queue, mark)[0].RequestID
	require.Equal(t, bot.StateQueued, h.request(second).State)

	h.command("alice", "cancel #1")
	assert.Equal(t, bot.StateCancelled, h.request(first).State)
	assert.Equal(t, bot.StateOpening, h.request(second).State, "the queued request starts opening")
}

func lastReplyText(h *harness, mark int) string {
	replies := jobsOf[bot.ReplyArgs](h.queue, mark)
	if len(replies) == 0 {
		return ""
	}
	return replies[len(replies)-1].Text
}

func TestRecordsCommentWhenRequestEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := signOnce(h)
	h.command("erin", "approve #1")
	result := `{"model":"fraud-detector","version":"3","mode":"stage","target":"Production","stage_before":"Staging","previous_version":"2","run_id":"run-3","tags":{},"verified_at":"2026-12-03T10:00:00Z"}`
	h.handle(bot.ActionFinished{RequestID: id, Succeeded: true, Summary: "promoted", Result: result})

	mark := h.queue.mark()
	h.pastWindows()
	h.tick("alice", h.sectionItems("step-5")...)
	require.Equal(t, bot.StateDone, h.request(id).State)

	var records string
	for _, c := range jobsOf[bot.CommentArgs](h.queue, mark) {
		if strings.HasPrefix(c.Body, "## Records of #1") {
			records = c.Body
		}
	}
	require.NotEmpty(t, records, "a records comment is posted")
	assert.Contains(t, records, "| The promotion ticket with its approval trail | this issue, "+issueURL)
	assert.Contains(t, records, "| MLflow registry history (stage transitions) | the action result below")
	assert.Contains(t, records, "| Versions of the model card and documentation | not recorded by sopbot")
	assert.Contains(t, records, "| @dana | ML lead | command |")
	assert.Contains(t, records, "| @erin | compliance officer | command |")
	assert.Contains(t, records, "- fraud-detector v3: Staging → Production; v2 archived.")
	assert.Contains(t, records, "- Run `run-3`.")
	assert.Contains(t, records, "`pre-1` (mlflow-version-stage): passed.")
}

func TestEmojiAndReactionsNeverApprove(t *testing.T) {
	for _, body := range []string{"👍", ":+1:", "LGTM 🚀", "+1", "approved"} {
		_, ok := bot.ExtractCommand(body)
		assert.False(t, ok, "%q is not a command", body)
	}
}

func TestEmptyApproverRoleFailsClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	// Nobody holds the approver roles in this directory.
	h.engine.Directory = bot.NewDirectory(config.Config{Roles: map[string]config.Holders{
		"ML platform engineer": {GitHub: []string{"bob"}},
	}}, nil)
	h.dir = h.engine.Directory

	reply := h.commandReply("dana", "approve #1")
	assert.Contains(t, reply, "Not signed: you are not an approver of this request.")
	assert.Empty(t, h.signoffs(id), "nothing is signed when nobody holds the role")
	assert.Equal(t, bot.StateAwaitingApproval, h.request(id).State)
}
