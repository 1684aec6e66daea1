-- +goose Up
-- The Slack message with Approve and Reject buttons posted for a request's
-- approval gate, so the bot can update it when the gate resolves.
CREATE TABLE gate_messages (
    request_id INTEGER PRIMARY KEY REFERENCES requests (id),
    channel    TEXT NOT NULL,
    ts         TEXT NOT NULL,
    posted_at  TEXT NOT NULL
);

-- +goose Down
DROP TABLE gate_messages;
