package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Project is one row of the project inventory.
type Project struct {
	Name         string
	Team         string
	CostCenter   string
	Namespace    string
	ExperimentID string
	PipelineRun  string
	RequestID    int64
	OnboardedAt  time.Time
	LastRunAt    time.Time // newest MLflow run seen by the inventory audit
	AuditedAt    time.Time
}

// UpsertProject adds a project to the inventory or updates its row.
func (db *DB) UpsertProject(ctx context.Context, tx *sql.Tx, p Project) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO projects (name, team, cost_center, namespace, experiment_id, pipeline_run,
		request_id, onboarded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET team = excluded.team, cost_center = excluded.cost_center,
		namespace = excluded.namespace, experiment_id = excluded.experiment_id, pipeline_run = excluded.pipeline_run,
		request_id = excluded.request_id`,
		p.Name, p.Team, p.CostCenter, p.Namespace, p.ExperimentID, p.PipelineRun, p.RequestID, timestamp(db.Now()))
	if err != nil {
		return fmt.Errorf("storing project %s: %w", p.Name, err)
	}
	return nil
}

// SetProjectRun records the project's initial training run; a project not
// yet in the inventory is left alone, and its inventory step reads the run
// from the action's result instead.
func (db *DB) SetProjectRun(ctx context.Context, tx *sql.Tx, name, runID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE projects SET pipeline_run = ? WHERE name = ?`, runID, name)
	if err != nil {
		return fmt.Errorf("recording the training run of project %s: %w", name, err)
	}
	return nil
}

// SetProjectActivity records the newest MLflow run an audit found.
func (db *DB) SetProjectActivity(ctx context.Context, tx *sql.Tx, name string, lastRun time.Time) error {
	last := ""
	if !lastRun.IsZero() {
		last = timestamp(lastRun)
	}
	_, err := tx.ExecContext(ctx, `UPDATE projects SET last_run_at = ?, audited_at = ? WHERE name = ?`, last, timestamp(db.Now()), name)
	if err != nil {
		return fmt.Errorf("recording activity of project %s: %w", name, err)
	}
	return nil
}

// Projects returns the project inventory ordered by name.
func (db *DB) Projects(ctx context.Context, q Querier) ([]Project, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, team, cost_center, namespace, experiment_id, pipeline_run, request_id,
		onboarded_at, last_run_at, audited_at FROM projects ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("loading projects: %w", err)
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		var p Project
		var onboarded, lastRun, audited string
		if err := rows.Scan(&p.Name, &p.Team, &p.CostCenter, &p.Namespace, &p.ExperimentID, &p.PipelineRun, &p.RequestID,
			&onboarded, &lastRun, &audited); err != nil {
			return nil, fmt.Errorf("loading projects: %w", err)
		}
		p.OnboardedAt, p.LastRunAt, p.AuditedAt = parseTime(onboarded), parseTime(lastRun), parseTime(audited)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Secret is one row of the secret inventory. It never holds a value.
type Secret struct {
	Name        string // logical name, such as mlflow-secrets
	Namespace   string
	Current     string // Kubernetes secret that holds it now
	Service     string // owning service
	Deployment  string
	Kind        string // cloud-credential, database-password, api-token, ...
	LastRotated time.Time
	LastRequest int64
}

// SeedSecret adds a secret to the inventory, or updates its description
// while keeping its rotation history and current Kubernetes name.
func (db *DB) SeedSecret(ctx context.Context, tx *sql.Tx, s Secret) error {
	last := ""
	if !s.LastRotated.IsZero() {
		last = timestamp(s.LastRotated)
	}
	current := s.Current
	if current == "" {
		current = s.Name
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, namespace, current, service, deployment, kind, last_rotated)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (namespace, name) DO UPDATE SET service = excluded.service, deployment = excluded.deployment,
		kind = excluded.kind,
		last_rotated = CASE WHEN secrets.last_rotated = '' THEN excluded.last_rotated ELSE secrets.last_rotated END`,
		s.Name, s.Namespace, current, s.Service, s.Deployment, s.Kind, last)
	if err != nil {
		return fmt.Errorf("storing secret %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}

// RecordRotation stores a finished rotation: the Kubernetes secret that
// now holds the logical secret, the time and the request.
func (db *DB) RecordRotation(ctx context.Context, tx *sql.Tx, namespace, name, current string, requestID int64) error {
	result, err := tx.ExecContext(ctx, `UPDATE secrets SET current = ?, last_rotated = ?, last_request = ?
		WHERE namespace = ? AND name = ?`, current, timestamp(db.Now()), requestID, namespace, name)
	if err != nil {
		return fmt.Errorf("recording rotation of %s/%s: %w", namespace, name, err)
	}
	if n, _ := result.RowsAffected(); n == 0 {
		_, err = tx.ExecContext(ctx, `INSERT INTO secrets (name, namespace, current, kind, last_rotated, last_request)
			VALUES (?, ?, ?, 'unknown', ?, ?)`, name, namespace, current, timestamp(db.Now()), requestID)
		if err != nil {
			return fmt.Errorf("recording rotation of %s/%s: %w", namespace, name, err)
		}
	}
	return nil
}

// SetSecretCurrent records which Kubernetes secret holds a secret of the
// inventory now, keeping its rotation date; a secret not yet in the
// inventory is left alone.
func (db *DB) SetSecretCurrent(ctx context.Context, tx *sql.Tx, namespace, name, current string) error {
	_, err := tx.ExecContext(ctx, `UPDATE secrets SET current = ? WHERE namespace = ? AND name = ?`, current, namespace, name)
	if err != nil {
		return fmt.Errorf("recording the current secret of %s/%s: %w", namespace, name, err)
	}
	return nil
}

// GetSecret returns one secret of the inventory.
func (db *DB) GetSecret(ctx context.Context, q Querier, namespace, name string) (Secret, error) {
	secrets, err := db.querySecrets(ctx, q, `WHERE namespace = ? AND name = ?`, namespace, name)
	if err != nil {
		return Secret{}, err
	}
	if len(secrets) == 0 {
		return Secret{}, fmt.Errorf("secret %s/%s: %w", namespace, name, ErrNotFound)
	}
	return secrets[0], nil
}

// Secrets returns the secret inventory ordered by namespace and name.
func (db *DB) Secrets(ctx context.Context, q Querier) ([]Secret, error) {
	return db.querySecrets(ctx, q, ``)
}

func (db *DB) querySecrets(ctx context.Context, q Querier, where string, args ...any) ([]Secret, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, namespace, current, service, deployment, kind, last_rotated, last_request
		FROM secrets `+where+` ORDER BY namespace, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("loading secrets: %w", err)
	}
	defer rows.Close()
	var out []Secret
	for rows.Next() {
		var s Secret
		var last string
		if err := rows.Scan(&s.Name, &s.Namespace, &s.Current, &s.Service, &s.Deployment, &s.Kind, &last, &s.LastRequest); err != nil {
			return nil, fmt.Errorf("loading secrets: %w", err)
		}
		s.LastRotated = parseTime(last)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Schedule is one piece of scheduled work: a recurring schedule, or a
// one-time one such as a reminder. A zero NextAt means it never fires
// again.
type Schedule struct {
	Name   string
	LastAt time.Time
	NextAt time.Time
}

// GetSchedule returns a schedule, or ErrNotFound before its first run.
func (db *DB) GetSchedule(ctx context.Context, q Querier, name string) (Schedule, error) {
	var last, next string
	err := q.QueryRowContext(ctx, `SELECT last_at, next_at FROM schedules WHERE name = ?`, name).Scan(&last, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return Schedule{}, fmt.Errorf("schedule %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Schedule{}, fmt.Errorf("loading schedule %s: %w", name, err)
	}
	return Schedule{Name: name, LastAt: parseTime(last), NextAt: parseTime(next)}, nil
}

// Schedules returns every schedule ordered by name.
func (db *DB) Schedules(ctx context.Context, q Querier) ([]Schedule, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, last_at, next_at FROM schedules ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("loading schedules: %w", err)
	}
	defer rows.Close()
	var out []Schedule
	for rows.Next() {
		var s Schedule
		var last, next string
		if err := rows.Scan(&s.Name, &last, &next); err != nil {
			return nil, fmt.Errorf("loading schedules: %w", err)
		}
		s.LastAt, s.NextAt = parseTime(last), parseTime(next)
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetSchedule stores when a schedule last fired and next fires.
func (db *DB) SetSchedule(ctx context.Context, tx *sql.Tx, s Schedule) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO schedules (name, last_at, next_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET last_at = excluded.last_at, next_at = excluded.next_at`,
		s.Name, optionalTimestamp(s.LastAt), optionalTimestamp(s.NextAt))
	if err != nil {
		return fmt.Errorf("storing schedule %s: %w", s.Name, err)
	}
	return nil
}

// AddSchedule stores a schedule unless one of that name exists, and
// reports whether it did.
func (db *DB) AddSchedule(ctx context.Context, tx *sql.Tx, s Schedule) (bool, error) {
	result, err := tx.ExecContext(ctx, `INSERT INTO schedules (name, last_at, next_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, s.Name, optionalTimestamp(s.LastAt), optionalTimestamp(s.NextAt))
	if err != nil {
		return false, fmt.Errorf("adding schedule %s: %w", s.Name, err)
	}
	n, _ := result.RowsAffected()
	return n == 1, nil
}

// AdvanceSchedule moves a schedule on to s.LastAt and s.NextAt if its
// next run is still due, and reports whether it did. due is the NextAt the
// caller read, so of two callers that read the same due run only one
// advances it.
func (db *DB) AdvanceSchedule(ctx context.Context, tx *sql.Tx, due time.Time, s Schedule) (bool, error) {
	result, err := tx.ExecContext(ctx, `UPDATE schedules SET last_at = ?, next_at = ? WHERE name = ? AND next_at = ?`,
		optionalTimestamp(s.LastAt), optionalTimestamp(s.NextAt), s.Name, optionalTimestamp(due))
	if err != nil {
		return false, fmt.Errorf("advancing schedule %s: %w", s.Name, err)
	}
	n, _ := result.RowsAffected()
	return n == 1, nil
}

// AuditByAction returns a request's audit entries with the given action,
// oldest first, read through q so a caller inside a transaction can use
// it.
func (db *DB) AuditByAction(ctx context.Context, q Querier, requestID int64, action string) ([]AuditEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, request_id, at, actor, action, detail, delivery_id, prev_hash, hash
		FROM audit WHERE request_id = ? AND action = ? ORDER BY id`, requestID, action)
	if err != nil {
		return nil, fmt.Errorf("reading %q audit entries of request %d: %w", action, requestID, err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &e.RequestID, &at, &e.Actor, &e.Action, &e.Detail, &e.DeliveryID, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("reading %q audit entries of request %d: %w", action, requestID, err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// optionalTimestamp formats t, or returns "" for the zero time.
func optionalTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return timestamp(t)
}
