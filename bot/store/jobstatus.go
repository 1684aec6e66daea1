package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// JobStatus is the progress of the newest unfinished River job of a kind
// for a request.
type JobStatus struct {
	State   string
	Attempt int
	// LastError is the error of its last failed attempt, or "".
	LastError string
	// Next is when it runs next, for a job waiting to retry.
	Next time.Time
}

// UnfinishedJob returns the newest job of kind for the request that has
// not completed, been cancelled or discarded; ok is false when there is
// none.
func (db *DB) UnfinishedJob(ctx context.Context, tx *sql.Tx, kind string, requestID int64) (status JobStatus, ok bool, err error) {
	var lastError sql.NullString
	var next string
	err = tx.QueryRowContext(ctx, `SELECT state, attempt,
		CASE WHEN errors IS NOT NULL THEN json_extract(errors, '$[#-1].error') END,
		strftime('%Y-%m-%dT%H:%M:%SZ', scheduled_at)
		FROM river_job WHERE kind = ? AND json_extract(json(args), '$.request_id') = ?
		AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')
		ORDER BY id DESC LIMIT 1`, kind, requestID).Scan(&status.State, &status.Attempt, &lastError, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return JobStatus{}, false, nil
	}
	if err != nil {
		return JobStatus{}, false, fmt.Errorf("reading the %s job of request %d: %w", kind, requestID, err)
	}
	status.LastError = lastError.String
	status.Next, _ = time.Parse(time.RFC3339, next)
	return status, true, nil
}
