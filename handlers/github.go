package handlers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/github"
)

// handledEvents are the GitHub events the bot stores; others are
// acknowledged and dropped.
var handledEvents = map[string]bool{
	"issues": true, "issue_comment": true, "pull_request": true, "pull_request_review": true,
	"check_run": true, "status": true,
}

// envelope is the part of every webhook payload the edge reads before
// storing it.
type envelope struct {
	Action       string                `json:"action"`
	Installation *envelopeInstallation `json:"installation"`
	Repository   *envelopeRepository   `json:"repository"`
	Issue        *envelopeNumbered     `json:"issue"`
	PullRequest  *envelopeNumbered     `json:"pull_request"`
}

type envelopeInstallation struct {
	ID int64 `json:"id"`
}

type envelopeRepository struct {
	FullName string `json:"full_name"`
}

// envelopeNumbered is an issue or a pull request.
type envelopeNumbered struct {
	Number int `json:"number"`
}

// subject names the issue or pull request a delivery is about; both share
// one number space.
func (e envelope) subject() string {
	switch {
	case e.Issue != nil && e.Issue.Number > 0:
		return fmt.Sprintf("issue:%d", e.Issue.Number)
	case e.PullRequest != nil && e.PullRequest.Number > 0:
		return fmt.Sprintf("issue:%d", e.PullRequest.Number)
	}
	return ""
}

func (s *Server) handleGitHub(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r, MaxGitHubBody)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.Log.Warn("webhook rejected", "reason", "body too large")
		problem(w, http.StatusRequestEntityTooLarge, "body exceeds 25 MB")
		return
	}
	if err != nil {
		problem(w, http.StatusBadRequest, "reading body failed")
		return
	}
	if err := github.VerifySignature(s.GitHubSecret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		s.Log.Warn("webhook rejected", "reason", "signature", "error", err)
		s.Metrics.Delivery("github", eventLabel(r.Header.Get("X-GitHub-Event")), "rejected")
		problem(w, http.StatusUnauthorized, "invalid or missing X-Hub-Signature-256")
		return
	}

	event, deliveryID := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery")
	if event == "" || deliveryID == "" || len(deliveryID) > 100 {
		problem(w, http.StatusBadRequest, "missing X-GitHub-Event or X-GitHub-Delivery header")
		return
	}
	payload, err := webhookPayload(r.Header.Get("Content-Type"), body)
	if err != nil {
		problem(w, http.StatusBadRequest, err.Error())
		return
	}
	env, err := decodeEnvelope(payload)
	if err != nil {
		problem(w, http.StatusBadRequest, "payload is not valid JSON: "+err.Error())
		return
	}

	attrs := []any{"delivery_id", "github:" + deliveryID, "github_delivery_id", deliveryID, "event", event, "action", env.Action}
	if env.Installation != nil {
		attrs = append(attrs, "installation_id", env.Installation.ID)
	}
	if event == "ping" {
		writeJSON(w, http.StatusOK, map[string]string{"status": "pong"})
		return
	}
	if !handledEvents[event] {
		s.Log.Debug("webhook ignored", append(attrs, "reason", "event not handled")...)
		s.Metrics.Delivery("github", "other", "ignored")
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "ignored", "reason": "event not handled"})
		return
	}
	if s.InstallationID != 0 && (env.Installation == nil || env.Installation.ID != s.InstallationID) {
		s.Log.Info("webhook ignored", append(attrs, "reason", "installation not configured")...)
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "ignored", "reason": "installation not configured"})
		return
	}
	if env.Repository == nil || !strings.EqualFold(env.Repository.FullName, s.Repository) {
		s.Log.Info("webhook ignored", append(attrs, "reason", "repository not configured")...)
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "ignored", "reason": "repository not configured"})
		return
	}

	d := store.Delivery{ID: "github:" + deliveryID, Source: "github", Event: event, Action: env.Action,
		Subject: env.subject(), Payload: payload}
	if env.Installation != nil {
		d.InstallationID = env.Installation.ID
	}
	fresh, err := s.persist(r.Context(), d)
	if err != nil {
		s.Log.Error("storing webhook failed", append(attrs, "error", err)...)
		problem(w, http.StatusServiceUnavailable, "could not store the delivery; retry later")
		return
	}
	status := "queued"
	if !fresh {
		status = "duplicate"
	}
	s.Metrics.Delivery("github", event, map[string]string{"queued": "received", "duplicate": "duplicate"}[status])
	s.Log.Debug("webhook stored", append(attrs, "status", status)...)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": status, "delivery": deliveryID})
}

// maxBodyPrealloc caps the buffer readBody allocates from a request's
// Content-Length before it reads a byte, so the header of a request that
// is not signed yet cannot make the server allocate MaxGitHubBody.
const maxBodyPrealloc = 64 << 10

// readBody reads a request body of at most limit bytes, as
// io.ReadAll(http.MaxBytesReader(w, r.Body, limit)) does, into a buffer
// sized from the Content-Length. io.ReadAll starts at 512 bytes and grows,
// which for a 16 KB webhook body takes 15 allocations and 40 KB (Go 1.26).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	reader := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength <= 0 {
		return io.ReadAll(reader)
	}
	// One spare byte lets the read that returns io.EOF find room without
	// growing the buffer.
	body := make([]byte, 0, min(r.ContentLength, maxBodyPrealloc)+1)
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := reader.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return body, err
		}
	}
}

// webhookPayload returns the JSON of a delivery sent as application/json
// or, for webhooks configured that way, as a form with a payload field.
func webhookPayload(contentType string, body []byte) ([]byte, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, errors.New("missing or invalid Content-Type: use application/json")
	}
	switch mediaType {
	case "application/json":
		return body, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return nil, errors.New("form body has no payload field")
		}
		return []byte(form.Get("payload")), nil
	}
	return nil, errors.New("unsupported Content-Type " + mediaType + ": use application/json")
}

// eventLabel keeps the metrics' event label to the events the bot handles,
// so a sender cannot grow the label set.
func eventLabel(event string) string {
	if handledEvents[event] {
		return event
	}
	return "other"
}
