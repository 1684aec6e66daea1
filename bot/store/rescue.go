package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// RescueResult counts the jobs that RescueRunningJobs moved, by the state
// it gave them.
type RescueResult struct {
	// Available jobs run again at once.
	Available int
	// Discarded jobs had used their last attempt, or are of a kind that no
	// worker handles.
	Discarded int
	// Cancelled jobs had a cancellation requested while they ran.
	Cancelled int
}

// Total returns how many jobs were moved.
func (r RescueResult) Total() int { return r.Available + r.Discarded + r.Cancelled }

// RescueRunningJobs moves every River job in state running out of it, in
// one transaction, and appends an attempt error with the text reason to
// each. It decides as River's rescuer does for a stuck job (river v0.51.2,
// internal/maintenance/job_rescuer.go), and writes the columns as River's
// SQLite driver does (JobRescue in riversqlite's river_job.sql):
//
//   - a job whose metadata has cancel_attempted_at is cancelled;
//   - a job of a kind that handled rejects is discarded;
//   - a job with attempts left (attempt < max_attempts) becomes available
//     with the attempt it used counted;
//   - any other job is discarded.
//
// It differs from the rescuer in two ways, because the caller knows that
// the process that ran these jobs has stopped: it ignores the job timeout,
// and a job with attempts left is available now instead of retryable
// after the retry policy's backoff.
//
// The caller must be the only process that works the queue, and must call
// it before its River client starts: a job that a live client is running
// would run twice.
func (db *DB) RescueRunningJobs(ctx context.Context, handled func(kind string) bool, reason string) (RescueResult, error) {
	var result RescueResult
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		jobs, err := runningJobs(ctx, tx)
		if err != nil {
			return err
		}
		now := db.Now()
		for _, job := range jobs {
			state := rescueState(job, handled)
			if err := rescueJob(ctx, tx, job, state, now, reason); err != nil {
				return err
			}
			switch state {
			case rivertype.JobStateAvailable:
				result.Available++
			case rivertype.JobStateCancelled:
				result.Cancelled++
			default:
				result.Discarded++
			}
		}
		return nil
	})
	if err != nil {
		return RescueResult{}, fmt.Errorf("returning running jobs to the queue: %w", err)
	}
	return result, nil
}

// runningJob is the part of a river_job row that a rescue reads.
type runningJob struct {
	id          int64
	kind        string
	attempt     int
	maxAttempts int
	metadata    []byte
}

func runningJobs(ctx context.Context, tx *sql.Tx) ([]runningJob, error) {
	// Metadata that is not valid JSON is read as it is stored, as River's
	// JobGetStuck does, so json() cannot fail on it.
	rows, err := tx.QueryContext(ctx, `SELECT id, kind, attempt, max_attempts,
		CASE WHEN typeof(metadata) = 'text' AND NOT json_valid(metadata) THEN metadata ELSE json(metadata) END
		FROM river_job WHERE state = 'running' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing running jobs: %w", err)
	}
	defer rows.Close()
	var jobs []runningJob
	for rows.Next() {
		var job runningJob
		if err := rows.Scan(&job.id, &job.kind, &job.attempt, &job.maxAttempts, &job.metadata); err != nil {
			return nil, fmt.Errorf("listing running jobs: %w", err)
		}
		jobs = append(jobs, job)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing running jobs: %w", err)
	}
	return jobs, nil
}

// rescueState returns the state that River's rescuer would give job, with
// "available" in place of "retryable".
func rescueState(job runningJob, handled func(kind string) bool) rivertype.JobState {
	// River's rescuer fails its whole run on metadata it cannot decode.
	// Such metadata here counts as no cancellation request, so one bad row
	// cannot keep a process from starting.
	var metadata struct {
		CancelAttemptedAt time.Time `json:"cancel_attempted_at"`
	}
	if json.Unmarshal(job.metadata, &metadata) == nil && !metadata.CancelAttemptedAt.IsZero() {
		return rivertype.JobStateCancelled
	}
	if !handled(job.kind) {
		return rivertype.JobStateDiscarded
	}
	if job.attempt < max(job.maxAttempts, 0) {
		return rivertype.JobStateAvailable
	}
	return rivertype.JobStateDiscarded
}

func rescueJob(ctx context.Context, tx *sql.Tx, job runningJob, state rivertype.JobState, now time.Time, reason string) error {
	attemptError, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(job.attempt, 0), Error: reason})
	if err != nil {
		return fmt.Errorf("encoding the attempt error of job %d: %w", job.id, err)
	}
	// A finalized job keeps its scheduled_at, as in River's rescuer.
	var finalizedAt, scheduledAt any
	if state == rivertype.JobStateAvailable {
		scheduledAt = riverTimestamp(now)
	} else {
		finalizedAt = riverTimestamp(now)
	}
	// The SET clauses are those of riversqlite's JobRescue: an errors value
	// that is not a JSON array is wrapped in one, and metadata that is not
	// valid JSON is left as it is.
	_, err = tx.ExecContext(ctx, `UPDATE river_job SET
		errors = CASE WHEN typeof(errors) = 'text' AND NOT json_valid(errors)
		              THEN jsonb(json_array(errors, json(@error)))
		              WHEN coalesce(json_type(errors), 'array') <> 'array'
		              THEN jsonb(json_array(json(errors), json(@error)))
		              ELSE jsonb(json_insert(json(coalesce(errors, jsonb('[]'))), '$[#]', json(@error))) END,
		finalized_at = @finalized_at,
		scheduled_at = coalesce(@scheduled_at, scheduled_at),
		metadata = CASE WHEN typeof(metadata) = 'text' AND NOT json_valid(metadata)
		                THEN metadata
		                ELSE jsonb_set(metadata, '$."river:rescue_count"',
		                    coalesce(CASE json_type(metadata, '$."river:rescue_count"')
		                                 WHEN 'integer' THEN json_extract(metadata, '$."river:rescue_count"')
		                                 WHEN 'real' THEN json_extract(metadata, '$."river:rescue_count"')
		                             END, 0) + 1) END,
		state = @state
		WHERE id = @id AND state = 'running'`,
		sql.Named("error", string(attemptError)), sql.Named("finalized_at", finalizedAt),
		sql.Named("scheduled_at", scheduledAt), sql.Named("state", string(state)), sql.Named("id", job.id))
	if err != nil {
		return fmt.Errorf("returning job %d (%s) to the queue: %w", job.id, job.kind, err)
	}
	return nil
}

// riverTimestamp formats t as River's SQLite driver writes times. SQLite
// compares times as text, so another format would sort wrongly against
// the times River writes.
func riverTimestamp(t time.Time) string {
	return t.UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000")
}
