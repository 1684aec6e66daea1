package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

func (f *Fake) serveUpdate(w http.ResponseWriter, r *http.Request) {
	request, err := readAPIRequest(w, r)
	if err != nil {
		f.record(fmt.Sprintf("chat.update → invalid_arguments (%v)", err))
		writeAPIError(w, "invalid_arguments")
		return
	}

	channel, ts := request.get("channel"), request.get("ts")
	text, blocks := request.get("text"), request.raw("blocks")
	call := fmt.Sprintf("chat.update %s %s %s", channel, ts, quoteText(text))
	code := f.checkMessage(request.token, channel, text, blocks)
	if code == "" && !f.posted(channel, ts) {
		code = "message_not_found"
	}
	if code != "" {
		f.record(call + " → " + code)
		writeAPIError(w, code)
		return
	}

	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.updates = append(f.updates, PostedMessage{Channel: channel, TS: ts, Text: text, Blocks: blocks})
	f.mu.Unlock()

	writeJSON(w, http.StatusOK, map[string]any{
		"ok":      true,
		"channel": channel,
		"ts":      ts,
		"text":    text,
		"message": map[string]any{"type": "message", "text": text, "ts": ts},
	})
}

// posted reports whether chat.postMessage accepted a message with ts in
// channel.
func (f *Fake) posted(channel, ts string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.messages {
		if m.Channel == channel && m.TS == ts {
			return true
		}
	}
	return false
}

// serveViewsOpen accepts a modal for a trigger_id that it has not seen
// before. Slack also expires a trigger three seconds after the
// interaction, but the fake does not.
func (f *Fake) serveViewsOpen(w http.ResponseWriter, r *http.Request) {
	request, err := readAPIRequest(w, r)
	if err != nil {
		f.record(fmt.Sprintf("views.open → invalid_arguments (%v)", err))
		writeAPIError(w, "invalid_arguments")
		return
	}

	trigger, view := request.get("trigger_id"), request.raw("view")
	var opened map[string]any
	viewErr := json.Unmarshal(view, &opened)
	callbackID, _ := opened["callback_id"].(string)
	call := strings.TrimSpace("views.open " + callbackID)

	code := f.checkToken(request.token)
	if code == "" && (trigger == "" || viewErr != nil || opened == nil) {
		// Slack names the bad argument only in response_metadata.
		code = "invalid_arguments"
	}
	if code == "" && !f.useTrigger(trigger) {
		code = "exchanged_trigger_id"
	}
	if code != "" {
		f.record(call + " → " + code)
		writeAPIError(w, code)
		return
	}

	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.views = append(f.views, view)
	id := fmt.Sprintf("V%08d", len(f.views))
	f.mu.Unlock()

	// The response holds the view as sent, with the ids and hash that
	// Slack adds.
	opened["id"] = id
	opened["root_view_id"] = id
	opened["hash"] = "1700000000." + id
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "view": opened})
}

// useTrigger marks trigger as exchanged. It returns false when it was
// already.
func (f *Fake) useTrigger(trigger string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.usedTriggers[trigger] {
		return false
	}
	f.usedTriggers[trigger] = true
	return true
}

func (f *Fake) serveUsersInfo(w http.ResponseWriter, r *http.Request) {
	request, err := readAPIRequest(w, r)
	if err != nil {
		f.record(fmt.Sprintf("users.info → invalid_arguments (%v)", err))
		writeAPIError(w, "invalid_arguments")
		return
	}

	id := request.get("user")
	call := "users.info " + id
	f.mu.Lock()
	email, known := f.users[id]
	f.mu.Unlock()

	code := f.checkToken(request.token)
	if code == "" && !known {
		code = "user_not_found"
	}
	if code != "" {
		f.record(call + " → " + code)
		writeAPIError(w, code)
		return
	}

	f.record(call)
	profile := map[string]any{}
	if email != "" {
		profile["email"] = email
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": map[string]any{"id": id, "profile": profile}})
}
