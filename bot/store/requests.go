package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTargetBusy is returned when an open request already holds the target.
var ErrTargetBusy = errors.New("an open request exists for this target")

// Request is one run of an SOP.
type Request struct {
	ID             int64
	SOPID          string
	SOPRevision    string
	SOPSource      string
	Target         string
	State          string
	Params         map[string]string
	RequesterLogin string
	RequesterSlack string
	Origin         Origin
	InstallationID int64
	IssueNumber    int
	IssueURL       string
	Reason         string
	Result         string
	// Revision is the hash of the parameters and the evidence that
	// sign-offs are bound to.
	Revision string
	// QueuedBehind is the request that holds the target while this one
	// waits in state queued.
	QueuedBehind int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Origin is where the command that opened a request came from, so the bot
// can answer there.
type Origin struct {
	Source      string `json:"source"` // slack | github
	ResponseURL string `json:"response_url,omitempty"`
	Channel     string `json:"channel,omitempty"`
	Issue       int    `json:"issue,omitempty"`
	// InstallationID is the GitHub App installation a comment came through.
	InstallationID int64 `json:"installation_id,omitempty"`
	// Note is Markdown posted on the issue once it opens, such as the
	// drift report behind a scheduled request.
	Note string `json:"note,omitempty"`
}

// Terminal reports whether the request can no longer change.
func (r Request) Terminal() bool {
	switch r.State {
	case "done", "rejected", "cancelled":
		return true
	}
	return false
}

// ParamsKey returns a short hash of the parameters, so a check result can
// be matched to the parameters it checked.
func (r Request) ParamsKey() string {
	data, _ := json.Marshal(r.Params) // map keys marshal sorted
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

// Label returns the request's user-facing name, "#<issue>" once the issue
// exists and "R-<id>" before.
func (r Request) Label() string {
	if r.IssueNumber > 0 {
		return fmt.Sprintf("#%d", r.IssueNumber)
	}
	return fmt.Sprintf("R-%d", r.ID)
}

const requestColumns = `id, sop_id, sop_revision, sop_source, target, state, params,
	requester_login, requester_slack, origin, installation_id, issue_number, issue_url,
	reason, result, revision, queued_behind, created_at, updated_at`

// InsertRequest stores a new request and returns its id. It returns
// ErrTargetBusy when another open request holds the same target.
func (db *DB) InsertRequest(ctx context.Context, tx *sql.Tx, r Request) (int64, error) {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return 0, fmt.Errorf("encoding parameters: %w", err)
	}
	origin, err := json.Marshal(r.Origin)
	if err != nil {
		return 0, fmt.Errorf("encoding origin: %w", err)
	}
	now := timestamp(db.Now())
	result, err := tx.ExecContext(ctx, `INSERT INTO requests
		(sop_id, sop_revision, sop_source, target, state, params, requester_login, requester_slack,
		 origin, installation_id, revision, queued_behind, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.SOPID, r.SOPRevision, r.SOPSource, r.Target, r.State, string(params), r.RequesterLogin,
		r.RequesterSlack, string(origin), r.InstallationID, r.Revision, r.QueuedBehind, now, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed: requests.target") {
			return 0, ErrTargetBusy
		}
		return 0, fmt.Errorf("storing request: %w", err)
	}
	return result.LastInsertId()
}

func scanRequest(row interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var params, origin, created, updated string
	var issue sql.NullInt64
	err := row.Scan(&r.ID, &r.SOPID, &r.SOPRevision, &r.SOPSource, &r.Target, &r.State, &params,
		&r.RequesterLogin, &r.RequesterSlack, &origin, &r.InstallationID, &issue, &r.IssueURL,
		&r.Reason, &r.Result, &r.Revision, &r.QueuedBehind, &created, &updated)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
		return r, fmt.Errorf("decoding parameters of request %d: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(origin), &r.Origin); err != nil {
		return r, fmt.Errorf("decoding origin of request %d: %w", r.ID, err)
	}
	r.IssueNumber = int(issue.Int64)
	r.CreatedAt, r.UpdatedAt = parseTime(created), parseTime(updated)
	return r, nil
}

func (db *DB) getRequest(ctx context.Context, tx *sql.Tx, where string, arg any) (Request, error) {
	r, err := scanRequest(tx.QueryRowContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, fmt.Errorf("loading request: %w", err)
	}
	return r, nil
}

// GetRequest loads a request by id.
func (db *DB) GetRequest(ctx context.Context, tx *sql.Tx, id int64) (Request, error) {
	return db.getRequest(ctx, tx, "id = ?", id)
}

// RequestByIssue loads the request whose issue has the given number.
func (db *DB) RequestByIssue(ctx context.Context, tx *sql.Tx, number int) (Request, error) {
	return db.getRequest(ctx, tx, "issue_number = ?", number)
}

// OpenRequestByTarget loads the active request holding target: open, and
// not waiting in the queue.
func (db *DB) OpenRequestByTarget(ctx context.Context, tx *sql.Tx, target string) (Request, error) {
	return db.getRequest(ctx, tx, "target = ? AND state NOT IN ('done', 'rejected', 'cancelled', 'queued')", target)
}

// NextQueued loads the oldest request queued for target.
func (db *DB) NextQueued(ctx context.Context, tx *sql.Tx, target string) (Request, error) {
	return db.getRequest(ctx, tx, "target = ? AND state = 'queued' ORDER BY id LIMIT 1", target)
}

// SetParams replaces a request's parameters.
func (db *DB) SetParams(ctx context.Context, tx *sql.Tx, id int64, params map[string]string) error {
	data, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("encoding parameters: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE requests SET params = ?, updated_at = ? WHERE id = ?`, string(data), timestamp(db.Now()), id); err != nil {
		return fmt.Errorf("updating parameters of request %d: %w", id, err)
	}
	return nil
}

// SetRevision records a request's new revision.
func (db *DB) SetRevision(ctx context.Context, tx *sql.Tx, id int64, revision string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE requests SET revision = ? WHERE id = ?`, revision, id); err != nil {
		return fmt.Errorf("recording revision of request %d: %w", id, err)
	}
	return nil
}

// ActiveRequests returns every request that is neither finished nor
// queued, oldest first.
func (db *DB) ActiveRequests(ctx context.Context) ([]Request, error) {
	rows, err := db.SQL.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests
		WHERE state NOT IN ('done', 'rejected', 'cancelled') ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("listing open requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("listing open requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetIssue records the issue opened for a request.
func (db *DB) SetIssue(ctx context.Context, tx *sql.Tx, id int64, number int, url string) error {
	_, err := tx.ExecContext(ctx, `UPDATE requests SET issue_number = ?, issue_url = ?, updated_at = ? WHERE id = ?`,
		number, url, timestamp(db.Now()), id)
	if err != nil {
		return fmt.Errorf("recording issue #%d for request %d: %w", number, id, err)
	}
	return nil
}

// SetState moves a request to state, with an optional reason.
func (db *DB) SetState(ctx context.Context, tx *sql.Tx, id int64, state, reason string) error {
	_, err := tx.ExecContext(ctx, `UPDATE requests SET state = ?, reason = ?, updated_at = ? WHERE id = ?`,
		state, reason, timestamp(db.Now()), id)
	if err != nil {
		return fmt.Errorf("moving request %d to %s: %w", id, state, err)
	}
	return nil
}

// SetResult records the outcome of the request's action.
func (db *DB) SetResult(ctx context.Context, tx *sql.Tx, id int64, result string) error {
	_, err := tx.ExecContext(ctx, `UPDATE requests SET result = ?, updated_at = ? WHERE id = ?`,
		result, timestamp(db.Now()), id)
	if err != nil {
		return fmt.Errorf("recording result of request %d: %w", id, err)
	}
	return nil
}

// ListRequests returns requests, newest first; all when state is empty.
func (db *DB) ListRequests(ctx context.Context, state string, limit int) ([]Request, error) {
	query := `SELECT ` + requestColumns + ` FROM requests`
	args := []any{}
	if state != "" {
		query += ` WHERE state = ?`
		args = append(args, state)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.SQL.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("listing requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
