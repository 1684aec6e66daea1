package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Delivery is one inbound webhook or Slack request, stored before it is
// acknowledged.
type Delivery struct {
	ID             string
	Source         string
	Event          string
	Action         string
	InstallationID int64
	// Subject is the issue or pull request the delivery is about, such as
	// "issue:12"; empty when ordering does not matter.
	Subject     string
	Payload     []byte
	ReceivedAt  time.Time
	ProcessedAt time.Time
	Outcome     string
}

// InsertDelivery stores d unless a delivery with its id exists. It reports
// whether the row is new.
func (db *DB) InsertDelivery(ctx context.Context, tx *sql.Tx, d Delivery) (bool, error) {
	return insertDelivery(ctx, tx, d, timestamp(db.Now()))
}

func insertDelivery(ctx context.Context, tx *sql.Tx, d Delivery, received string) (bool, error) {
	result, err := tx.ExecContext(ctx, `INSERT INTO deliveries
		(id, source, event, action, installation_id, subject, payload, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		d.ID, d.Source, d.Event, d.Action, d.InstallationID, d.Subject, d.Payload, received)
	if err != nil {
		return false, fmt.Errorf("storing delivery %s: %w", d.ID, err)
	}
	n, err := result.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storing delivery %s: %w", d.ID, err)
	}
	return n == 1, nil
}

// InsertDeliveries stores each of ds whose id is not stored yet and
// reports for each whether its row is new. When one id appears more than
// once in ds, only its first occurrence can be new. Every row runs the
// same statement, so a connection that keeps prepared statements parses
// it once.
func (db *DB) InsertDeliveries(ctx context.Context, tx *sql.Tx, ds []Delivery) ([]bool, error) {
	fresh := make([]bool, len(ds))
	received := timestamp(db.Now())
	for i, d := range ds {
		isNew, err := insertDelivery(ctx, tx, d, received)
		if err != nil {
			return nil, err
		}
		fresh[i] = isNew
	}
	return fresh, nil
}

// GetDelivery loads one delivery.
func (db *DB) GetDelivery(ctx context.Context, tx *sql.Tx, id string) (Delivery, error) {
	var d Delivery
	var received string
	var processed sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT id, source, event, action, installation_id, subject, payload,
		received_at, processed_at, outcome FROM deliveries WHERE id = ?`, id).
		Scan(&d.ID, &d.Source, &d.Event, &d.Action, &d.InstallationID, &d.Subject, &d.Payload, &received, &processed, &d.Outcome)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("delivery %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("loading delivery %s: %w", id, err)
	}
	d.ReceivedAt = parseTime(received)
	if processed.Valid {
		d.ProcessedAt = parseTime(processed.String)
	}
	return d, nil
}

// MarkProcessed records the outcome of processing a delivery.
func (db *DB) MarkProcessed(ctx context.Context, tx *sql.Tx, id, outcome string) error {
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET processed_at = ?, outcome = ? WHERE id = ?`,
		timestamp(db.Now()), outcome, id)
	if err != nil {
		return fmt.Errorf("marking delivery %s processed: %w", id, err)
	}
	return nil
}

// CountDeliveries returns how many deliveries are stored and how many of
// them are processed.
func (db *DB) CountDeliveries(ctx context.Context) (total, processed int, err error) {
	err = db.SQL.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(processed_at) FROM deliveries`).Scan(&total, &processed)
	if err != nil {
		return 0, 0, fmt.Errorf("counting deliveries: %w", err)
	}
	return total, processed, nil
}

// EarlierPendingIDs returns the unprocessed deliveries about subject that
// arrived before id, oldest first. A delivery without a subject is not
// ordered, so it has none.
func (db *DB) EarlierPendingIDs(ctx context.Context, id, subject string) ([]string, error) {
	if subject == "" {
		return nil, nil
	}
	rows, err := db.SQL.QueryContext(ctx, `SELECT id FROM deliveries WHERE subject = ? AND processed_at IS NULL
		AND rowid < (SELECT rowid FROM deliveries WHERE id = ?) ORDER BY rowid`, subject, id)
	if err != nil {
		return nil, fmt.Errorf("listing deliveries before %s: %w", id, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var earlier string
		if err := rows.Scan(&earlier); err != nil {
			return nil, fmt.Errorf("listing deliveries before %s: %w", id, err)
		}
		ids = append(ids, earlier)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing deliveries before %s: %w", id, err)
	}
	return ids, nil
}
