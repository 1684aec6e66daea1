-- +goose Up
-- One row per infra action of a request: its state, the progress it saved
-- between polls, and its outcome.
CREATE TABLE action_runs (
    request_id  INTEGER NOT NULL REFERENCES requests (id),
    action      TEXT NOT NULL,
    state       TEXT NOT NULL,           -- queued | running | succeeded | failed
    target      TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    progress    TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    queued_at   TEXT NOT NULL,
    started_at  TEXT NOT NULL DEFAULT '',
    finished_at TEXT NOT NULL DEFAULT '',
    heartbeat   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (request_id, action)
);

-- The action that holds a target, such as a namespace or a secret. Two
-- actions on one target never run at the same time.
CREATE TABLE target_locks (
    target      TEXT PRIMARY KEY,
    request_id  INTEGER NOT NULL,
    action      TEXT NOT NULL,
    acquired_at TEXT NOT NULL
);

-- The project inventory that SOP-01 fills.
CREATE TABLE projects (
    name          TEXT PRIMARY KEY,
    team          TEXT NOT NULL,
    cost_center   TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    experiment_id TEXT NOT NULL DEFAULT '',
    pipeline_run  TEXT NOT NULL DEFAULT '',
    request_id    INTEGER NOT NULL,
    onboarded_at  TEXT NOT NULL,
    last_run_at   TEXT NOT NULL DEFAULT '',
    audited_at    TEXT NOT NULL DEFAULT ''
);

-- The secret inventory that SOP-04 keeps: one row per logical secret,
-- with the Kubernetes secret that currently holds it.
CREATE TABLE secrets (
    name          TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    current       TEXT NOT NULL,
    service       TEXT NOT NULL DEFAULT '',
    deployment    TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    last_rotated  TEXT NOT NULL DEFAULT '',
    last_request  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, name)
);

-- Drift scores reported by detectors.
CREATE TABLE drift_scores (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    model       TEXT NOT NULL,
    feature     TEXT NOT NULL,
    ks          REAL,
    ks_p        REAL,
    psi         REAL,
    kl          REAL,
    drifted     INTEGER NOT NULL,
    request_id  INTEGER NOT NULL DEFAULT 0,
    reported_at TEXT NOT NULL
);
CREATE INDEX drift_scores_model ON drift_scores (model, reported_at);

-- Recurring work: when each schedule last fired and next fires.
CREATE TABLE schedules (
    name     TEXT PRIMARY KEY,
    last_at  TEXT NOT NULL DEFAULT '',
    next_at  TEXT NOT NULL
);

-- +goose Down
DROP TABLE schedules;
DROP TABLE drift_scores;
DROP TABLE secrets;
DROP TABLE projects;
DROP TABLE target_locks;
DROP TABLE action_runs;
