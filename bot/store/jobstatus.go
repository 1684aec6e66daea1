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
	State string
	// Failures is the number of attempt errors recorded on the job. It is
	// less than River's attempt while an attempt is running.
	Failures int
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
	// json_extract fails the whole query on one value that is not JSON, so
	// args and errors are checked first with json_valid flag 9 (RFC 8259
	// text or JSONB). A job with invalid args matches no request, and
	// errors that are not an array count as none.
	err = tx.QueryRowContext(ctx, `SELECT state,
		CASE WHEN json_valid(errors, 9) AND json_type(errors) = 'array' THEN json_array_length(errors) ELSE 0 END,
		CASE WHEN json_valid(errors, 9) AND json_type(errors) = 'array' THEN json_extract(errors, '$[#-1].error') END,
		strftime('%Y-%m-%dT%H:%M:%SZ', scheduled_at)
		FROM river_job WHERE kind = ?
		AND CASE WHEN json_valid(args, 9) THEN json_extract(args, '$.request_id') END = ?
		AND state IN ('available', 'scheduled', 'retryable', 'pending', 'running')
		ORDER BY id DESC LIMIT 1`, kind, requestID).Scan(&status.State, &status.Failures, &lastError, &next)
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
