package bot_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
)

func TestIssueOpenFailureTellsRequester(t *testing.T) {
	h := newHarness(t)
	id := h.open()
	mark := h.queue.mark()
	h.handle(bot.IssueOpenFailed{RequestID: id, Error: "github: 404 Not Found: Integration not found"})
	assert.Equal(t, bot.StateFailed, h.request(id).State)
	reply := h.lastReply(mark)
	assert.Contains(t, reply, "could not open the GitHub issue of R-1: github: 404 Not Found")
	assert.Contains(t, reply, "`/mlops retry R-1`")

	again := h.queue.mark()
	h.handle(bot.IssueOpenFailed{RequestID: id, Error: "again"})
	assert.Empty(t, jobsOf[bot.ReplyArgs](h.queue, again), "a second failure report says nothing new")

	assert.Contains(t, h.commandReply("bob", "retry R-1"), "Only the requester")
	mark = h.queue.mark()
	h.command("alice", "retry R-1")
	require.Len(t, jobsOf[bot.OpenIssueArgs](h.queue, mark), 1)
	assert.Equal(t, bot.StateOpening, h.request(id).State)
}
