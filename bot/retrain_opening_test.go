package bot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
)

func TestScheduledOpeningOfCheckRequest(t *testing.T) {
	h := newRetrainingHarness(t, config.Schedules{}, map[string]config.RetrainingModel{"fraud-detector": everyDays(30)})
	h.tick()
	h.openRetraining("fraud-detector", utc(2026, 12, 20, 12), StateDone)
	h.runRetrainingCheck(utc(2027, 1, 20, 0))
	opened := h.retrainings()["fraud-detector"]
	require.Len(t, opened, 2, "the check opened a second request")

	opening, ok, err := ScheduledOpeningOf(h.ctx, h.db, h.db.SQL, opened[1].ID)

	require.NoError(t, err)
	require.True(t, ok, "the check's request has a scheduled opening")
	assert.Equal(t, 30*24*time.Hour, opening.Every)
	assert.Equal(t, "30 days", opening.EveryText())
	assert.Equal(t, "the last retraining request opened", opening.Since)
	assert.True(t, opening.SinceAt.Equal(utc(2026, 12, 20, 12)), "since %s", opening.SinceAt)
	assert.True(t, opening.DueAt().Equal(utc(2027, 1, 19, 12)), "due %s", opening.DueAt())
}

func TestScheduledOpeningOfOtherRequest(t *testing.T) {
	h := newRetrainingHarness(t, config.Schedules{}, map[string]config.RetrainingModel{"fraud-detector": everyDays(30)})
	h.openRetraining("fraud-detector", utc(2026, 12, 20, 12), StateOpening)
	id := h.retrainings()["fraud-detector"][0].ID

	_, ok, err := ScheduledOpeningOf(h.ctx, h.db, h.db.SQL, id)

	require.NoError(t, err)
	assert.False(t, ok, "a request that the check did not open has none")
}
