-- +goose Up
-- A request's revision is a hash of its parameters and of the evidence the
-- bot gathered; a sign-off records the revision it approved.
ALTER TABLE requests ADD COLUMN revision TEXT NOT NULL DEFAULT '';
ALTER TABLE signoffs ADD COLUMN revision TEXT NOT NULL DEFAULT '';

-- A request for a target that another request holds waits in state
-- "queued" behind it; only one request per target is active.
ALTER TABLE requests ADD COLUMN queued_behind INTEGER NOT NULL DEFAULT 0;
DROP INDEX requests_open_target;
CREATE UNIQUE INDEX requests_active_target ON requests (target)
    WHERE state NOT IN ('done', 'rejected', 'cancelled', 'queued');

-- +goose Down
DROP INDEX requests_active_target;
CREATE UNIQUE INDEX requests_open_target ON requests (target)
    WHERE state NOT IN ('done', 'rejected', 'cancelled');
ALTER TABLE requests DROP COLUMN queued_behind;
ALTER TABLE signoffs DROP COLUMN revision;
ALTER TABLE requests DROP COLUMN revision;
