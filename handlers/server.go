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

	batch batcher
}

// Routes returns the server's handler.
func (s *Server) Routes() http.Handler {
	s.batch.server = s
	mux := http.NewServeMux()
	mux.HandleFunc("POST /github/webhook", s.handleGitHub)
	mux.HandleFunc("POST /slack/commands", s.handleSlackCommand)
	mux.HandleFunc("POST /slack/interactions", s.handleSlackInteraction)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /readyz", s.handleReady)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	return mux
}

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
