-- +goose Up
-- The outcome of the bot's own check for an item: passed, failed or
-- not-applicable (the check cannot decide, so people tick the box).
ALTER TABLE items ADD COLUMN check_state TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE items DROP COLUMN check_state;
