package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sopbot/sopbot/bot/store"
)

// viaRetrainingSchedule is the via of the "request opened" audit row of a
// request that the daily retraining check opened.
const viaRetrainingSchedule = "retraining schedule"

// ScheduledOpening is the record that the daily retraining check keeps of
// a request it opened: the model's retraining period and its start.
type ScheduledOpening struct {
	// Every is retraining.models.<model>.every when the request opened.
	Every time.Duration
	// Since names what the period counted from, such as "the last
	// retraining request opened", and SinceAt is when that happened.
	Since   string
	SinceAt time.Time
}

// DueAt returns when the scheduled retraining came due: Every after
// SinceAt.
func (o ScheduledOpening) DueAt() time.Time { return o.SinceAt.Add(o.Every) }

// EveryText returns Every in days when it is a whole number of days, such
// as "30 days", and as a Go duration otherwise.
func (o ScheduledOpening) EveryText() string { return everyText(o.Every) }

// AuditDetail returns the detail of the "request opened" audit row of a
// request that the retraining check opens. ScheduledOpeningOf reads it
// back.
func (o ScheduledOpening) AuditDetail() map[string]any {
	return map[string]any{"via": viaRetrainingSchedule, "trigger": "scheduled retraining",
		"every": o.Every.String(), "since": o.Since, "since_at": o.SinceAt}
}

// ScheduledOpeningOf returns what the retraining check recorded when it
// opened the request, and false when something else opened it.
func ScheduledOpeningOf(ctx context.Context, db *store.DB, q store.Querier, requestID int64) (ScheduledOpening, bool, error) {
	rows, err := db.AuditByAction(ctx, q, requestID, "request opened")
	if err != nil || len(rows) == 0 {
		return ScheduledOpening{}, false, err
	}
	var detail struct {
		Via     string    `json:"via"`
		Every   string    `json:"every"`
		Since   string    `json:"since"`
		SinceAt time.Time `json:"since_at"`
	}
	if json.Unmarshal([]byte(rows[0].Detail), &detail) != nil || detail.Via != viaRetrainingSchedule {
		return ScheduledOpening{}, false, nil
	}
	every, err := time.ParseDuration(detail.Every)
	if err != nil {
		return ScheduledOpening{}, false, fmt.Errorf("reading the retraining period of request %d: %w", requestID, err)
	}
	return ScheduledOpening{Every: every, Since: detail.Since, SinceAt: detail.SinceAt}, true, nil
}
