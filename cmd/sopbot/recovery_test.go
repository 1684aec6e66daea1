package main

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/internal/demo"
)

// liveBot is the real server and queue against the demo's fakes, in this
// process, for tests that reach into the queue.
type liveBot struct {
	fakes    *demo.Fakes
	app      *app
	db       *sql.DB
	scenario *demo.Scenario
}

func startLiveBot(t *testing.T) *liveBot {
	t.Helper()
	return startLiveBotWith(t, liveBotOptions{})
}

// liveBotOptions change how startLiveBotWith starts the bot.
type liveBotOptions struct {
	// prepare runs on the database file before the bot opens it.
	prepare func(t *testing.T, database string)
	// log receives the bot's log from level info; nil discards it.
	log io.Writer
}

func startLiveBotWith(t *testing.T, opts liveBotOptions) *liveBot {
	t.Helper()
	fakes, err := demo.StartFakes()
	require.NoError(t, err)
	t.Cleanup(fakes.Close)
	cfg := fakes.Config(filepath.Join(t.TempDir(), "sopbot.db"))
	if opts.prepare != nil {
		opts.prepare(t, cfg.Database)
	}
	logger := newLogger(io.Discard, "error")
	if opts.log != nil {
		logger = newLogger(opts.log, "info")
	}
	a, err := newApp(context.Background(), cfg, logger)
	require.NoError(t, err)
	a.workers.CommentGrace = time.Millisecond

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
	scenario := &demo.Scenario{Fakes: fakes, ServerURL: serverURL, DB: db, Timeout: 30 * time.Second}
	// The sweep runs once at start-up; wait for it, so its calls and
	// effects never land inside what a test measures.
	require.Eventually(t, func() bool {
		var done int
		_ = db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'sweep' AND state = 'completed'`).Scan(&done)
		return done > 0
	}, 20*time.Second, 10*time.Millisecond, "the start-up sweep runs")
	return &liveBot{fakes: fakes, app: a, db: db, scenario: scenario}
}

// sweep runs the reconciliation sweep now and waits for what it caused.
func (b *liveBot) sweep(t *testing.T) {
	t.Helper()
	_, err := b.app.queue.Insert(context.Background(), bot.SweepArgs{}, nil)
	require.NoError(t, err)
	require.NoError(t, b.scenario.Settle(context.Background()))
}

func (b *liveBot) comments(issue int) string {
	var all []string
	for _, c := range b.fakes.GitHub.Comments(issue) {
		all = append(all, c.Body)
	}
	return strings.Join(all, "\n---\n")
}

func TestSweepRevertsTickWhoseWebhookWasLost(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))

	b.fakes.GitHub.SuppressNextDeliveries(1)
	require.NoError(t, b.scenario.Tick(ctx, demo.People.Alice, "pre-3"))
	require.True(t, b.scenario.Checked("pre-3"), "GitHub shows the tick the bot never heard of")

	b.sweep(t)
	assert.False(t, b.scenario.Checked("pre-3"), "the sweep sets the unrecorded tick back")
	assert.Contains(t, b.comments(b.scenario.Issue()), "changed on this issue without a webhook it received")

	require.NoError(t, b.scenario.Tick(ctx, demo.People.Alice, "pre-3"))
	assert.True(t, b.scenario.Checked("pre-3"), "ticking again, with a webhook, is recorded")
}

func TestSweepReplaysLostApproval(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.ReachApproval(ctx))

	b.fakes.GitHub.SuppressNextDeliveries(1)
	_, err := b.fakes.GitHub.SubmitReview(demo.People.Dana.Login, b.scenario.PR(), "approved", "LGTM")
	require.NoError(t, err)
	require.NoError(t, b.scenario.Settle(ctx))
	assert.Equal(t, 0, countSignoffs(t, b.db), "the lost review signed nothing yet")

	b.sweep(t)
	assert.Equal(t, 1, countSignoffs(t, b.db), "the sweep replays the approving review")
	b.sweep(t)
	assert.Equal(t, 1, countSignoffs(t, b.db), "a second sweep does not sign twice")
}

func TestSweepReplaysLostCommand(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.ReachApproval(ctx))

	b.fakes.GitHub.SuppressNextDeliveries(1)
	_, err := b.fakes.GitHub.UserComment(demo.People.Erin.Login, b.scenario.Issue(), "/mlops approve #1")
	require.NoError(t, err)
	require.NoError(t, b.scenario.Settle(ctx))
	require.Equal(t, 0, countSignoffs(t, b.db))

	b.sweep(t)
	assert.Equal(t, 1, countSignoffs(t, b.db), "the command whose webhook was lost is applied")
}

func TestSignOffStatusFollowsRequest(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.ReachApproval(ctx))
	pr, ok := b.fakes.GitHub.Issue(b.scenario.PR())
	require.True(t, ok)

	status, ok := b.fakes.GitHub.LatestStatus(pr.HeadSHA, bot.StatusContext)
	require.True(t, ok, "the linked pull request carries the sign-off status")
	assert.Equal(t, "pending", status.State)

	for _, approver := range []demo.Person{demo.People.Dana, demo.People.Erin} {
		_, err := b.fakes.GitHub.SubmitReview(approver.Login, b.scenario.PR(), "approved", "LGTM")
		require.NoError(t, err)
		require.NoError(t, b.scenario.Settle(ctx))
	}
	status, _ = b.fakes.GitHub.LatestStatus(pr.HeadSHA, bot.StatusContext)
	assert.Equal(t, "success", status.State, "approved requests pass the status")
}

func countSignoffs(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM signoffs WHERE revoked_at IS NULL`).Scan(&n))
	return n
}

func TestCrashDuringActionNeedsAttentionThenRetry(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.ReachApproval(ctx))

	// The promotion is caught inside its MLflow transition, and its job
	// and request are aged as a process killed at that moment leaves them.
	release := b.fakes.MLflow.Hold("model-versions/transition-stage")
	defer release()
	for _, approver := range []demo.Person{demo.People.Dana, demo.People.Erin} {
		_, err := b.fakes.GitHub.SubmitReview(approver.Login, b.scenario.PR(), "approved", "LGTM")
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return actionRunning(b) }, 20*time.Second, 10*time.Millisecond, "the action runs")
	time.Sleep(200 * time.Millisecond) // let it reach the held transition
	require.Equal(t, bot.StateActing, requestState(t, b.db))
	_, err := b.app.db.SQL.Exec(`UPDATE river_job SET attempted_at = '2000-01-01 00:00:00' WHERE kind = 'action'`)
	require.NoError(t, err)
	_, err = b.app.db.SQL.Exec(`UPDATE requests SET updated_at = '2000-01-01T00:00:00Z'`)
	require.NoError(t, err)

	require.Eventually(t, func() bool { return pendingDeliveries(b) == 0 }, 20*time.Second, 10*time.Millisecond,
		"the sweep skips requests with deliveries still waiting")
	require.NoError(t, b.app.workers.Sweep(ctx))
	assert.Equal(t, bot.StateNeedsAttention, requestState(t, b.db))
	release()
	require.NoError(t, b.scenario.Settle(ctx))
	assert.Contains(t, b.comments(b.scenario.Issue()), "run `/mlops retry #1`")
	assert.Equal(t, bot.StateNeedsAttention, requestState(t, b.db), "a result after the heartbeat timeout does not count")

	_, err = b.fakes.GitHub.UserComment(demo.People.Dana.Login, b.scenario.Issue(), "/mlops retry #1")
	require.NoError(t, err)
	require.NoError(t, b.scenario.Settle(ctx))
	assert.Equal(t, bot.StateDeploying, requestState(t, b.db), "the retried promotion finishes")
	v3, _ := b.fakes.MLflow.Version(demo.Model, "3")
	assert.Equal(t, "Production", v3.CurrentStage)
	transitions := 0
	for _, tr := range b.fakes.MLflow.History(demo.Model) {
		if tr.Version == "3" && tr.To == "Production" {
			transitions++
		}
	}
	assert.Equal(t, 1, transitions, "the version moved to Production once: the retry found it there")
}

func pendingDeliveries(b *liveBot) int {
	var n int
	_ = b.db.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL`).Scan(&n)
	return n
}

func actionRunning(b *liveBot) bool {
	var n int
	_ = b.db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'action' AND state = 'running'`).Scan(&n)
	return n > 0
}

func requestState(t *testing.T, db *sql.DB) string {
	t.Helper()
	var state string
	require.NoError(t, db.QueryRow(`SELECT state FROM requests ORDER BY id LIMIT 1`).Scan(&state))
	return state
}

func TestRoleNamesMustMatchTheSOPs(t *testing.T) {
	fakes, err := demo.StartFakes()
	require.NoError(t, err)
	defer fakes.Close()
	cfg := fakes.Config(filepath.Join(t.TempDir(), "sopbot.db"))
	cfg.Roles["compliance oficer"] = cfg.Roles["compliance officer"]

	_, err = newApp(context.Background(), cfg, newLogger(io.Discard, "error"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `roles["compliance oficer"] is not a role member of any SOP`)
}

func TestAuditVerifyNamesTruncatedChain(t *testing.T) {
	b := startLiveBot(t)
	require.NoError(t, b.scenario.Open(context.Background()))
	n, head, err := b.app.db.VerifyAudit(context.Background())
	require.NoError(t, err)
	require.Positive(t, n)
	assert.NotEmpty(t, head.Hash, "verify returns the head to keep elsewhere")
}

func TestBackupWhileTheBotRuns(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))

	target := filepath.Join(t.TempDir(), "copy.db")
	var database string
	require.NoError(t, b.db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&database))
	require.NoError(t, backup(ctx, database, target))

	copyDB, err := demo.OpenReadOnly(target)
	require.NoError(t, err)
	defer copyDB.Close()
	var requests int
	require.NoError(t, copyDB.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&requests))
	assert.Equal(t, 1, requests, "the copy holds the open request")
	assert.Error(t, backup(ctx, database, target), "an existing file is never overwritten")
}

func TestMetricsEndpoint(t *testing.T) {
	b := startLiveBot(t)
	require.NoError(t, b.scenario.Open(context.Background()))

	resp, err := http.Get(b.scenario.ServerURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(body)
	assert.Contains(t, text, `sopbot_deliveries_total{event="slash_command",outcome="received",source="slack"} 1`)
	assert.Contains(t, text, `sopbot_deliveries_total{event="slash_command",outcome="processed",source="slack"} 1`)
	assert.Contains(t, text, `sopbot_requests{sop="SOP-02",state="awaiting-review"} 1`)
	assert.Contains(t, text, `sopbot_jobs_total{kind="open_issue",outcome="done"} 1`)
	assert.Contains(t, text, "sopbot_queue_oldest_available_seconds")
}

func TestSweepLeavesPendingBotWritesAlone(t *testing.T) {
	b := startLiveBot(t)
	ctx := context.Background()
	require.NoError(t, b.scenario.Open(ctx))
	// A tick the bot recorded whose sync job has not run yet: the store
	// says ticked, GitHub does not.
	_, err := b.app.db.SQL.Exec(`UPDATE items SET checked = 1, by_login = 'sopbot' WHERE key = 'pre-3'`)
	require.NoError(t, err)
	_, err = b.app.queue.Insert(ctx, bot.SyncItemsArgs{RequestID: 1, Keys: []string{"pre-3"}}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)

	require.NoError(t, b.app.workers.Sweep(ctx))
	assert.NotContains(t, b.comments(b.scenario.Issue()), "without a webhook", "a pending write of the bot is no drift")
}

// insertInterruptedJob stores a job as a process killed while it ran the
// job's attempt leaves it: running, attempted a minute ago by a client
// that is gone. River's rescuer leaves such a job alone until
// RescueStuckJobsAfter (5 minutes) has passed since that attempt.
func insertInterruptedJob(t *testing.T, database string, args river.JobArgs, attempt, maxAttempts int) int64 {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, database)
	require.NoError(t, err)
	defer db.Close()
	client, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{})
	require.NoError(t, err)
	inserted, err := client.Insert(ctx, args, &river.InsertOpts{MaxAttempts: maxAttempts})
	require.NoError(t, err)
	attempted := time.Now().UTC().Add(-time.Minute).Format("2006-01-02 15:04:05.000")
	_, err = db.SQL.Exec(`UPDATE river_job SET state = 'running', attempt = ?, attempted_at = ?,
		attempted_by = jsonb('["killed-client"]') WHERE id = ?`, attempt, attempted, inserted.Job.ID)
	require.NoError(t, err)
	return inserted.Job.ID
}

type rescuedJob struct {
	state, errors string
	attempt       int
}

func readJob(t *testing.T, db *sql.DB, id int64) rescuedJob {
	t.Helper()
	var job rescuedJob
	require.NoError(t, db.QueryRow(`SELECT state, attempt, coalesce(json(errors), '') FROM river_job WHERE id = ?`, id).
		Scan(&job.state, &job.attempt, &job.errors))
	return job
}

func TestStartRunsJobsLeftRunningAtOnce(t *testing.T) {
	logs := &syncBuffer{}
	var retried, exhausted int64
	b := startLiveBotWith(t, liveBotOptions{log: logs, prepare: func(t *testing.T, database string) {
		retried = insertInterruptedJob(t, database, bot.NotifyArgs{Channel: demo.Channel, Text: "notice after the crash"}, 1, 25)
		exhausted = insertInterruptedJob(t, database, bot.NotifyArgs{Channel: demo.Channel, Text: "notice out of attempts"}, 3, 3)
	}})

	// River's own rescuer would free the job about 4 minutes from now.
	require.Eventually(t, func() bool { return readJob(t, b.db, retried).state == "completed" }, 30*time.Second, 10*time.Millisecond,
		"the job left running is worked soon after start")
	job := readJob(t, b.db, retried)
	assert.Equal(t, 2, job.attempt, "the interrupted attempt counts")
	assert.Contains(t, job.errors, interruptedReason, "the job's errors say that its process stopped")
	var texts []string
	for _, m := range b.fakes.Slack.Messages() {
		texts = append(texts, m.Text)
	}
	assert.Contains(t, texts, "notice after the crash", "the rescued job ran")
	assert.NotContains(t, texts, "notice out of attempts", "the discarded job did not run")

	job = readJob(t, b.db, exhausted)
	assert.Equal(t, "discarded", job.state, "a job on its last attempt is discarded")
	assert.Contains(t, job.errors, interruptedReason)

	var rescueLines int
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "requeued jobs left running by a stopped process") {
			rescueLines++
			assert.Contains(t, line, `"available":1`)
			assert.Contains(t, line, `"discarded":1`)
		}
	}
	assert.Equal(t, 1, rescueLines, "the start logs how many jobs it returned to the queue")
}
