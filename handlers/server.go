package handlers

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/metrics"
	"github.com/sopbot/sopbot/bot/store"
)

// MaxGitHubBody is the largest webhook body accepted: GitHub caps payloads
// at 25 MB.
const MaxGitHubBody = 25 << 20

// MaxSlackBody is the largest Slack request body accepted. Slash command
// bodies are form fields of a few hundred bytes.
const MaxSlackBody = 1 << 20

// Server is the bot's HTTP edge: it verifies, stores and acknowledges.
type Server struct {
	DB      *store.DB
	Queue   bot.Enqueuer
	Grammar *bot.Grammar

	GitHubSecret []byte
	SlackSecret  []byte
	// Repository is the configured owner/name; events of other
	// repositories are ignored.
	Repository string
	// InstallationID, when set, is the only app installation whose events
	// are acted on.
	InstallationID int64
	// SlashCommand is the Slack command name, "/mlops".
	SlashCommand string

	Now func() time.Time
	Log *slog.Logger
	// Metrics counts deliveries; nil records nothing and serves no
	// /metrics.
	Metrics *metrics.Metrics
	// Drift records the reports of POST /api/v1/drift, checked against
	// DriftToken, a bearer token, with each model's DriftPolicy. The
	// endpoint is served only when Drift and DriftToken are set.
	Drift       DriftRecorder
	DriftToken  []byte
	DriftPolicy func(model string) (bot.RetrainPolicy, bool)

	batch batcher
}

// Routes returns the server's handler.
func (s *Server) Routes() http.Handler {
	s.batch.server = s
	mux := http.NewServeMux()
	mux.Handle("POST /github/webhook", s.countRejections("github", s.handleGitHub))
	mux.Handle("POST /slack/commands", s.countRejections("slack", s.handleSlackCommand))
	mux.Handle("POST /slack/interactions", s.countRejections("slack", s.handleSlackInteraction))
	if s.Drift != nil && len(s.DriftToken) > 0 {
		mux.Handle("POST /api/v1/drift", s.countRejections("drift", s.handleDriftReport))
	}
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

// rejectReasons maps each error status of the delivery endpoints to the
// reason the handlers send it for.
var rejectReasons = map[int]string{
	http.StatusBadRequest:            metrics.RejectMalformed,
	http.StatusUnauthorized:          metrics.RejectSignature,
	http.StatusRequestEntityTooLarge: metrics.RejectBodyTooLarge,
	http.StatusServiceUnavailable:    metrics.RejectStorageFailed,
}

// countRejections wraps a delivery endpoint so every request it rejects
// is counted, by the reason rejectReasons gives for its response status.
func (s *Server) countRejections(source string, handler http.HandlerFunc) http.Handler {
	if s.Metrics == nil {
		return handler
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handler(recorder, r)
		if reason, ok := rejectReasons[recorder.status]; ok {
			s.Metrics.Rejected(source, reason)
		}
	})
}

// statusRecorder keeps the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// persist stores a delivery and enqueues its processing in one
// transaction, shared with the deliveries that arrive at the same time. It
// reports whether the delivery is new.
func (s *Server) persist(ctx context.Context, d store.Delivery) (bool, error) {
	return s.batch.store(ctx, d)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// problem writes a JSON error body: what was wrong, for the sender's logs.
func problem(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.SQL.PingContext(ctx); err != nil {
		s.Log.Error("readiness check failed", "error", err)
		problem(w, http.StatusServiceUnavailable, "database unreachable")
		return
	}
	if err := s.DB.Ready(ctx); err != nil {
		s.Log.Error("readiness check failed", "error", err)
		problem(w, http.StatusServiceUnavailable, "database migrations not applied")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
