package bot_test

import (
	"strings"
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
	assert.Contains(t, reply, ")\nOpening the issue failed 2 time(s), last with: POST /repos/acme/ml-requests/issues: 502 Bad Gateway. "+
		"sopbot tries again at 2026-12-04T10:00:00Z.")
}

// failOpening inserts an open_issue job for the request and runs sql on
// its row, with the job id as the only argument.
func failOpening(t *testing.T, h *harness, id int64, update string) int64 {
	t.Helper()
	client, err := river.NewClient(riversqlite.New(h.db.SQL), &river.Config{})
	require.NoError(t, err)
	inserted, err := client.Insert(h.ctx, bot.OpenIssueArgs{RequestID: id}, nil)
	require.NoError(t, err)
	_, err = h.db.SQL.ExecContext(h.ctx, update, inserted.Job.ID)
	require.NoError(t, err)
	return inserted.Job.ID
}

func TestStatusOpeningRedactsCredentials(t *testing.T) {
	h := newHarness(t)
	id := h.open()
	token := "ghs_" + strings.Repeat("a1B2c3D4e5", 4)
	failOpening(t, h, id, `UPDATE river_job SET state = 'retryable', attempt = 1,
		errors = json_array(json_object('at', '2026-12-04 09:00:00', 'attempt', 1,
			'error', 'Post "https://bot:hunter2secret@ghe.internal/api/v3/repos/acme/ml-requests/issues": token `+token+` rejected'))
		WHERE id = ?`)

	reply := h.commandReply("alice", "status R-1")
	assert.Contains(t, reply, "Opening the issue failed 1 time(s)")
	assert.NotContains(t, reply, token)
	assert.NotContains(t, reply, "hunter2secret")
}

func TestStatusOpeningErrorsNotJSON(t *testing.T) {
	h := newHarness(t)
	id := h.open()
	failOpening(t, h, id, `UPDATE river_job SET state = 'retryable', attempt = 1, errors = 'boom' WHERE id = ?`)

	reply := h.commandReply("alice", "status R-1")
	assert.Contains(t, reply, "R-1 [SOP-02]", "status still replies")
	assert.NotContains(t, reply, "Opening the issue failed")
}

func TestStatusOpeningOtherJobArgsNotJSON(t *testing.T) {
	h := newHarness(t)
	id := h.open()
	failOpening(t, h, id, `UPDATE river_job SET state = 'retryable', attempt = 1,
		errors = json_array(json_object('at', '2026-12-04 09:00:00', 'attempt', 1, 'error', 'first'))
		WHERE id = ?`)
	failOpening(t, h, id+100, `UPDATE river_job SET args = 'not json' WHERE id = ?`)

	reply := h.commandReply("alice", "status R-1")
	assert.Contains(t, reply, "Opening the issue failed 1 time(s), last with: first")
}

func TestStatusOpeningRunningCountsFailures(t *testing.T) {
	h := newHarness(t)
	id := h.open()
	failOpening(t, h, id, `UPDATE river_job SET state = 'running', attempt = 2,
		errors = json_array(json_object('at', '2026-12-04 09:00:00', 'attempt', 1, 'error', 'first'))
		WHERE id = ?`)

	reply := h.commandReply("alice", "status R-1")
	assert.Contains(t, reply, "Opening the issue failed 1 time(s), last with: first")
}
