package bot_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
)

// monitoringItem is SOP-02's "Monitored for 24-48 hours" box.
const monitoringItem = "s5-3"

// pastWindows moves the store's clock 25 hours ahead, past the end of the
// waiting windows of actions that succeeded until now, such as SOP-02's
// monitoring window.
func (h *harness) pastWindows() {
	h.db.SetClock(func() time.Time { return time.Now().Add(25 * time.Hour) })
}

// clock fixes the store's clock at start and returns a function that
// moves it to start plus d.
func (h *harness) clock(start time.Time) func(d time.Duration) {
	now := start
	h.db.SetClock(func() time.Time { return now })
	return func(d time.Duration) { now = start.Add(d) }
}

func (h *harness) scheduler(cfg config.Schedules) *bot.Scheduler {
	settings := bot.ScheduleSettingsOf(config.Config{Schedules: cfg}.WithDefaults())
	return bot.NewScheduler(h.engine, settings, nil, nil, slog.New(slog.DiscardHandler))
}

var promotedAt = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func TestMonitoringWindowHoldsTick(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	setClock := h.clock(promotedAt)
	id := h.approved()

	mark := h.queue.mark()
	h.tick("alice", monitoringItem)
	h.assertReverted(id, mark, monitoringItem, false,
		"the 24-hour monitoring window started when `mlflow-promote` succeeded at 2026-12-04 10:00 UTC and ends at 2026-12-05 10:00 UTC; "+
			"tick this box after that, once the metrics look right.")

	setClock(24*time.Hour - time.Minute)
	mark = h.queue.mark()
	h.tick("alice", monitoringItem)
	h.assertReverted(id, mark, monitoringItem, false, "ends at 2026-12-05 10:00 UTC")

	setClock(24 * time.Hour)
	h.tick("alice", monitoringItem)
	assert.True(t, h.items(id)[monitoringItem].Checked, "ticked once the window ended")
	assert.Equal(t, "alice", h.items(id)[monitoringItem].ByLogin, "ticked by")
}

func TestMonitoringWindowOtherBoxesFree(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.clock(promotedAt)
	id := h.approved()
	h.tick("alice", "s5-1", "s5-2", "s5-4")
	for _, key := range []string{"s5-1", "s5-2", "s5-4"} {
		assert.True(t, h.items(id)[key].Checked, "%s needs no wait", key)
	}
	assert.Equal(t, bot.StateDeploying, h.request(id).State, "the request waits for the monitoring box")
}

func TestMonitoringWindowBeforePromotion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.reviewed()
	h.command("dana", "approve #1")
	h.command("erin", "approve #1")
	require.Equal(t, bot.StateActing, h.request(id).State)

	mark := h.queue.mark()
	h.tick("alice", monitoringItem)
	h.assertReverted(id, mark, monitoringItem, false,
		"the 24-hour monitoring window starts when `mlflow-promote` succeeds, so this box can be ticked 24 hours after that.")
}

func TestMonitoringWindowConfiguredDuration(t *testing.T) {
	t.Parallel()

	t.Run("shorter", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.engine.Settings.WindowDurations = map[string]time.Duration{"sop-02-monitoring": 2 * time.Hour}
		setClock := h.clock(promotedAt)
		id := h.approved()
		mark := h.queue.mark()
		h.tick("alice", monitoringItem)
		h.assertReverted(id, mark, monitoringItem, false, "ends at 2026-12-04 12:00 UTC")
		setClock(2 * time.Hour)
		h.tick("alice", monitoringItem)
		assert.True(t, h.items(id)[monitoringItem].Checked, "ticked after two hours")
	})

	t.Run("removed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.engine.Settings.WindowDurations = map[string]time.Duration{"sop-02-monitoring": 0}
		h.clock(promotedAt)
		id := h.approved()
		h.tick("alice", monitoringItem)
		assert.True(t, h.items(id)[monitoringItem].Checked, "ticked at once")
	})
}

func TestWindowReminder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	setClock := h.clock(promotedAt)
	id := h.approved()
	scheduler := h.scheduler(config.Schedules{})

	setClock(time.Hour)
	mark := h.queue.mark()
	require.NoError(t, scheduler.Tick(h.ctx))
	assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "no reminder before the window ends")
	var row string
	require.NoError(t, h.db.SQL.QueryRow(`SELECT next_at FROM schedules WHERE name = 'window:R-1:s5-3'`).Scan(&row))
	assert.Equal(t, "2026-12-05T10:00:00Z", row, "the reminder is due when the window ends")

	setClock(24 * time.Hour)
	mark = h.queue.mark()
	require.NoError(t, scheduler.Tick(h.ctx))
	comments := jobsOf[bot.CommentArgs](h.queue, mark)
	require.Len(t, comments, 1, "one reminder")
	assert.Equal(t, id, comments[0].RequestID, "on the request")
	assert.Equal(t, "⏰ @alice, the 24-hour monitoring window ended at 2026-12-05 10:00 UTC; tick \"Monitored for 24-48 hours\" once the metrics look right. "+
		"It may be ticked by: the requester, ML platform engineer (@bob).", comments[0].Body)
	assertHasLine(t, h.auditActions(id), "sopbot window ended")

	setClock(25 * time.Hour)
	mark = h.queue.mark()
	require.NoError(t, scheduler.Tick(h.ctx))
	require.NoError(t, h.scheduler(config.Schedules{}).Tick(h.ctx), "a restarted scheduler")
	assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "the reminder is posted once")
}

func TestWindowReminderSkippedWhenTicked(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	setClock := h.clock(promotedAt)
	h.approved()
	scheduler := h.scheduler(config.Schedules{})
	require.NoError(t, scheduler.Tick(h.ctx))

	// The bot was down when the window ended, and alice ticked the box
	// before it came back.
	setClock(30 * time.Hour)
	h.tick("alice", monitoringItem)
	mark := h.queue.mark()
	require.NoError(t, scheduler.Tick(h.ctx))
	assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "no reminder for a ticked box")
}

func TestWindowReminderOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	setClock := h.clock(promotedAt)
	h.approved()
	off := false
	scheduler := h.scheduler(config.Schedules{Windows: config.Windows{Enabled: &off}})
	setClock(25 * time.Hour)
	mark := h.queue.mark()
	require.NoError(t, scheduler.Tick(h.ctx))
	assert.Empty(t, jobsOf[bot.CommentArgs](h.queue, mark), "no reminder")
	var rows int
	require.NoError(t, h.db.SQL.QueryRow(`SELECT COUNT(*) FROM schedules WHERE name LIKE 'window:%'`).Scan(&rows))
	assert.Zero(t, rows, "no reminder scheduled")
}

func TestItemWindowsMatchLibrary(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, w := range bot.ItemWindows {
		s, ok := h.engine.Library.Get(w.SOP)
		require.True(t, ok, "the library has %s", w.SOP)
		sec, ok := s.ItemSection(w.Item)
		require.True(t, ok, "%s has item %s", w.SOP, w.Item)
		found := false
		for _, item := range sec.Items {
			found = found || (item.Key == w.Item && strings.HasPrefix(item.Text, w.Text))
		}
		assert.True(t, found, "%s item %s starts with %q", w.SOP, w.Item, w.Text)
	}
}
