package bot_test

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/sop"
)

const parityCheck = "parity-tests"

// newParityHarness configures the parity check, so s2-2 follows check runs.
func newParityHarness(t *testing.T) *harness {
	h := newHarness(t)
	h.engine.Settings.ParityCheck = parityCheck
	return h
}

func TestCheckNotApplicableHandsItemToPeople(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	h.handle(bot.CheckFinished{RequestID: id, Key: "pre-2", NotApplicable: true, Evidence: "no metric thresholds are configured."})

	item := h.items(id)["pre-2"]
	assert.False(t, item.Checked, "pre-2 stays unticked")
	assert.Equal(t, bot.CheckNotApplicable, item.CheckState, "check state")

	h.tick("alice", "pre-2")
	assert.True(t, h.items(id)["pre-2"].Checked, "the requester may tick an item the check cannot decide")
}

func TestCheckFailureKeepsPeopleOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	h.handle(bot.CheckFinished{RequestID: id, Key: "pre-2", Evidence: "accuracy is below the minimum."})
	assert.Equal(t, bot.CheckFailed, h.items(id)["pre-2"].CheckState, "check state")

	mark := h.queue.mark()
	h.tick("alice", "pre-2")
	h.assertReverted(id, mark, "pre-2", false, "sopbot ticks this box itself when its check (mlflow-metrics-baseline) passes.")
}

func TestCheckReportCarriesTable(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	mark := h.queue.mark()
	h.handle(bot.CheckFinished{RequestID: id, Key: "s2-5", Evidence: "1 finding blocks the review.", Report: "| severity |\n| --- |\n| error |\n"})

	comments := jobsOf[bot.CommentArgs](h.queue, mark)
	require.Len(t, comments, 1, "comments")
	assert.Contains(t, comments[0].Body, "❌ Check for `s2-5` failed: 1 finding blocks the review.")
	assert.Contains(t, comments[0].Body, "| severity |")
}

func TestParityFollowsCheckRun(t *testing.T) {
	t.Parallel()
	h := newParityHarness(t)
	id := h.openIssue()
	h.linkPR(2, headSHA)
	report := func(name, sha, conclusion string) {
		h.handle(bot.CheckReported{DeliveryID: h.deliveryID(), PRs: []int{2}, HeadSHA: sha, Name: name, Conclusion: conclusion})
	}

	report("lint", headSHA, "success")
	assert.False(t, h.items(id)["s2-2"].Checked, "another check does not count")

	report(parityCheck, otherSHA, "success")
	assert.False(t, h.items(id)["s2-2"].Checked, "a result for an old head does not count")

	report(parityCheck, headSHA, "success")
	item := h.items(id)["s2-2"]
	assert.True(t, item.Checked, "success on the head ticks s2-2")
	assert.Equal(t, bot.BotActor, item.ByLogin, "ticked by")

	report(parityCheck, headSHA, "failure")
	assert.False(t, h.items(id)["s2-2"].Checked, "a later failure unticks s2-2")
	assert.Equal(t, bot.CheckFailed, h.items(id)["s2-2"].CheckState, "check state")
}

func TestParityStatusFindsPullRequestByHead(t *testing.T) {
	t.Parallel()
	h := newParityHarness(t)
	id := h.openIssue()
	h.linkPR(2, headSHA)
	h.handle(bot.CheckReported{DeliveryID: h.deliveryID(), HeadSHA: headSHA, Name: parityCheck, Conclusion: "success"})
	assert.True(t, h.items(id)["s2-2"].Checked, "a commit status on the head ticks s2-2")
}

func TestParityResetByNewPush(t *testing.T) {
	t.Parallel()
	h := newParityHarness(t)
	id := h.openIssue()
	h.linkPR(2, headSHA)
	h.handle(bot.CheckReported{DeliveryID: h.deliveryID(), PRs: []int{2}, HeadSHA: headSHA, Name: parityCheck, Conclusion: "success"})
	require.True(t, h.items(id)["s2-2"].Checked, "ticked before the push")

	mark := h.queue.mark()
	h.handle(bot.PullRequestChanged{DeliveryID: h.deliveryID(), Actor: h.actor("alice"), PR: 2, HeadSHA: otherSHA, Action: "synchronize"})
	assert.False(t, h.items(id)["s2-2"].Checked, "a new head unticks s2-2")
	assertHasComment(t, jobsOf[bot.CommentArgs](h.queue, mark), "`parity-tests` must pass again")

	mark = h.queue.mark()
	h.tick("bob", "s2-2")
	h.assertReverted(id, mark, "s2-2", false, "sopbot ticks this box itself when its check (pr-check-parity) passes.")
}

func TestParityWithoutConfigIsLeftToPeople(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	assert.Equal(t, bot.CheckNotApplicable, h.items(id)["s2-2"].CheckState, "check state")
	h.tick("bob", "s2-2")
	assert.True(t, h.items(id)["s2-2"].Checked, "a reviewer ticks s2-2 by hand")
}

func TestValidateLibraryRejectsUnknownNames(t *testing.T) {
	lib, err := sop.Embedded()
	require.NoError(t, err)
	require.NoError(t, bot.ValidateLibrary(lib), "the embedded library")

	data, err := os.ReadFile("../sop/library/sop-02-model-promotion.md")
	require.NoError(t, err)
	broken := strings.Replace(string(data), "artifact-scan", "virus-scan", 1)
	broken = strings.Replace(broken, "onApproved: mlflow-promote", "onApproved: deploy-everything", 1)
	custom, err := sop.LoadLibrary(fstest.MapFS{"sop-02.md": {Data: []byte(broken)}})
	require.NoError(t, err)

	err = bot.ValidateLibrary(custom)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `item s2-5 names unknown check "virus-scan"`)
	assert.Contains(t, err.Error(), `onApproved names unknown action "deploy-everything"`)
}

func TestOpenRequestKeepsItsSOPRevision(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()

	data, err := os.ReadFile("../sop/library/sop-02-model-promotion.md")
	require.NoError(t, err)
	changed := strings.Replace(string(data), "step-3: {tick: [compliance officer]}", "step-3: {tick: [ML lead]}", 1)
	require.NotEqual(t, string(data), changed, "the test changes the step 3 rule")
	lib, err := sop.LoadLibrary(fstest.MapFS{"sop-02.md": {Data: []byte(changed)}})
	require.NoError(t, err)
	h.engine.Library = lib

	h.tick("erin", "s3-1")
	assert.True(t, h.items(id)["s3-1"].Checked, "the open request still runs the rule it was opened under")
	assert.Equal(t, "compliance officer", h.items(id)["s3-1"].ByMember, "counted for")
}

func TestEffectCommentsGetDistinctMarkers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.openIssue()
	mark := h.queue.mark()
	h.handle(bot.CheckFinished{RequestID: id, Key: "pre-1", Passed: true, Evidence: "a"})
	h.handle(bot.CheckFinished{RequestID: id, Key: "pre-2", Passed: true, Evidence: "b"})
	comments := jobsOf[bot.CommentArgs](h.queue, mark)
	require.Len(t, comments, 2)
	assert.NotEqual(t, comments[0].Marker, comments[1].Marker, "a retried comment must find only its own earlier attempt")
}
