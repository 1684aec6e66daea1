package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// defaultHistoryLimit is how many messages conversations.history returns
// without a limit argument.
const defaultHistoryLimit = 100

// serveHistory serves conversations.history: the messages posted to the
// channel, newest first, with their metadata when include_all_metadata is
// set. Updates are not applied, and cursors, oldest and latest are ignored,
// so has_more is set when messages past limit were left out.
func (f *Fake) serveHistory(w http.ResponseWriter, r *http.Request) {
	request, err := readAPIRequest(w, r)
	if err != nil {
		f.record(fmt.Sprintf("conversations.history → invalid_arguments (%v)", err))
		writeAPIError(w, "invalid_arguments")
		return
	}
	channel := request.get("channel")
	call := "conversations.history " + channel
	if code := f.checkToken(request.token); code != "" {
		f.record(call + " → " + code)
		writeAPIError(w, code)
		return
	}
	if channel == "" {
		f.record(call + " → channel_not_found")
		writeAPIError(w, "channel_not_found")
		return
	}
	limit, err := strconv.Atoi(request.get("limit"))
	if err != nil || limit <= 0 {
		limit = defaultHistoryLimit
	}
	withMetadata := request.get("include_all_metadata") == "1" || request.get("include_all_metadata") == "true"

	f.mu.Lock()
	f.calls = append(f.calls, call)
	messages := []map[string]any{}
	hasMore := false
	for i := len(f.messages) - 1; i >= 0; i-- {
		m := f.messages[i]
		if m.Channel != channel {
			continue
		}
		if len(messages) == limit {
			hasMore = true
			break
		}
		entry := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if withMetadata && len(m.Metadata) > 0 {
			entry["metadata"] = json.RawMessage(m.Metadata)
		}
		messages = append(messages, entry)
	}
	f.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": messages, "has_more": hasMore})
}
