package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	slackgo "github.com/slack-go/slack"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/slack"
)

// Delivery events of the Slack interactions that sopbot stores.
const (
	eventBlockActions   = "block_actions"
	eventViewSubmission = "view_submission"
)

// maxInteractionKey bounds the Slack ids used in a delivery id. A longer
// id falls back to the body's hash.
const maxInteractionKey = 200

// errNoPayload is returned by decodeInteraction for a form without a
// payload field.
var errNoPayload = errors.New("missing payload form field")

// handleSlackInteraction stores the button clicks and modal submissions of
// sopbot's gate messages and replies at once, because Slack shows the user
// an error after three seconds. Other interactions get an empty 200, so
// Slack shows no error, and are not stored.
func (s *Server) handleSlackInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readSlackBody(w, r)
	if !ok {
		return
	}

	callback, err := decodeInteraction(body)
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	event, action, handled := classifyInteraction(callback)
	if !handled {
		s.Log.Debug("slack interaction ignored", "type", callback.Type, "callback_id", callback.View.CallbackID, "slack_user", callback.User.ID)
		w.WriteHeader(http.StatusOK)
		return
	}

	d := store.Delivery{ID: "slack:interaction:" + interactionKey(callback, body), Source: "slack", Event: event, Action: action, Payload: body}
	fresh, err := s.persist(r.Context(), d)
	if err != nil {
		s.Log.Error("storing slack interaction failed", "delivery_id", d.ID, "slack_user", callback.User.ID, "error", err)
		problem(w, http.StatusServiceUnavailable, "storing the interaction failed; try again")
		return
	}
	if !fresh {
		s.Log.Debug("slack interaction already stored", "delivery_id", d.ID)
	}

	// NOTE: the trigger_id of a Reject click expires three seconds after
	// the click, so the worker must open the reject modal within that time.
	if event == eventViewSubmission {
		// "clear" closes the modal, and every view stacked on it.
		writeJSON(w, http.StatusOK, slackgo.ViewSubmissionResponse{ResponseAction: slackgo.RAClear})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// readSlackBody reads a request body of at most MaxSlackBody bytes and
// verifies its Slack signature. On failure it writes the error reply and
// returns false.
func (s *Server) readSlackBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSlackBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		problem(w, http.StatusRequestEntityTooLarge, "body exceeds 1 MiB")
		return nil, false
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "reading body failed")
		return nil, false
	}

	if err := slack.VerifyRequest(s.SlackSecret, r.Header, body, s.now()); err != nil {
		s.Log.Warn("slack request rejected", "reason", "signature", "error", err)
		problem(w, http.StatusUnauthorized, err.Error())
		return nil, false
	}
	return body, true
}

// decodeInteraction decodes the JSON in the payload field of an
// interaction's form body.
func decodeInteraction(body []byte) (slackgo.InteractionCallback, error) {
	var callback slackgo.InteractionCallback
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return callback, errors.New("body is not a valid form")
	}

	payload := form.Get("payload")
	if payload == "" {
		return callback, errNoPayload
	}
	if err := json.Unmarshal([]byte(payload), &callback); err != nil {
		return callback, errors.New("payload is not valid JSON: " + err.Error())
	}
	return callback, nil
}

// classifyInteraction returns the delivery event and action of an
// interaction that sopbot handles: a click on a gate button, or the
// submission of the reject modal.
func classifyInteraction(callback slackgo.InteractionCallback) (event, action string, handled bool) {
	switch callback.Type {
	case slackgo.InteractionTypeBlockActions:
		if button := gateButton(callback); button != nil {
			return eventBlockActions, button.ActionID, true
		}
	case slackgo.InteractionTypeViewSubmission:
		if callback.View.CallbackID == slack.RejectCallbackID {
			return eventViewSubmission, slack.RejectCallbackID, true
		}
	}
	return "", "", false
}

// gateButton returns the first action of a block_actions interaction that
// is an Approve or Reject click, or nil.
func gateButton(callback slackgo.InteractionCallback) *slackgo.BlockAction {
	for _, action := range callback.ActionCallback.BlockActions {
		if action.ActionID == slack.ApproveActionID || action.ActionID == slack.RejectActionID {
			return action
		}
	}
	return nil
}

// interactionKey identifies an interaction, so a repeated request is
// stored once. Slack makes the trigger_id of a click unique, and the view
// id with its hash identifies one state of a modal. Without them, the key
// is the body's hash.
func interactionKey(callback slackgo.InteractionCallback, body []byte) string {
	var key string
	switch callback.Type {
	case slackgo.InteractionTypeBlockActions:
		key = callback.TriggerID
	case slackgo.InteractionTypeViewSubmission:
		if callback.View.ID != "" && callback.View.Hash != "" {
			key = callback.View.ID + ":" + callback.View.Hash
		}
	}
	if key != "" && len(key) <= maxInteractionKey {
		return key
	}

	sum := sha256.Sum256(body)
	return "sha256-" + hex.EncodeToString(sum[:])
}
