package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Item is the stored state of one checklist entry of a request.
type Item struct {
	RequestID  int64
	Key        string
	Section    string
	Checked    bool
	ByLogin    string
	ByMember   string
	At         time.Time
	DeliveryID string
	Evidence   string
	// CheckState is the outcome of the bot's own check for the item, if it
	// has one: "passed", "failed" or "not-applicable".
	CheckState string
}

// InsertItems stores the unticked checklist of a new request.
func (db *DB) InsertItems(ctx context.Context, tx *sql.Tx, requestID int64, items []Item) error {
	for _, item := range items {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (request_id, key, section) VALUES (?, ?, ?)`,
			requestID, item.Key, item.Section)
		if err != nil {
			return fmt.Errorf("storing item %s of request %d: %w", item.Key, requestID, err)
		}
	}
	return nil
}

// Items returns a request's checklist keyed by item key.
func (db *DB) Items(ctx context.Context, tx *sql.Tx, requestID int64) (map[string]Item, error) {
	rows, err := tx.QueryContext(ctx, `SELECT key, section, checked, by_login, by_member, at, delivery_id, evidence,
		check_state FROM items WHERE request_id = ?`, requestID)
	if err != nil {
		return nil, fmt.Errorf("loading items of request %d: %w", requestID, err)
	}
	defer rows.Close()
	items := map[string]Item{}
	for rows.Next() {
		item := Item{RequestID: requestID}
		var at string
		if err := rows.Scan(&item.Key, &item.Section, &item.Checked, &item.ByLogin, &item.ByMember,
			&at, &item.DeliveryID, &item.Evidence, &item.CheckState); err != nil {
			return nil, fmt.Errorf("loading items of request %d: %w", requestID, err)
		}
		item.At = parseTime(at)
		items[item.Key] = item
	}
	return items, rows.Err()
}

// SetItem records a tick or untick.
func (db *DB) SetItem(ctx context.Context, tx *sql.Tx, item Item) error {
	at := ""
	if item.Checked {
		at = timestamp(db.Now())
	}
	result, err := tx.ExecContext(ctx, `UPDATE items SET checked = ?, by_login = ?, by_member = ?, at = ?,
		delivery_id = ?, evidence = ? WHERE request_id = ? AND key = ?`,
		item.Checked, item.ByLogin, item.ByMember, at, item.DeliveryID, item.Evidence, item.RequestID, item.Key)
	if err != nil {
		return fmt.Errorf("recording item %s of request %d: %w", item.Key, item.RequestID, err)
	}
	if n, _ := result.RowsAffected(); n != 1 {
		return fmt.Errorf("recording item %s of request %d: %w", item.Key, item.RequestID, ErrNotFound)
	}
	return nil
}

// SetCheckState records the outcome of the bot's check for an item.
func (db *DB) SetCheckState(ctx context.Context, tx *sql.Tx, requestID int64, key, state string) error {
	_, err := tx.ExecContext(ctx, `UPDATE items SET check_state = ? WHERE request_id = ? AND key = ?`, state, requestID, key)
	if err != nil {
		return fmt.Errorf("recording check state of item %s of request %d: %w", key, requestID, err)
	}
	return nil
}

// Signoff is one sign-off of a role member on a request.
type Signoff struct {
	ID         int64
	RequestID  int64
	Member     string
	Login      string
	Via        string // checkbox | command | review
	Ref        string
	PRNumber   int
	CommitSHA  string
	At         time.Time
	DeliveryID string
	Revoked    bool
	RevokedWhy string
	// Revision is the request revision the sign-off approved.
	Revision string
}

// InsertSignoff records a sign-off.
func (db *DB) InsertSignoff(ctx context.Context, tx *sql.Tx, s Signoff) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signoffs
		(request_id, member, login, via, ref, pr_number, commit_sha, at, delivery_id, revision)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.RequestID, s.Member, s.Login, s.Via, s.Ref, s.PRNumber, s.CommitSHA, timestamp(db.Now()), s.DeliveryID, s.Revision)
	if err != nil {
		return fmt.Errorf("recording sign-off of %s on request %d: %w", s.Login, s.RequestID, err)
	}
	return nil
}

// ActiveSignoffs returns the request's sign-offs that are not revoked,
// oldest first.
func (db *DB) ActiveSignoffs(ctx context.Context, tx *sql.Tx, requestID int64) ([]Signoff, error) {
	return db.signoffs(ctx, tx, `request_id = ? AND revoked_at IS NULL`, requestID)
}

// AllSignoffs returns every sign-off of the request, revoked ones included.
func (db *DB) AllSignoffs(ctx context.Context, tx *sql.Tx, requestID int64) ([]Signoff, error) {
	return db.signoffs(ctx, tx, `request_id = ?`, requestID)
}

func (db *DB) signoffs(ctx context.Context, tx *sql.Tx, where string, args ...any) ([]Signoff, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, request_id, member, login, via, ref, pr_number, commit_sha,
		at, delivery_id, revoked_at IS NOT NULL, revoked_why, revision FROM signoffs WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("loading sign-offs: %w", err)
	}
	defer rows.Close()
	var out []Signoff
	for rows.Next() {
		var s Signoff
		var at string
		if err := rows.Scan(&s.ID, &s.RequestID, &s.Member, &s.Login, &s.Via, &s.Ref, &s.PRNumber,
			&s.CommitSHA, &at, &s.DeliveryID, &s.Revoked, &s.RevokedWhy, &s.Revision); err != nil {
			return nil, fmt.Errorf("loading sign-offs: %w", err)
		}
		s.At = parseTime(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// RevokeSignoff marks one sign-off revoked.
func (db *DB) RevokeSignoff(ctx context.Context, tx *sql.Tx, id int64, why string) error {
	_, err := tx.ExecContext(ctx, `UPDATE signoffs SET revoked_at = ?, revoked_why = ? WHERE id = ? AND revoked_at IS NULL`,
		timestamp(db.Now()), why, id)
	if err != nil {
		return fmt.Errorf("revoking sign-off %d: %w", id, err)
	}
	return nil
}

// LinkPullRequest links a pull request to a request, or updates its head.
func (db *DB) LinkPullRequest(ctx context.Context, tx *sql.Tx, number int, requestID int64, head string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO pull_requests (number, request_id, head_sha, linked_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET request_id = excluded.request_id,
		head_sha = excluded.head_sha`, number, requestID, head, timestamp(db.Now()))
	if err != nil {
		return fmt.Errorf("linking pull request #%d to request %d: %w", number, requestID, err)
	}
	return nil
}

// PullRequestLink returns the request linked to a pull request and the head
// commit recorded for it.
func (db *DB) PullRequestLink(ctx context.Context, tx *sql.Tx, number int) (requestID int64, head string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT request_id, head_sha FROM pull_requests WHERE number = ?`, number).
		Scan(&requestID, &head)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", ErrNotFound
	}
	if err != nil {
		return 0, "", fmt.Errorf("loading link of pull request #%d: %w", number, err)
	}
	return requestID, head, nil
}

// PullRequestsByHead returns the linked pull requests whose recorded head
// is sha.
func (db *DB) PullRequestsByHead(ctx context.Context, tx *sql.Tx, sha string) ([]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT number FROM pull_requests WHERE head_sha = ? ORDER BY number`, sha)
	if err != nil {
		return nil, fmt.Errorf("finding pull requests with head %s: %w", sha, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("finding pull requests with head %s: %w", sha, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkSeen records that the event of a GitHub object (a comment with a
// command, a review) was processed.
func (db *DB) MarkSeen(ctx context.Context, tx *sql.Tx, kind string, id int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO seen_objects (kind, object_id, seen_at) VALUES (?, ?, ?)
		ON CONFLICT (kind, object_id) DO NOTHING`, kind, id, timestamp(db.Now()))
	if err != nil {
		return fmt.Errorf("recording %s %d: %w", kind, id, err)
	}
	return nil
}

// Seen reports whether the event of a GitHub object was processed.
func (db *DB) Seen(ctx context.Context, kind string, id int64) (bool, error) {
	var n int
	if err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM seen_objects WHERE kind = ? AND object_id = ?`, kind, id).Scan(&n); err != nil {
		return false, fmt.Errorf("reading %s %d: %w", kind, id, err)
	}
	return n > 0, nil
}

// CountAudit counts a request's audit rows with the given action.
func (db *DB) CountAudit(ctx context.Context, tx *sql.Tx, requestID int64, action string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE request_id = ? AND action = ?`, requestID, action).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting audit rows of request %d: %w", requestID, err)
	}
	return n, nil
}

// LinkedPullRequest is a pull request linked to a request, with the head
// the bot last saw.
type LinkedPullRequest struct {
	Number int
	Head   string
}

// LinkedPullRequests returns the pull requests linked to a request.
func (db *DB) LinkedPullRequests(ctx context.Context, tx *sql.Tx, requestID int64) ([]LinkedPullRequest, error) {
	rows, err := tx.QueryContext(ctx, `SELECT number, head_sha FROM pull_requests WHERE request_id = ? ORDER BY number`, requestID)
	if err != nil {
		return nil, fmt.Errorf("listing pull requests of request %d: %w", requestID, err)
	}
	defer rows.Close()
	var out []LinkedPullRequest
	for rows.Next() {
		var pr LinkedPullRequest
		if err := rows.Scan(&pr.Number, &pr.Head); err != nil {
			return nil, fmt.Errorf("listing pull requests of request %d: %w", requestID, err)
		}
		out = append(out, pr)
	}
	return out, rows.Err()
}

// PendingForSubject reports whether any delivery about subject is still
// unprocessed.
func (db *DB) PendingForSubject(ctx context.Context, subject string) (bool, error) {
	var n int
	err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE subject = ? AND processed_at IS NULL`, subject).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("checking pending deliveries of %s: %w", subject, err)
	}
	return n > 0, nil
}

// riverTime formats t to compare with River's timestamps, which the SQLite
// driver stores as text starting "2006-01-02 15:04:05".
func riverTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// LiveJob reports whether a job of kind for the request is waiting,
// retrying, or running and attempted after since.
func (db *DB) LiveJob(ctx context.Context, kind string, requestID int64, since time.Time) (bool, error) {
	var n int
	err := db.SQL.QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = ?
		AND json_extract(json(args), '$.request_id') = ?
		AND (state IN ('available', 'scheduled', 'retryable', 'pending')
		     OR (state = 'running' AND attempted_at > ?))`, kind, requestID, riverTime(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("checking %s jobs of request %d: %w", kind, requestID, err)
	}
	return n > 0, nil
}

// SaveGateMessage records the Slack message posted for a request's gate.
func (db *DB) SaveGateMessage(ctx context.Context, tx *sql.Tx, requestID int64, channel, ts string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO gate_messages (request_id, channel, ts, posted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (request_id) DO UPDATE SET channel = excluded.channel, ts = excluded.ts`,
		requestID, channel, ts, timestamp(db.Now()))
	if err != nil {
		return fmt.Errorf("recording the gate message of request %d: %w", requestID, err)
	}
	return nil
}

// GateMessage returns the Slack channel and timestamp of a request's gate
// message; ok is false when none was posted.
func (db *DB) GateMessage(ctx context.Context, tx *sql.Tx, requestID int64) (channel, ts string, ok bool, err error) {
	err = tx.QueryRowContext(ctx, `SELECT channel, ts FROM gate_messages WHERE request_id = ?`, requestID).Scan(&channel, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("reading the gate message of request %d: %w", requestID, err)
	}
	return channel, ts, true, nil
}
