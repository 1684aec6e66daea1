-- +goose Up
-- Deliveries are stored before they are acknowledged; processing runs from here.
CREATE TABLE deliveries (
    id           TEXT PRIMARY KEY,      -- "github:<X-GitHub-Delivery>" or "slack:<trigger_id>"
    source       TEXT NOT NULL,         -- github | slack
    event        TEXT NOT NULL,
    action       TEXT NOT NULL DEFAULT '',
    installation_id INTEGER NOT NULL DEFAULT 0,
    payload      BLOB NOT NULL,
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    outcome      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    sop_id          TEXT NOT NULL,
    sop_revision    TEXT NOT NULL,
    sop_source      TEXT NOT NULL,         -- the SOP file the request was opened under
    target          TEXT NOT NULL,
    state           TEXT NOT NULL,
    params          TEXT NOT NULL,         -- JSON object
    requester_login TEXT NOT NULL DEFAULT '',
    requester_slack TEXT NOT NULL DEFAULT '',
    origin          TEXT NOT NULL,         -- JSON of the command's reply address
    installation_id INTEGER NOT NULL DEFAULT 0,
    issue_number    INTEGER,
    issue_url       TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    result          TEXT NOT NULL DEFAULT '',  -- JSON of the action's outcome
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- One open request per target: a second command for the same target finds the first.
CREATE UNIQUE INDEX requests_open_target ON requests (target)
    WHERE state NOT IN ('done', 'rejected', 'cancelled');
CREATE UNIQUE INDEX requests_issue ON requests (issue_number) WHERE issue_number IS NOT NULL;

CREATE TABLE items (
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    key         TEXT NOT NULL,
    section     TEXT NOT NULL,
    checked     INTEGER NOT NULL DEFAULT 0,
    by_login    TEXT NOT NULL DEFAULT '',
    by_member   TEXT NOT NULL DEFAULT '',   -- the role member the tick counted for
    at          TEXT NOT NULL DEFAULT '',
    delivery_id TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, key)
);

CREATE TABLE signoffs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id   INTEGER NOT NULL REFERENCES requests (id),
    member       TEXT NOT NULL,          -- role member, such as "ML lead"
    login        TEXT NOT NULL,
    via          TEXT NOT NULL,          -- checkbox | command | review
    ref          TEXT NOT NULL DEFAULT '', -- review id, comment id or item key
    pr_number    INTEGER NOT NULL DEFAULT 0,
    commit_sha   TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL,
    delivery_id  TEXT NOT NULL DEFAULT '',
    revoked_at   TEXT,
    revoked_why  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX signoffs_request ON signoffs (request_id);

CREATE TABLE pull_requests (
    number     INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests (id),
    head_sha   TEXT NOT NULL DEFAULT '',
    linked_at  TEXT NOT NULL
);

-- The audit trail is append-only; each row carries the hash of the previous one.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id  INTEGER NOT NULL DEFAULT 0,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    delivery_id TEXT NOT NULL DEFAULT '',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_request ON audit (request_id);

-- +goose StatementBegin
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER audit_no_delete;
DROP TRIGGER audit_no_update;
DROP TABLE audit;
DROP TABLE pull_requests;
DROP TABLE signoffs;
DROP TABLE items;
DROP TABLE requests;
DROP TABLE deliveries;
