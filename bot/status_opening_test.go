package bot_test

import (
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
)

func TestStatusShowsFailedIssueOpening(t *testing.T) {
	h := newHarness(t)
	id := h.open()
	assert.NotContains(t, h.commandReply("alice", "status R-1"), "Opening the issue failed", "no job has failed yet")

	client, err := river.NewClient(riversqlite.New(h.db.SQL), &river.Config{})
	require.NoError(t, err)
	inserted, err := client.Insert(h.ctx, bot.OpenIssueArgs{RequestID: id}, nil)
	require.NoError(t, err)
	_, err = h.db.SQL.ExecContext(h.ctx, `UPDATE river_job SET state = 'retryable', attempt = 2,
		scheduled_at = '2026-12-04 10:00:00.000',
		errors = json_array(json_object('at', '2026-12-04 09:00:00', 'attempt', 1, 'error', 'first'),
			json_object('at', '2026-12-04 09:01:00', 'attempt', 2, 'error', 'POST /repos/acme/ml-requests/issues: 502 Bad Gateway'))
		WHERE id = ?`, inserted.Job.ID)
	require.NoError(t, err)

	reply := h.commandReply("alice", "status R-1")
	assert.Contains(t, reply, "Opening the issue failed 2 time(s), last with: POST /repos/acme/ml-requests/issues: 502 Bad Gateway. "+
		"sopbot tries again at 2026-12-04T10:00:00Z.")
}
