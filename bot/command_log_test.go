package bot_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRejectedCommandLogNamesUserNotText(t *testing.T) {
	h := newHarness(t)
	var logs bytes.Buffer
	h.engine.Log = slog.New(slog.NewJSONHandler(&logs, nil))

	reply := h.commandReply("alice", "status R-secret-words")
	require.NotEmpty(t, reply)

	var entry map[string]any
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(logs.Bytes()), &entry), "one JSON line: %s", logs.String())
	assert.Equal(t, "command rejected", entry["msg"])
	assert.Equal(t, "alice", entry["user"])
	assert.NotEmpty(t, entry["usage"], "the log names the command's usage")
	assert.NotContains(t, logs.String(), "secret-words", "the log does not quote what the user typed")
}
