package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Action run states.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// ActionRun is the stored state of one infra action of a request.
type ActionRun struct {
	RequestID  int64
	Action     string
	State      string
	Target     string
	Attempts   int
	Progress   string // JSON the action saved between polls
	Result     string // JSON record of the outcome
	Error      string
	QueuedAt   time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	Heartbeat  time.Time
}

const actionRunColumns = `request_id, action, state, target, attempts, progress, result, error,
	queued_at, started_at, finished_at, heartbeat`

func scanActionRun(row interface{ Scan(...any) error }) (ActionRun, error) {
	var r ActionRun
	var queued, started, finished, heartbeat string
	err := row.Scan(&r.RequestID, &r.Action, &r.State, &r.Target, &r.Attempts, &r.Progress, &r.Result, &r.Error,
		&queued, &started, &finished, &heartbeat)
	r.QueuedAt, r.StartedAt, r.FinishedAt, r.Heartbeat = parseTime(queued), parseTime(started), parseTime(finished), parseTime(heartbeat)
	return r, err
}

// QueueActionRun records that an action of a request is queued. It
// returns false when the action has a row already, so each action is
// queued once per request unless RequeueActionRun resets it.
func (db *DB) QueueActionRun(ctx context.Context, tx *sql.Tx, requestID int64, action, target string) (bool, error) {
	result, err := tx.ExecContext(ctx, `INSERT INTO action_runs (request_id, action, state, target, queued_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id, action) DO NOTHING`,
		requestID, action, RunQueued, target, timestamp(db.Now()))
	if err != nil {
		return false, fmt.Errorf("queueing action %s of request %d: %w", action, requestID, err)
	}
	n, _ := result.RowsAffected()
	return n == 1, nil
}

// RequeueActionRun sets a failed action back to queued and clears its
// error, keeping its progress so the retry finds its earlier work.
func (db *DB) RequeueActionRun(ctx context.Context, tx *sql.Tx, requestID int64, action string) error {
	_, err := tx.ExecContext(ctx, `UPDATE action_runs SET state = ?, error = '', finished_at = '', queued_at = ?
		WHERE request_id = ? AND action = ?`, RunQueued, timestamp(db.Now()), requestID, action)
	if err != nil {
		return fmt.Errorf("requeueing action %s of request %d: %w", action, requestID, err)
	}
	return nil
}

// ActionRun returns one action run.
func (db *DB) ActionRun(ctx context.Context, q Querier, requestID int64, action string) (ActionRun, error) {
	row := q.QueryRowContext(ctx, `SELECT `+actionRunColumns+` FROM action_runs WHERE request_id = ? AND action = ?`, requestID, action)
	r, err := scanActionRun(row)
	if errors.Is(err, sql.ErrNoRows) {
		return ActionRun{}, fmt.Errorf("action %s of request %d: %w", action, requestID, ErrNotFound)
	}
	if err != nil {
		return ActionRun{}, fmt.Errorf("loading action %s of request %d: %w", action, requestID, err)
	}
	return r, nil
}

// ActionRuns returns a request's action runs keyed by action.
func (db *DB) ActionRuns(ctx context.Context, q Querier, requestID int64) (map[string]ActionRun, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+actionRunColumns+` FROM action_runs WHERE request_id = ?`, requestID)
	if err != nil {
		return nil, fmt.Errorf("loading actions of request %d: %w", requestID, err)
	}
	defer rows.Close()
	out := map[string]ActionRun{}
	for rows.Next() {
		r, err := scanActionRun(rows)
		if err != nil {
			return nil, fmt.Errorf("loading actions of request %d: %w", requestID, err)
		}
		out[r.Action] = r
	}
	return out, rows.Err()
}

// StaleActionRuns returns running actions whose heartbeat is older than
// before.
func (db *DB) StaleActionRuns(ctx context.Context, q Querier, before time.Time) ([]ActionRun, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+actionRunColumns+` FROM action_runs WHERE state = ? AND heartbeat < ?`,
		RunRunning, timestamp(before))
	if err != nil {
		return nil, fmt.Errorf("loading stale actions: %w", err)
	}
	defer rows.Close()
	var out []ActionRun
	for rows.Next() {
		r, err := scanActionRun(rows)
		if err != nil {
			return nil, fmt.Errorf("loading stale actions: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// StartActionRun marks a queued or running action as running, counts the
// attempt and beats its heartbeat.
func (db *DB) StartActionRun(ctx context.Context, tx *sql.Tx, requestID int64, action string) error {
	now := timestamp(db.Now())
	_, err := tx.ExecContext(ctx, `UPDATE action_runs SET state = ?, attempts = attempts + 1,
		started_at = CASE WHEN started_at = '' THEN ? ELSE started_at END, heartbeat = ?
		WHERE request_id = ? AND action = ? AND state IN (?, ?)`,
		RunRunning, now, now, requestID, action, RunQueued, RunRunning)
	if err != nil {
		return fmt.Errorf("starting action %s of request %d: %w", action, requestID, err)
	}
	return nil
}

// SaveActionProgress stores what a running action needs on its next poll
// and beats its heartbeat.
func (db *DB) SaveActionProgress(ctx context.Context, tx *sql.Tx, requestID int64, action, progress string) error {
	_, err := tx.ExecContext(ctx, `UPDATE action_runs SET progress = ?, heartbeat = ? WHERE request_id = ? AND action = ?`,
		progress, timestamp(db.Now()), requestID, action)
	if err != nil {
		return fmt.Errorf("saving progress of action %s of request %d: %w", action, requestID, err)
	}
	return nil
}

// FinishActionRun records an action's outcome: succeeded with its result
// or failed with its error.
func (db *DB) FinishActionRun(ctx context.Context, tx *sql.Tx, requestID int64, action, state, result, errText string) error {
	_, err := tx.ExecContext(ctx, `UPDATE action_runs SET state = ?, result = ?, error = ?, finished_at = ?
		WHERE request_id = ? AND action = ?`, state, result, errText, timestamp(db.Now()), requestID, action)
	if err != nil {
		return fmt.Errorf("finishing action %s of request %d: %w", action, requestID, err)
	}
	return nil
}

// LockHolder is the action that holds a target.
type LockHolder struct {
	RequestID  int64
	Action     string
	AcquiredAt time.Time
}

// AcquireTarget takes target for the action unless another action holds
// it, and returns the holder either way.
func (db *DB) AcquireTarget(ctx context.Context, tx *sql.Tx, target string, requestID int64, action string) (LockHolder, error) {
	_, err := tx.ExecContext(ctx, `INSERT INTO target_locks (target, request_id, action, acquired_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (target) DO NOTHING`, target, requestID, action, timestamp(db.Now()))
	if err != nil {
		return LockHolder{}, fmt.Errorf("locking %s: %w", target, err)
	}
	var h LockHolder
	var at string
	err = tx.QueryRowContext(ctx, `SELECT request_id, action, acquired_at FROM target_locks WHERE target = ?`, target).
		Scan(&h.RequestID, &h.Action, &at)
	if err != nil {
		return LockHolder{}, fmt.Errorf("locking %s: %w", target, err)
	}
	h.AcquiredAt = parseTime(at)
	return h, nil
}

// ReleaseTarget frees target if the action holds it.
func (db *DB) ReleaseTarget(ctx context.Context, tx *sql.Tx, target string, requestID int64, action string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM target_locks WHERE target = ? AND request_id = ? AND action = ?`, target, requestID, action)
	if err != nil {
		return fmt.Errorf("unlocking %s: %w", target, err)
	}
	return nil
}

// ReleaseRequestTargets frees every target the request's actions hold.
func (db *DB) ReleaseRequestTargets(ctx context.Context, tx *sql.Tx, requestID int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM target_locks WHERE request_id = ?`, requestID)
	if err != nil {
		return fmt.Errorf("unlocking targets of request %d: %w", requestID, err)
	}
	return nil
}

// Querier is a transaction or the database itself, for reads that work in
// either.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// LiveInfraJob reports whether a job of one action of a request is
// waiting, snoozed, retrying, or running and attempted after since.
func (db *DB) LiveInfraJob(ctx context.Context, requestID int64, action string, since time.Time) (bool, error) {
	var n int
	err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'infra_action'
		AND json_extract(json(args), '$.request_id') = ? AND json_extract(json(args), '$.action') = ?
		AND (state IN ('available', 'scheduled', 'retryable', 'pending')
		     OR (state = 'running' AND attempted_at > ?))`, requestID, action, riverTime(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("checking the jobs of action %s of request %d: %w", action, requestID, err)
	}
	return n > 0, nil
}
