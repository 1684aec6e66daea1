package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/slack"
)

// slackReply is the immediate response to a slash command.
type slackReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeral(text string) slackReply { return slackReply{ResponseType: "ephemeral", Text: text} }

func (s *Server) handleSlackCommand(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxSlackBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		problem(w, http.StatusRequestEntityTooLarge, "body exceeds 1 MiB")
		return
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "reading body failed")
		return
	}
	if err := slack.VerifyRequest(s.SlackSecret, r.Header, body, s.now()); err != nil {
		s.Log.Warn("slack request rejected", "reason", "signature", "error", err)
		s.Metrics.Delivery("slack", "slash_command", "rejected")
		problem(w, http.StatusUnauthorized, err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		problem(w, http.StatusBadRequest, "body is not a valid form")
		return
	}
	if form.Get("command") != s.SlashCommand {
		problem(w, http.StatusBadRequest, "unknown command "+form.Get("command")+": this endpoint serves "+s.SlashCommand)
		return
	}
	if form.Get("user_id") == "" || form.Get("response_url") == "" {
		problem(w, http.StatusBadRequest, "missing user_id or response_url")
		return
	}

	// Help and malformed commands get their response at once; only commands that
	// parse are stored for the engine.
	cmd, err := s.Grammar.Parse(form.Get("text"))
	var usageErr *bot.UsageError
	if errors.As(err, &usageErr) {
		writeJSON(w, http.StatusOK, ephemeral(usageErr.Error()))
		return
	}
	if cmd.Verb == bot.VerbHelp {
		writeJSON(w, http.StatusOK, ephemeral(s.Grammar.HelpFor(cmd.Topic)))
		return
	}

	d := store.Delivery{ID: "slack:" + slackDeliveryKey(form, body), Source: "slack", Event: "slash_command", Action: cmd.Verb, Payload: body}
	fresh, err := s.persist(r.Context(), d)
	if err != nil {
		s.Log.Error("storing slack command failed", "delivery_id", d.ID, "slack_user", form.Get("user_id"), "error", err)
		writeJSON(w, http.StatusOK, ephemeral("sopbot could not record this command; please try again in a minute."))
		return
	}
	text := "Working on `" + bot.Prefix + " " + cmd.Text + "`…"
	outcome := "received"
	if !fresh {
		text, outcome = "This command was already received; its answer will follow.", "duplicate"
	}
	s.Metrics.Delivery("slack", "slash_command", outcome)
	writeJSON(w, http.StatusOK, ephemeral(text))
}

// slackDeliveryKey identifies a slash command: its trigger_id, which Slack
// makes unique per invocation, or the body's hash when it is missing.
func slackDeliveryKey(form url.Values, body []byte) string {
	if id := form.Get("trigger_id"); id != "" && len(id) <= 100 {
		return id
	}
	sum := sha256.Sum256(body)
	return "sha256-" + hex.EncodeToString(sum[:])
}
