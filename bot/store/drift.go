package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DriftScore is one feature's scores in one drift report. A score the
// detector did not send is nil.
type DriftScore struct {
	ID      int64
	Model   string
	Feature string
	// KS is the Kolmogorov-Smirnov statistic D and KSPValue its p-value.
	KS       *float64
	KSPValue *float64
	PSI      *float64
	KL       *float64
	// Drifted records whether the score crossed a threshold.
	Drifted bool
	// RequestID is the retraining request the report opened or was
	// attached to, or 0 when the report found no drift.
	RequestID int64
	// ReportedAt is shared by every row of one report.
	ReportedAt time.Time
}

const driftColumns = `id, model, feature, ks, ks_p, psi, kl, drifted, request_id, reported_at`

func scanDriftScore(row interface{ Scan(...any) error }) (DriftScore, error) {
	var s DriftScore
	var ks, ksP, psi, kl sql.NullFloat64
	var reported string
	err := row.Scan(&s.ID, &s.Model, &s.Feature, &ks, &ksP, &psi, &kl, &s.Drifted, &s.RequestID, &reported)
	s.KS, s.KSPValue, s.PSI, s.KL = nullable(ks), nullable(ksP), nullable(psi), nullable(kl)
	s.ReportedAt = parseTime(reported)
	return s, err
}

func nullable(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

func nullFloat(v *float64) sql.NullFloat64 {
	if v == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *v, Valid: true}
}

// InsertDriftScores stores the rows of one report, each with the report
// time at.
func (db *DB) InsertDriftScores(ctx context.Context, tx *sql.Tx, at time.Time, scores []DriftScore) error {
	for _, s := range scores {
		_, err := tx.ExecContext(ctx, `INSERT INTO drift_scores (model, feature, ks, ks_p, psi, kl, drifted, request_id, reported_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.Model, s.Feature, nullFloat(s.KS), nullFloat(s.KSPValue), nullFloat(s.PSI),
			nullFloat(s.KL), s.Drifted, s.RequestID, timestamp(at))
		if err != nil {
			return fmt.Errorf("storing drift score of %s/%s: %w", s.Model, s.Feature, err)
		}
	}
	return nil
}

func (db *DB) driftScores(ctx context.Context, q Querier, subject, query string, args ...any) ([]DriftScore, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+driftColumns+` FROM drift_scores `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", subject, err)
	}
	defer rows.Close()
	var out []DriftScore
	for rows.Next() {
		s, err := scanDriftScore(rows)
		if err != nil {
			return nil, fmt.Errorf("loading %s: %w", subject, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading %s: %w", subject, err)
	}
	return out, nil
}

// RequestDriftScores returns the scores of every report attached to a
// request, oldest report first.
func (db *DB) RequestDriftScores(ctx context.Context, q Querier, requestID int64) ([]DriftScore, error) {
	return db.driftScores(ctx, q, fmt.Sprintf("drift scores of request %d", requestID),
		`WHERE request_id = ? ORDER BY reported_at, id`, requestID)
}

// LatestModelDriftScores returns the rows of the newest report on a
// model, or none.
func (db *DB) LatestModelDriftScores(ctx context.Context, q Querier, model string) ([]DriftScore, error) {
	return db.driftScores(ctx, q, "drift scores of "+model,
		`WHERE model = ? AND reported_at = (SELECT MAX(reported_at) FROM drift_scores WHERE model = ?) ORDER BY id`, model, model)
}

// LatestDriftScores returns the rows of the newest report on each model,
// for the drift gauges.
func (db *DB) LatestDriftScores(ctx context.Context) ([]DriftScore, error) {
	return db.driftScores(ctx, db.SQL, "latest drift scores",
		`AS d WHERE reported_at = (SELECT MAX(reported_at) FROM drift_scores WHERE model = d.model) ORDER BY model, id`)
}

// FirstDriftReport returns the time of the oldest report on a model, and
// false when there is none.
func (db *DB) FirstDriftReport(ctx context.Context, q Querier, model string) (time.Time, bool, error) {
	var at sql.NullString
	err := q.QueryRowContext(ctx, `SELECT MIN(reported_at) FROM drift_scores WHERE model = ?`, model).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("loading the first drift report of %s: %w", model, err)
	}
	return parseTime(at.String), at.Valid, nil
}

// LastRequestOpened returns when the newest request for target opened, in
// any state, and false when there is none.
func (db *DB) LastRequestOpened(ctx context.Context, q Querier, target string) (time.Time, bool, error) {
	var at string
	err := q.QueryRowContext(ctx, `SELECT created_at FROM requests WHERE target = ? ORDER BY id DESC LIMIT 1`, target).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("loading the last request for %s: %w", target, err)
	}
	return parseTime(at), true, nil
}

// ActiveRequestsForTarget returns every request for target that has not
// ended, the queued ones included, oldest first.
func (db *DB) ActiveRequestsForTarget(ctx context.Context, q Querier, target string) ([]Request, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE target = ? AND state NOT IN ('done', 'rejected', 'cancelled') ORDER BY id`, target)
	if err != nil {
		return nil, fmt.Errorf("listing requests for %s: %w", target, err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("listing requests for %s: %w", target, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
