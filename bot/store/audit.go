package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuditEntry is one row of the append-only audit trail.
type AuditEntry struct {
	ID         int64
	RequestID  int64
	At         time.Time
	Actor      string
	Action     string
	Detail     string
	DeliveryID string
	PrevHash   string
	Hash       string
}

// genesisHash is the previous-hash value of the first audit row.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AppendAudit appends an entry, chaining it to the previous row's hash.
func (db *DB) AppendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	prev := genesisHash
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading audit chain: %w", err)
	}
	e.At = db.Now()
	e.PrevHash = prev
	e.Hash = e.chainHash()
	_, err = tx.ExecContext(ctx, `INSERT INTO audit (request_id, at, actor, action, detail, delivery_id, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.RequestID, timestamp(e.At), e.Actor, e.Action, e.Detail, e.DeliveryID, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("appending audit entry %q: %w", e.Action, err)
	}
	return nil
}

// chainHash hashes the entry's content and the previous hash. Fields are
// length-prefixed so no two different rows hash alike.
func (e AuditEntry) chainHash() string {
	sum := sha256.New()
	for _, field := range []string{e.PrevHash, strconv.FormatInt(e.RequestID, 10), timestamp(e.At),
		e.Actor, e.Action, e.Detail, e.DeliveryID} {
		fmt.Fprintf(sum, "%d:%s;", len(field), field)
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// Audit returns the audit trail, of one request or of all when requestID
// is zero, oldest first.
func (db *DB) Audit(ctx context.Context, requestID int64) ([]AuditEntry, error) {
	query := `SELECT id, request_id, at, actor, action, detail, delivery_id, prev_hash, hash FROM audit`
	args := []any{}
	if requestID != 0 {
		query += ` WHERE request_id = ?`
		args = append(args, requestID)
	}
	rows, err := db.SQL.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading audit trail: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &e.RequestID, &at, &e.Actor, &e.Action, &e.Detail, &e.DeliveryID,
			&e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("reading audit trail: %w", err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// VerifyAudit walks the whole chain and returns the number of rows, the
// last row (the head), and an error naming the first row whose hash or
// link does not match. Removing the newest rows leaves a valid chain, so
// callers keep the head elsewhere and compare it.
// AuditRowByHash returns the id of the row whose hash starts with prefix,
// or ErrNotFound.
func (db *DB) AuditRowByHash(ctx context.Context, prefix string) (int64, error) {
	var id int64
	err := db.SQL.QueryRowContext(ctx, `SELECT id FROM audit WHERE substr(hash, 1, ?) = ? ORDER BY id LIMIT 1`, len(prefix), prefix).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("audit row with hash %s: %w", prefix, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("finding the audit row with hash %s: %w", prefix, err)
	}
	return id, nil
}

func (db *DB) VerifyAudit(ctx context.Context) (int, AuditEntry, error) {
	entries, err := db.Audit(ctx, 0)
	if err != nil {
		return 0, AuditEntry{}, err
	}
	var head AuditEntry
	if len(entries) > 0 {
		head = entries[len(entries)-1]
	}
	prev := genesisHash
	var problems []string
	for _, e := range entries {
		if e.PrevHash != prev {
			problems = append(problems, fmt.Sprintf("audit row %d: previous-hash link broken (a row before it was altered or removed)", e.ID))
			break
		}
		if e.chainHash() != e.Hash {
			problems = append(problems, fmt.Sprintf("audit row %d: content does not match its hash (the row was altered)", e.ID))
			break
		}
		prev = e.Hash
	}
	if len(problems) > 0 {
		return len(entries), head, errors.New(strings.Join(problems, "; "))
	}
	return len(entries), head, nil
}
