package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/sop"
)

const (
	testGitHubSecret = "webhook secret for handler tests"
	testSlackSecret  = "slack signing secret for handler tests"
	// testRepository is the repository of the octokit example payloads.
	testRepository = "Codertocat/Hello-World"
)

// testNow is the fixed clock of every harness server.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// harness is a handlers.Server over a migrated SQLite store and a River
// client that inserts jobs but is never started, served on a loopback
// listener.
type harness struct {
	db     *store.DB
	server *handlers.Server
	url    string
	client *http.Client
}

// newHarness starts a server for one test. configure, when not nil, edits
// the server before it starts serving.
func newHarness(t testing.TB, configure func(*handlers.Server)) *harness {
	t.Helper()
	ctx := context.Background()

	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	require.NoError(t, err, "opening the store")
	t.Cleanup(func() { _ = db.Close() })
	db.SetClock(func() time.Time { return testNow })

	workers := river.NewWorkers()
	(&bot.Workers{}).Register(workers)
	queue, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{
		Workers: workers,
		Logger:  discardLogger(),
	})
	require.NoError(t, err, "creating the River client")

	lib, err := sop.Embedded()
	require.NoError(t, err, "loading the embedded SOP library")

	server := &handlers.Server{
		DB:           db,
		Queue:        queue,
		Grammar:      bot.NewGrammar(lib),
		GitHubSecret: []byte(testGitHubSecret),
		SlackSecret:  []byte(testSlackSecret),
		Repository:   testRepository,
		SlashCommand: bot.Prefix,
		Now:          func() time.Time { return testNow },
		Log:          discardLogger(),
	}
	if configure != nil {
		configure(server)
	}

	httpServer := httptest.NewServer(server.Routes())
	t.Cleanup(httpServer.Close)
	return &harness{db: db, server: server, url: httpServer.URL, client: httpServer.Client()}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// response is a server reply with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the reply body as a JSON object of strings.
func (r response) json(t testing.TB) map[string]string {
	t.Helper()
	var v map[string]string
	require.NoError(t, json.Unmarshal(r.body, &v), "decoding reply body %q", r.body)
	return v
}

func (h *harness) do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := h.client.Do(req)
	require.NoError(t, err, "sending %s %s", req.Method, req.URL.Path)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, "reading the reply to %s %s", req.Method, req.URL.Path)
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// githubRequest builds a webhook POST signed with testGitHubSecret over
// the exact body bytes.
func (h *harness) githubRequest(t testing.TB, event, deliveryID string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/github/webhook", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set(github.SignatureHeader, github.Sign([]byte(testGitHubSecret), body))
	return req
}

func (h *harness) postGitHub(t testing.TB, event, deliveryID string, body []byte) response {
	t.Helper()
	return h.do(t, h.githubRequest(t, event, deliveryID, body))
}

// slackRequest builds a slash command POST signed with secret at Unix
// time ts.
func (h *harness) slackRequest(t testing.TB, secret string, ts int64, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/slack/commands", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	setSlackSignature(req.Header, secret, ts, body)
	return req
}

func (h *harness) postSlack(t testing.TB, body []byte) response {
	t.Helper()
	return h.do(t, h.slackRequest(t, testSlackSecret, testNow.Unix(), body))
}

// storedDelivery is one row of the deliveries table.
type storedDelivery struct {
	ID             string
	Source         string
	Event          string
	Action         string
	InstallationID int64
	Payload        []byte
}

func (h *harness) deliveries(t testing.TB) []storedDelivery {
	t.Helper()
	rows, err := h.db.SQL.Query(`SELECT id, source, event, action, installation_id, payload FROM deliveries ORDER BY id`)
	require.NoError(t, err, "reading the deliveries table")
	defer rows.Close()
	var out []storedDelivery
	for rows.Next() {
		var d storedDelivery
		require.NoError(t, rows.Scan(&d.ID, &d.Source, &d.Event, &d.Action, &d.InstallationID, &d.Payload))
		out = append(out, d)
	}
	require.NoError(t, rows.Err())
	return out
}

// storedJob is one row of River's job table, whose args column River
// stores as SQLite JSONB, read back as text with json().
type storedJob struct {
	Kind       string
	DeliveryID string // from the args of a process_delivery job
}

func (h *harness) jobs(t testing.TB) []storedJob {
	t.Helper()
	rows, err := h.db.SQL.Query(`SELECT kind, json(args) FROM river_job ORDER BY id`)
	require.NoError(t, err, "reading the river_job table")
	defer rows.Close()
	var out []storedJob
	for rows.Next() {
		var job storedJob
		var args []byte
		require.NoError(t, rows.Scan(&job.Kind, &args))
		if job.Kind == (bot.ProcessDeliveryArgs{}).Kind() {
			var decoded bot.ProcessDeliveryArgs
			require.NoError(t, json.Unmarshal(args, &decoded), "decoding job args %s", args)
			job.DeliveryID = decoded.DeliveryID
		}
		out = append(out, job)
	}
	require.NoError(t, rows.Err())
	return out
}

// requireNothingStored fails unless the deliveries and river_job tables
// are both empty.
func (h *harness) requireNothingStored(t testing.TB) {
	t.Helper()
	require.Empty(t, h.deliveries(t), "deliveries: got rows, want none")
	require.Empty(t, h.jobs(t), "river_job: got rows, want none")
}

// loadDelivery reads a stored delivery the way the process_delivery
// worker does.
func (h *harness) loadDelivery(t testing.TB, id string) store.Delivery {
	t.Helper()
	var d store.Delivery
	err := h.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		d, err = h.db.GetDelivery(context.Background(), tx, id)
		return err
	})
	require.NoError(t, err, "loading delivery %s", id)
	return d
}

// readFixture returns the exact bytes of a file under the repository's
// testdata folder.
func readFixture(t testing.TB, path ...string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(append([]string{"..", "testdata"}, path...)...))
	require.NoError(t, err)
	return body
}

func githubFixture(t testing.TB, name string) []byte {
	t.Helper()
	return readFixture(t, "github", name)
}

// eventOfFixture returns the X-GitHub-Event of a payload file named
// <event>.<action>[.<variant>].json.
func eventOfFixture(name string) string {
	event, _, _ := strings.Cut(name, ".")
	return event
}
