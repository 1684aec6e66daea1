package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/httpretry"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/internal/demo"
	"github.com/sopbot/sopbot/internal/faults"
)

// The fault settings of TestPromotionUnderFaults. The clients give up on
// response headers after faultHeaderTimeout, and a timeout fault holds its
// request for faultHold, longer than that.
const (
	faultRate          = 0.2
	faultRuns          = 6
	faultHeaderTimeout = 500 * time.Millisecond
	faultHold          = 1500 * time.Millisecond
	// faultGrace leaves out of the Retry-After check the requests a client
	// may have sent before it read the Retry-After.
	faultGrace = 50 * time.Millisecond
)

// faultyBot is a live bot whose three fakes fail faultRate of their calls.
type faultyBot struct {
	fakes    *demo.Fakes
	app      *app
	db       *sql.DB
	scenario *demo.Scenario
	// injectors are the fakes' fault injectors, by fake name.
	injectors map[string]*faults.Injector
	logs      *syncBuffer
}

// syncBuffer is a bytes.Buffer that the bot's logger and the test can use
// at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startFaultyBot starts the real server and queue in process against the
// demo's fakes, with faults injected into every call the bot makes to
// them. The webhook deliveries of the GitHub fake and the scenario's own
// actions as users are not faulted.
func startFaultyBot(t *testing.T, seed uint64) *faultyBot {
	t.Helper()
	fakes, err := demo.StartFakes()
	require.NoError(t, err)
	t.Cleanup(fakes.Close)
	cfg := fakes.Config(filepath.Join(t.TempDir(), "sopbot.db"))
	logs := &syncBuffer{}
	a, err := newApp(context.Background(), cfg, newLogger(logs, "warn"))
	require.NoError(t, err)
	a.workers.CommentGrace = time.Millisecond
	useShortTimeouts(t, a, cfg)

	faultConfig := func(offset uint64) faults.Config {
		return faults.Config{Rate: faultRate, Seed: seed*10 + offset, Hold: faultHold}
	}
	injectors := map[string]*faults.Injector{
		"GitHub": fakes.GitHub.InjectFaults(faultConfig(1)),
		"Slack":  fakes.Slack.InjectFaults(faultConfig(2)),
		"MLflow": fakes.MLflow.InjectFaults(faultConfig(3)),
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	serverURL := "http://" + ln.Addr().String()
	require.NoError(t, fakes.GitHub.SetWebhookURL(serverURL+"/github/webhook"))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, ln) }()
	t.Cleanup(func() { stop(); <-done })

	db, err := demo.OpenReadOnly(cfg.Database)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	// A job that fails twice waits 16 s for its third attempt under River's
	// default backoff, and one that fails three times 81 s more.
	scenario := &demo.Scenario{Fakes: fakes, ServerURL: serverURL, DB: db, Timeout: 3 * time.Minute}
	return &faultyBot{fakes: fakes, app: a, db: db, scenario: scenario, injectors: injectors, logs: logs}
}

// useShortTimeouts gives the workers clients like newClients builds, except
// that each attempt waits faultHeaderTimeout for the response headers
// instead of 10 s, so a timeout fault outlasts the client's timeout.
func useShortTimeouts(t *testing.T, a *app, cfg config.Config) {
	t.Helper()
	retry := httpretry.Settings{HeaderTimeout: faultHeaderTimeout}
	owner, repo, _ := strings.Cut(cfg.GitHub.Repository, "/")
	gh, err := github.New(github.Config{BaseURL: cfg.GitHub.BaseURL, AppID: cfg.GitHub.AppID,
		PrivateKey: []byte(cfg.GitHub.PrivateKey.Reveal()), Owner: owner, Repo: repo, Retry: retry})
	require.NoError(t, err)
	sl, err := slack.New(slack.Config{APIURL: cfg.Slack.APIURL, BotToken: cfg.Slack.BotToken.Reveal(),
		ResponseURLPrefixes: cfg.Slack.ResponseURLPrefixes, Retry: retry})
	require.NoError(t, err)
	ml, err := mlflow.New(mlflow.Config{BaseURL: cfg.MLflow.BaseURL, UIURL: cfg.MLflow.UIURL, Retry: retry})
	require.NoError(t, err)
	a.workers.GitHub, a.workers.Slack, a.workers.Registry = gh, sl, ml
}

// faultTally adds up the faults of several runs, so the test can check that
// every kind and mode happened at least once.
type faultTally struct {
	mu     sync.Mutex
	counts map[string]int // "GitHub timeout after" to count
}

func (f *faultTally) add(fake string, injected []faults.Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, flt := range injected {
		f.counts[fmt.Sprintf("%s %s %s", fake, flt.Kind, flt.Mode)]++
	}
}

// mode returns how many faults of fake were in mode and, unless kinds is
// empty, of one of kinds. An empty mode counts both modes.
func (f *faultTally) mode(fake string, mode faults.Mode, kinds ...faults.Kind) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for key, count := range f.counts {
		parts := strings.Fields(key)
		if parts[0] != fake || (mode != "" && faults.Mode(parts[2]) != mode) {
			continue
		}
		if len(kinds) == 0 || slices.Contains(kinds, faults.Kind(parts[1])) {
			n += count
		}
	}
	return n
}

func TestPromotionUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("plays whole promotions with faults")
	}
	tally := &faultTally{counts: map[string]int{}}
	t.Run("seeds", func(t *testing.T) {
		for seed := range uint64(faultRuns) {
			t.Run(fmt.Sprint(seed), func(t *testing.T) {
				t.Parallel()
				b := startFaultyBot(t, seed)
				playPromotionUnderFaults(t, b)
				for name, injector := range b.injectors {
					tally.add(name, injector.Faults())
				}
			})
		}
	})

	// Each fake lost effects' replies and refused calls, and GitHub made
	// every kind of fault, so the checks above are not vacuous. A run makes
	// about 57 GitHub, 22 MLflow and 7 Slack calls, too few for every kind
	// of Slack fault to be sure to come up.
	for _, fake := range []string{"GitHub", "Slack", "MLflow"} {
		assert.Positive(t, tally.mode(fake, faults.Before), "%s faults before the handler", fake)
		assert.Positive(t, tally.mode(fake, faults.After), "%s faults after the handler", fake)
	}
	for _, kind := range []faults.Kind{faults.ServerError, faults.Timeout, faults.HangUp, faults.RateLimit,
		faults.SecondaryRateLimit, faults.ExpiredToken} {
		assert.Positive(t, tally.mode("GitHub", "", kind), "GitHub %s faults", kind)
	}
	t.Logf("faults injected: %v", tally.counts)
}

// effectMarker matches the hidden key the bot writes into each comment.
var effectMarker = regexp.MustCompile(`<!-- sopbot:effect=(\S+) -->`)

func playPromotionUnderFaults(t *testing.T, b *faultyBot) {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	b.scenario.Out = &out
	started := time.Now()
	err := b.scenario.Run(ctx)
	require.NoError(t, err, "scenario output:\n%s\nbot log:\n%s", out.String(), b.logs.String())
	t.Logf("promotion took %s", time.Since(started).Round(time.Millisecond))
	for name, injector := range b.injectors {
		t.Logf("%s: %d calls, %d faults", name, len(injector.Calls()), len(injector.Faults()))
	}

	issues := 0
	for _, issue := range b.fakes.GitHub.Issues() {
		if !issue.PullRequest {
			issues++
		}
	}
	assert.Equal(t, 1, issues, "one issue for the request")

	markers := map[string]int{}
	for _, comment := range b.fakes.GitHub.Comments(b.scenario.Issue()) {
		for _, match := range effectMarker.FindAllStringSubmatch(comment.Body, -1) {
			markers[match[1]]++
		}
	}
	assert.NotEmpty(t, markers)
	for marker, n := range markers {
		assert.Equal(t, 1, n, "comment marker %s", marker)
	}

	transitions := map[string]int{}
	for _, tr := range b.fakes.MLflow.History(demo.Model) {
		transitions[fmt.Sprintf("v%s to %s", tr.Version, tr.To)]++
	}
	assert.Equal(t, map[string]int{"v3 to Production": 1, "v2 to Archived": 1}, transitions, "one MLflow transition for the promotion")

	texts := map[string]int{}
	gates := 0
	for _, m := range b.fakes.Slack.Messages() {
		texts[m.Text]++
		if strings.HasSuffix(m.Text, "needs approval") {
			gates++
		}
	}
	assert.Equal(t, 1, gates, "one gate message")
	for text, n := range texts {
		assert.Equal(t, 1, n, "Slack message %q", text)
	}

	rows, err := b.db.Query(`SELECT kind, state, errors FROM river_job WHERE state IN ('cancelled', 'discarded')`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var kind, state, errs string
		require.NoError(t, rows.Scan(&kind, &state, &errs))
		assert.Fail(t, "a job ended for good", "%s job %s: %s", kind, state, errs)
	}
	require.NoError(t, rows.Err())

	for name, injector := range b.injectors {
		for _, v := range injector.Violations(faultGrace) {
			assert.Fail(t, "a call came before its Retry-After ended",
				"%s: %s at %s, %s before the %s fault's wait ended", name, v.Call.Route(),
				v.Call.At.Format(time.StampMicro), v.Fault.NotBefore.Sub(v.Call.At), v.Fault.Kind)
		}
	}
}
