-- +goose Up
-- GitHub objects (comments with a command, reviews) whose event the bot
-- processed, so the reconciliation sweep can find the ones whose webhook
-- never arrived.
CREATE TABLE seen_objects (
    kind       TEXT NOT NULL,    -- comment | review
    object_id  INTEGER NOT NULL,
    seen_at    TEXT NOT NULL,
    PRIMARY KEY (kind, object_id)
);

-- +goose Down
DROP TABLE seen_objects;
