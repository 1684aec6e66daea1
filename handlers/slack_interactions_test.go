package handlers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
)

// Values of the recorded click in block_actions.replay-fixture.json and of
// the recorded modal submission in slash_command.replay-fixture.json.
const (
	fixtureTriggerID   = "10215325802133.3901254001572.2e2548aa918b35fd85829545c2d4ae2b"
	fixtureResponseURL = "https://hooks.slack.com/actions/T00FAKE00AA/10231680918177/hMWwGmzsWEYbB4BjtNump6kO"
	fixtureChannel     = "C00FAKECHAN1"
	fixtureMessageTS   = "1767326126.896109"
	fixtureViewKey     = "V0AF71PAUQK:1771309947.RiIIx55y"
)

// fixtureObject returns the JSON object at key of a bundle of recorded
// Slack payloads under testdata/slack.
func fixtureObject(t *testing.T, file, key string) map[string]any {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(readFixture(t, "slack", file)))
	decoder.UseNumber()
	var bundle map[string]any
	require.NoError(t, decoder.Decode(&bundle), "decoding %s", file)
	return object(t, bundle, key)
}

// clickPayload returns a block_actions payload derived from the recorded
// button click of block_actions.replay-fixture.json: the same container,
// user, channel, message, response_url, trigger_id, api_app_id and team,
// with its one action turned into a gate button with actionID and value.
// edit, when not nil, changes the payload further. The result is a derived
// fixture, not a recorded delivery.
func clickPayload(t *testing.T, actionID, value string, edit func(payload map[string]any)) map[string]any {
	t.Helper()
	payload := fixtureObject(t, "block_actions.replay-fixture.json", "action")
	actions, ok := payload["actions"].([]any)
	require.True(t, ok && len(actions) == 1, "fixture: one action, got %v", payload["actions"])
	button, ok := actions[0].(map[string]any)
	require.True(t, ok, "fixture: action is an object")
	require.Equal(t, "button", button["type"], "fixture: the action is a button")
	button["action_id"] = actionID
	button["block_id"] = slack.GateBlockID
	button["value"] = value
	button["text"] = map[string]any{"type": "plain_text", "text": "Approve", "emoji": false}
	if edit != nil {
		edit(payload)
	}
	return payload
}

// submissionPayload returns a view_submission payload derived from the
// recorded modal submission in slash_command.replay-fixture.json: the same
// team, user, trigger_id and view, with the view turned into the reject
// modal for ref whose reason input holds reason.
func submissionPayload(t *testing.T, ref, reason string) map[string]any {
	t.Helper()
	payload := fixtureObject(t, "slash_command.replay-fixture.json", "viewSubmission")
	require.Equal(t, "view_submission", payload["type"], "fixture: a view_submission")
	view := object(t, payload, "view")
	view["callback_id"] = slack.RejectCallbackID
	view["private_metadata"] = ref
	view["state"] = map[string]any{"values": map[string]any{
		slack.ReasonBlockID: map[string]any{
			slack.ReasonActionID: map[string]any{"type": "plain_text_input", "value": reason},
		},
	}}
	return payload
}

// interactionBody returns the form body that Slack posts for payload: one
// field, payload, holding its JSON.
func interactionBody(t *testing.T, payload any) []byte {
	t.Helper()
	encoded, err := json.Marshal(payload)
	require.NoError(t, err)
	return []byte(url.Values{"payload": {string(encoded)}}.Encode())
}

// interactionRequest builds an interaction POST signed with secret at Unix
// time ts.
func (h *harness) interactionRequest(t testing.TB, secret string, ts int64, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/slack/interactions", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setSlackSignature(req.Header, secret, ts, body)
	return req
}

func (h *harness) postInteraction(t testing.TB, body []byte) response {
	t.Helper()
	return h.do(t, h.interactionRequest(t, testSlackSecret, testNow.Unix(), body))
}

func TestSlackInteractionStoresClickOnce(t *testing.T) {
	tests := []struct {
		name     string
		actionID string
	}{
		{"approve", slack.ApproveActionID},
		{"reject", slack.RejectActionID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			body := interactionBody(t, clickPayload(t, tt.actionID, "#12", nil))

			first := h.postInteraction(t, body)
			second := h.postInteraction(t, body)

			for _, got := range []response{first, second} {
				assert.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
				assert.Empty(t, got.body, "reply body")
			}
			want := storedDelivery{
				ID: "slack:interaction:" + fixtureTriggerID, Source: "slack",
				Event: "block_actions", Action: tt.actionID, Payload: body,
			}
			assert.Equal(t, []storedDelivery{want}, h.deliveries(t), "deliveries: want one row for one trigger_id")
			assert.Equal(t, []storedJob{{Kind: "process_delivery", DeliveryID: want.ID}}, h.jobs(t))
		})
	}
}

func TestSlackInteractionStoresSubmission(t *testing.T) {
	h := newHarness(t, nil)
	body := interactionBody(t, submissionPayload(t, "#12", "Bias analysis is missing."))

	got := h.postInteraction(t, body)

	require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	assert.JSONEq(t, `{"response_action":"clear"}`, string(got.body))
	want := storedDelivery{
		ID: "slack:interaction:" + fixtureViewKey, Source: "slack",
		Event: "view_submission", Action: slack.RejectCallbackID, Payload: body,
	}
	assert.Equal(t, []storedDelivery{want}, h.deliveries(t))
	assert.Len(t, h.jobs(t), 1)
}

func TestSlackInteractionKeyFallsBackToHash(t *testing.T) {
	h := newHarness(t, nil)
	payload := clickPayload(t, slack.ApproveActionID, "#12", func(p map[string]any) { delete(p, "trigger_id") })
	body := interactionBody(t, payload)
	sum := sha256.Sum256(body)

	got := h.postInteraction(t, body)

	require.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
	deliveries := h.deliveries(t)
	require.Len(t, deliveries, 1)
	assert.Equal(t, "slack:interaction:sha256-"+hex.EncodeToString(sum[:]), deliveries[0].ID)
}

func TestSlackInteractionIgnoresOthers(t *testing.T) {
	tests := []struct {
		name    string
		payload func(t *testing.T) any
	}{
		{"recorded click with action info", func(t *testing.T) any {
			return fixtureObject(t, "block_actions.replay-fixture.json", "action")
		}},
		{"recorded static select", func(t *testing.T) any {
			return fixtureObject(t, "block_actions.replay-fixture.json", "staticSelectAction")
		}},
		{"recorded feedback form submission", func(t *testing.T) any {
			return fixtureObject(t, "slash_command.replay-fixture.json", "viewSubmission")
		}},
		{"click without actions", func(t *testing.T) any {
			return clickPayload(t, slack.ApproveActionID, "#12", func(p map[string]any) { p["actions"] = []any{} })
		}},
		{"view closed", func(t *testing.T) any {
			payload := submissionPayload(t, "#12", "reason")
			payload["type"] = "view_closed"
			return payload
		}},
		{"events API envelope", func(t *testing.T) any {
			return fixtureObject(t, "block_actions.replay-fixture.json", "mention")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)

			got := h.postInteraction(t, interactionBody(t, tt.payload(t)))

			assert.Equal(t, http.StatusOK, got.status, "status: got %d, want 200 (body %s)", got.status, got.body)
			assert.Empty(t, got.body, "reply body")
			h.requireNothingStored(t)
		})
	}
}

func TestSlackInteractionRejectsMalformed(t *testing.T) {
	valid := interactionBody(t, clickPayload(t, slack.ApproveActionID, "#12", nil))
	tests := []struct {
		name string
		body []byte
		// sign signs the request, or leaves it unsigned when nil.
		sign       func(h http.Header, body []byte)
		wantStatus int
		wantError  string
	}{
		{
			name: "signature of another secret", body: valid,
			sign:       func(h http.Header, body []byte) { setSlackSignature(h, "another secret", testNow.Unix(), body) },
			wantStatus: http.StatusUnauthorized, wantError: "request signature does not match",
		},
		{
			name: "unsigned", body: valid,
			wantStatus: http.StatusUnauthorized, wantError: "missing X-Slack-Signature header",
		},
		{
			name: "stale timestamp", body: valid,
			sign: func(h http.Header, body []byte) {
				setSlackSignature(h, testSlackSecret, testNow.Add(-6*time.Minute).Unix(), body)
			},
			wantStatus: http.StatusUnauthorized, wantError: "request timestamp is outside the allowed clock skew",
		},
		{
			name: "missing payload", body: []byte("token=x&team_id=T1"),
			sign:       signedNow,
			wantStatus: http.StatusBadRequest, wantError: "missing payload form field",
		},
		{
			name: "payload not JSON", body: []byte("payload=%7Bnot+json"),
			sign:       signedNow,
			wantStatus: http.StatusBadRequest, wantError: "payload is not valid JSON",
		},
		{
			name: "body not a form", body: []byte("payload=%zz"),
			sign:       signedNow,
			wantStatus: http.StatusBadRequest, wantError: "body is not a valid form",
		},
		{
			name: "body over 1 MiB", body: append([]byte("payload="), bytes.Repeat([]byte("a"), 1<<20)...),
			sign:       signedNow,
			wantStatus: http.StatusRequestEntityTooLarge, wantError: "body exceeds 1 MiB",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			req := h.interactionRequest(t, testSlackSecret, testNow.Unix(), tt.body)
			req.Header.Del(slack.SignatureHeader)
			req.Header.Del(slack.TimestampHeader)
			if tt.sign != nil {
				tt.sign(req.Header, tt.body)
			}

			got := h.do(t, req)

			require.Equal(t, tt.wantStatus, got.status, "status: got %d, want %d (body %s)", got.status, tt.wantStatus, got.body)
			assert.Contains(t, got.json(t)["error"], tt.wantError)
			h.requireNothingStored(t)
		})
	}
}

func signedNow(h http.Header, body []byte) {
	setSlackSignature(h, testSlackSecret, testNow.Unix(), body)
}

func TestSlackInteractionStorageFailure(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.db.Close())

	got := h.postInteraction(t, interactionBody(t, clickPayload(t, slack.ApproveActionID, "#12", nil)))

	require.Equal(t, http.StatusServiceUnavailable, got.status, "status: got %d, want 503 (body %s)", got.status, got.body)
	assert.True(t, strings.HasPrefix(got.json(t)["error"], "storing the interaction failed"), "error %q", got.json(t)["error"])
}
