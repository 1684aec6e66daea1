-- +goose Up
-- The issue or pull request a delivery is about, such as "issue:12", so
-- deliveries about one subject are processed in the order they arrived.
ALTER TABLE deliveries ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_pending_subject ON deliveries (subject) WHERE processed_at IS NULL;

-- +goose Down
DROP INDEX deliveries_pending_subject;
ALTER TABLE deliveries DROP COLUMN subject;
