package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/metrics"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/handlers"
)

func TestServeHelpNamesEnvironmentVariables(t *testing.T) {
	out, _, err := runCLI(t, "serve", "--help")
	require.NoError(t, err)
	assert.NotContains(t, out, "Every setting can also come from")
	for _, name := range config.EnvNames() {
		assert.Regexp(t, `\s`+name+`\s`, out, "the help lists %s", name)
	}
	assert.Contains(t, out, "Every other setting, such as roles, people, drift, rotation, schedules")
}

// routeLine matches a "  METHOD /path  what" line of the serve help.
var routeLine = regexp.MustCompile(`(?m)^  (GET|POST) +(/\S+) `)

// driftRecorderStub records nothing, because the route test only needs
// the drift endpoint to be registered.
type driftRecorderStub struct{}

func (driftRecorderStub) RecordDriftReport(context.Context, *sql.Tx, bot.DriftReport, bot.RetrainPolicy) (bot.DriftDecision, error) {
	return bot.DriftDecision{}, nil
}

func TestServeHelpListsEveryRoute(t *testing.T) {
	out, _, err := runCLI(t, "serve", "--help")
	require.NoError(t, err)
	routes, _, ok := strings.Cut(out, "With admin.listen")
	require.True(t, ok, "help:\n%s", out)
	found := routeLine.FindAllStringSubmatch(routes, -1)
	require.Len(t, found, 7, "help:\n%s", out)

	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err)
	defer db.Close()
	server := &handlers.Server{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(db.SQL),
		Drift: driftRecorderStub{}, DriftToken: []byte("a-drift-token-of-24-chars")}
	mux := server.Routes()
	for _, route := range found {
		method, path := route[1], route[2]
		t.Run(method+" "+path, func(t *testing.T) {
			response := httptest.NewRecorder()
			mux.ServeHTTP(response, httptest.NewRequest(method, path, strings.NewReader("")))
			assert.NotEqual(t, http.StatusNotFound, response.Code, "the server does not serve %s %s", method, path)
			assert.NotEqual(t, http.StatusMethodNotAllowed, response.Code, "the server does not serve %s %s", method, path)
		})
	}
}
