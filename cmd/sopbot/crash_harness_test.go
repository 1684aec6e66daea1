package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/internal/demo"
	"github.com/sopbot/sopbot/sop"
)

// crashPlan sizes one run of the crash harness.
type crashPlan struct {
	Deliveries int    // signed deliveries the harness makes, at least
	Requests   int    // promotion requests, each for its own model
	Kills      int    // SIGKILLs, at random moments
	Seed       uint64 // seeds the workload and the moments of the kills
	// Settle bounds each wait for the bot after the last noise delivery:
	// for the promotions to reach their last steps, then for the bot to
	// finish.
	Settle time.Duration
}

// slackSenders is how many slash commands the harness has in flight at
// most.
const slackSenders = 4

// maxBacklog is how many stored deliveries may wait for processing before
// the harness pauses its noise. The bot processes the deliveries of one
// issue in arrival order, and a delivery that waits snoozes every 100 ms,
// so a large backlog drains far more slowly than a small one.
const maxBacklog = 200

// crashBenignPickle is a protocol-2 pickle of {"threshold": 0.5} that
// imports nothing, for the models' artifacts.
var crashBenignPickle = []byte("\x80\x02}q\x00X\x09\x00\x00\x00thresholdG?\xe0\x00\x00\x00\x00\x00\x00s.")

// crashRequest is one promotion and how far the harness has driven it.
type crashRequest struct {
	model     string
	requester demo.Person
	step      int
	pr        int
	issue     int
	requestID int64
}

// crashHarness runs the sopbot binary against the demo's fakes, makes the
// deliveries of many promotions and of noise around them, and kills and
// restarts the process at random moments.
type crashHarness struct {
	t        *testing.T
	plan     crashPlan
	random   *rand.Rand
	fakes    *demo.Fakes
	bin      string
	config   string
	address  string // the bot's fixed loopback host:port
	database string
	db       *sql.DB
	logPath  string
	sop      *sop.SOP

	proc     *exec.Cmd
	procDone chan struct{}
	running  bool

	requests []*crashRequest
	started  int            // requests whose command has been sent
	sent     int            // deliveries made by the harness
	made     map[string]int // deliveries made, by kind
	kills    []int

	senders      chan struct{} // one token per Slack sender at work
	slack        sync.WaitGroup
	slackMu      sync.Mutex
	slackStored  map[string]bool // trigger_id of every slash command whose reply reports it stored
	slackFailed  int             // commands without a 200
	slackRefused int             // commands whose reply is "could not record"
	redelivered  int
	stranded     int
	restarts     []time.Duration
}

func runCrashHarness(t *testing.T, plan crashPlan) {
	started := time.Now()
	h := newCrashHarness(t, plan)
	h.start()
	defer h.stop()

	h.drive()
	sending := time.Since(started)
	lastKill := time.Now()
	h.settle()
	settled := time.Since(lastKill)

	h.check()
	t.Logf("%d harness deliveries, %d GitHub deliveries in all, %d requests, %d kills, %d redeliveries, %d jobs left running by a kill",
		h.sent, len(h.fakes.GitHub.Deliveries()), len(h.requests), len(h.kills), h.redelivered, h.stranded)
	t.Logf("Slack commands: %d recorded, %d without a 200, %d replied \"could not record\"",
		len(h.slackStored), h.slackFailed, h.slackRefused)
	t.Logf("sending took %s, the bot settled %s after the last delivery, %s in all",
		sending.Round(time.Millisecond), settled.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	t.Logf("deliveries made by kind: %v", h.made)
	t.Logf("restarts until ready: %v", h.restarts)
}

func newCrashHarness(t *testing.T, plan crashPlan) *crashHarness {
	t.Helper()
	h := &crashHarness{t: t, plan: plan, random: rand.New(rand.NewPCG(plan.Seed, plan.Seed+1)),
		bin: buildBinary(t), slackStored: map[string]bool{}, made: map[string]int{}, senders: make(chan struct{}, slackSenders)}
	lib, err := sop.Embedded()
	require.NoError(t, err)
	var ok bool
	h.sop, ok = lib.Get("SOP-02")
	require.True(t, ok)

	h.fakes, err = demo.StartFakes()
	require.NoError(t, err)
	t.Cleanup(h.fakes.Close)

	dir := t.TempDir()
	database := filepath.Join(dir, "sopbot.db")
	h.database = database
	h.address = freeLoopbackAddress(t)
	h.logPath = filepath.Join(dir, "sopbot.log")
	h.config = filepath.Join(dir, "config.yaml")
	h.writeConfig(database)
	require.NoError(t, h.fakes.GitHub.SetWebhookURL("http://"+h.address+"/github/webhook"))

	for i := range plan.Requests {
		model := fmt.Sprintf("model-%02d", i+1)
		h.seedModel(model)
		requester := demo.People.Alice
		if i%2 == 1 {
			requester = demo.People.Mallory
		}
		h.requests = append(h.requests, &crashRequest{model: model, requester: requester})
	}
	for range plan.Kills {
		h.kills = append(h.kills, plan.Deliveries/20+h.random.IntN(plan.Deliveries*17/20))
	}

	h.db, err = demo.OpenReadOnly(database)
	require.NoError(t, err)
	t.Cleanup(func() { _ = h.db.Close() })
	return h
}

// freeLoopbackAddress returns a loopback port that was free a moment ago.
// The bot listens on it across restarts, so the webhook URL never changes.
func freeLoopbackAddress(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	address := ln.Addr().String()
	require.NoError(t, ln.Close())
	return address
}

// writeConfig writes the demo's configuration with every model's
// thresholds, secrets included, as demo.Fakes.ConfigYAML does.
func (h *crashHarness) writeConfig(database string) {
	cfg := h.fakes.Config(database)
	cfg.Listen = h.address
	thresholds := cfg.MLflow.Models[demo.Model]
	for i := range h.plan.Requests {
		cfg.MLflow.Models[fmt.Sprintf("model-%02d", i+1)] = config.ModelPolicy{Metrics: thresholds.Metrics}
	}
	data, err := json.Marshal(cfg)
	require.NoError(h.t, err)
	var doc map[string]any
	require.NoError(h.t, json.Unmarshal(data, &doc))
	github, slackDoc := doc["github"].(map[string]any), doc["slack"].(map[string]any)
	github["privateKey"] = string(h.fakes.PrivateKeyPEM)
	github["webhookSecret"] = string(h.fakes.WebhookSecret)
	slackDoc["botToken"] = h.fakes.BotToken
	slackDoc["signingSecret"] = string(h.fakes.SigningSecret)
	out, err := yaml.Marshal(doc)
	require.NoError(h.t, err)
	require.NoError(h.t, os.WriteFile(h.config, out, 0o600))
}

// seedModel registers version 1 in Production and the candidate version 2
// in Staging, with runs whose metrics pass the thresholds, and version 2's
// artifacts.
func (h *crashHarness) seedModel(model string) {
	m := h.fakes.MLflow
	m.AddVersion(model, "1", "Production", nil)
	m.AddVersion(model, "2", "Staging", nil)
	m.AddRun(mlflow.Run{ID: "run-" + model + "-1", Name: model + "-1",
		Metrics: map[string]float64{"accuracy": 0.941, "auc": 0.962, "latency_p95_ms": 38},
		Params:  map[string]string{"dataset_version": "2026-10-31"}})
	m.AddRun(mlflow.Run{ID: "run-" + model + "-2", Name: model + "-2",
		Metrics: map[string]float64{"accuracy": 0.947, "auc": 0.965, "latency_p95_ms": 41},
		Params:  map[string]string{"dataset_version": "2026-11-30"}})
	m.SetVersionRun(model, "1", "run-"+model+"-1", "")
	m.SetVersionRun(model, "2", "run-"+model+"-2", "")
	m.AddArtifact("run-"+model+"-2", "model/MLmodel", []byte("artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n"))
	m.AddArtifact("run-"+model+"-2", "model/model.pkl", crashBenignPickle)
}

// start runs the binary and waits until it is ready.
func (h *crashHarness) start() {
	began := time.Now()
	logFile, err := os.OpenFile(h.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(h.t, err)
	defer logFile.Close()
	h.proc = exec.Command(h.bin, "serve", "--config", h.config)
	h.proc.Env = append(os.Environ(), "SOPBOT_LOG_LEVEL=warn")
	h.proc.Stderr = logFile
	require.NoError(h.t, h.proc.Start())
	h.procDone = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(h.proc, h.procDone)

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + h.address + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-h.procDone:
			h.t.Fatalf("sopbot exited at start-up:\n%s", h.logTail())
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("sopbot was not ready within 30s:\n%s", h.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.running = true
	h.restarts = append(h.restarts, time.Since(began).Round(time.Millisecond))
}

// kill sends SIGKILL to the bot's process and waits for it to exit.
func (h *crashHarness) kill() {
	require.NoError(h.t, h.proc.Process.Signal(syscall.SIGKILL))
	<-h.procDone
	h.running = false
}

func (h *crashHarness) stop() {
	if h.running {
		_ = h.proc.Process.Signal(os.Interrupt)
		select {
		case <-h.procDone:
		case <-time.After(15 * time.Second):
			h.kill()
		}
		h.running = false
	}
}

func (h *crashHarness) logTail() string {
	data, _ := os.ReadFile(h.logPath)
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	return string(data)
}

// drive makes the deliveries: each promotion's steps when the bot is
// ready for them, and noise in between, killing the bot at the planned
// moments.
func (h *crashHarness) drive() {
	killed := 0
	var noiseDone time.Time
	for h.sent < h.plan.Deliveries || !h.allPromoted() {
		if killed < len(h.kills) && h.sent >= h.kills[killed] {
			killed++
			h.crash()
		}
		// Requests open over the first half of the run.
		if h.started < len(h.requests) && h.sent >= h.started*h.plan.Deliveries/(2*len(h.requests)) {
			h.advance(h.requests[h.started])
			h.started++
			continue
		}
		if h.random.IntN(4) == 0 && h.advanceSome() {
			continue
		}
		if h.sent >= h.plan.Deliveries {
			// Only promotions are left: wait for the bot to catch up.
			if noiseDone.IsZero() {
				noiseDone = time.Now()
			}
			if time.Since(noiseDone) > h.plan.Settle {
				h.t.Fatalf("the promotions did not reach their last steps within %s\n%s", h.plan.Settle, h.stuck())
			}
			h.waitQueue()
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if len(h.withIssue()) == 0 {
			// Noise needs an issue to comment on.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		h.noise()
		if h.sent%25 == 0 {
			h.waitQueue()
			h.waitBacklog()
		}
	}
	h.slack.Wait()
}

// waitBacklog waits while more than maxBacklog stored deliveries wait for
// processing, at most Settle.
func (h *crashHarness) waitBacklog() {
	deadline := time.Now().Add(h.plan.Settle)
	for {
		var backlog int
		_ = h.db.QueryRow(`SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL`).Scan(&backlog)
		if backlog <= maxBacklog {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d deliveries still waited for processing after %s\n%s", backlog, h.plan.Settle, h.stuck())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withIssue returns the started requests whose issue is open, reading the
// issue number of those the harness has not seen one for yet.
func (h *crashHarness) withIssue() []*crashRequest {
	var out []*crashRequest
	for _, r := range h.requests[:h.started] {
		if r.issue == 0 {
			h.refresh(r)
		}
		if r.issue != 0 {
			out = append(out, r)
		}
	}
	return out
}

// crash kills the bot, makes some deliveries while it is down, restarts it
// and redelivers what it missed, as GitHub's redelivery and a user who
// types the command again would.
func (h *crashHarness) crash() {
	time.Sleep(time.Duration(h.random.IntN(50)) * time.Millisecond)
	h.kill()
	for range h.random.IntN(5) {
		h.noise()
	}
	h.waitQueue()
	h.slack.Wait()
	h.countStranded()
	h.start()
	h.redeliver()
}

// countStranded counts the jobs that the killed process left running,
// while no process has the database open. The next process requeues them
// as it starts.
func (h *crashHarness) countStranded() {
	db, err := sql.Open("sqlite", "file:"+h.database+"?_pragma=busy_timeout(5000)")
	require.NoError(h.t, err)
	defer db.Close()
	var n int
	require.NoError(h.t, db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state = 'running'`).Scan(&n))
	h.stranded += n
}

// redeliver sends again every GitHub delivery that has not been
// acknowledged yet.
func (h *crashHarness) redeliver() {
	h.waitQueue()
	acked, waiting := map[string]bool{}, map[string]bool{}
	var missed []string
	for _, d := range h.fakes.GitHub.Deliveries() {
		switch {
		case d.Status >= 200 && d.Status < 300:
			acked[d.ID] = true
		case d.Status == 0 && d.Error == "":
			waiting[d.ID] = true
		}
	}
	seen := map[string]bool{}
	for _, d := range h.fakes.GitHub.Deliveries() {
		if !acked[d.ID] && !waiting[d.ID] && !seen[d.ID] {
			seen[d.ID] = true
			missed = append(missed, d.ID)
		}
	}
	for _, id := range missed {
		require.NoError(h.t, h.fakes.GitHub.Redeliver(id))
		h.redelivered++
	}
}

// waitQueue waits until the GitHub fake has sent every queued delivery.
func (h *crashHarness) waitQueue() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(h.t, h.fakes.GitHub.WaitIdle(ctx))
}

func (h *crashHarness) allPromoted() bool {
	for _, r := range h.requests {
		if r.step < promotionDone {
			return false
		}
	}
	return true
}

// advanceSome advances one of the started requests that is ready for its
// next step.
func (h *crashHarness) advanceSome() bool {
	for _, i := range h.random.Perm(h.started) {
		if h.advance(h.requests[i]) {
			return true
		}
	}
	return false
}

// The steps of a promotion, as the demo scenario plays them.
const (
	promotionCommand = iota
	promotionPrecondition
	promotionPullRequest
	promotionParity
	promotionReviewBob
	promotionReviewCarol
	promotionCompliance
	promotionApproveDana
	promotionApproveErin
	promotionDeployment
	promotionDone
)

// advance makes the request's next step when the bot's state allows it,
// and reports whether it did.
func (h *crashHarness) advance(r *crashRequest) bool {
	p := demo.People
	switch r.step {
	case promotionCommand:
		h.slashCommandAcked(r.requester, "promote model "+r.model+" 2")
	case promotionPrecondition:
		if _, ok := h.refresh(r); !ok || r.issue == 0 {
			return false
		}
		h.tick(r, r.requester, "pre-3")
	case promotionPullRequest:
		body := fmt.Sprintf("Serve %s v2.\n\nSOP request: #%d", r.model, r.issue)
		pr, _, err := h.fakes.GitHub.OpenPullRequest(r.requester.Login, "Serve "+r.model+" v2", body)
		require.NoError(h.t, err)
		r.pr = pr
		h.count("pull request opened")
	case promotionParity:
		// A check run that the bot processes before it links the pull
		// request to the request counts for no request.
		var linked int
		_ = h.db.QueryRow(`SELECT COUNT(*) FROM pull_requests WHERE request_id = ? AND number = ?`, r.requestID, r.pr).Scan(&linked)
		if linked == 0 {
			return false
		}
		require.NoError(h.t, h.fakes.GitHub.CompleteCheckRun("ci-runner[bot]", r.pr, demo.ParityCheck, "success"))
		h.count("check run completed")
	case promotionReviewBob:
		h.tick(r, p.Bob, "s2-1", "s2-3")
	case promotionReviewCarol:
		h.tick(r, p.Carol, "s2-4")
	case promotionCompliance:
		h.tick(r, p.Erin, h.keys("step-3")...)
	case promotionApproveDana, promotionApproveErin:
		state, _ := h.refresh(r)
		if state != "awaiting-approval" && state != "acting" && state != "deploying" {
			return false
		}
		approver := p.Dana
		if r.step == promotionApproveErin {
			approver = p.Erin
		}
		_, err := h.fakes.GitHub.SubmitReview(approver.Login, r.pr, "approved", "LGTM")
		require.NoError(h.t, err)
		h.count("approving review")
	case promotionDeployment:
		if state, _ := h.refresh(r); state != "deploying" {
			return false
		}
		h.tick(r, r.requester, h.keys("step-5")...)
	default:
		return false
	}
	r.step++
	return true
}

// refresh reads the request's id, state and issue from the bot's
// database.
func (h *crashHarness) refresh(r *crashRequest) (string, bool) {
	var id int64
	var state string
	var issue sql.NullInt64
	err := h.db.QueryRow(`SELECT id, state, issue_number FROM requests WHERE target = ? ORDER BY id DESC LIMIT 1`,
		"model:"+r.model+":Production").Scan(&id, &state, &issue)
	if err != nil {
		return "", false
	}
	r.requestID, r.issue = id, int(issue.Int64)
	return state, true
}

func (h *crashHarness) keys(section string) []string {
	sec, _ := h.sop.Section(section)
	var keys []string
	for _, item := range sec.Items {
		keys = append(keys, item.Key)
	}
	return keys
}

// tick ticks the boxes that are not ticked yet, in one edit as p.
func (h *crashHarness) tick(r *crashRequest, p demo.Person, keys ...string) {
	issue, ok := h.fakes.GitHub.Issue(r.issue)
	require.True(h.t, ok, "issue #%d", r.issue)
	body, changed := issue.Body, false
	for _, key := range keys {
		var flipped bool
		body, flipped = sop.SetChecked(body, key, true)
		changed = changed || flipped
	}
	if !changed {
		return
	}
	require.NoError(h.t, h.fakes.GitHub.UserEditBody(p.Login, r.issue, body))
	h.count("tick")
}

// count counts one delivery the harness made.
func (h *crashHarness) count(kind string) {
	h.sent++
	h.made[kind]++
}

// noise makes one delivery that changes no request: comments, status and
// help commands, a repeated command by someone who holds no approval role,
// and commented reviews.
func (h *crashHarness) noise() {
	p := demo.People
	people := []demo.Person{p.Alice, p.Bob, p.Carol, p.Dana, p.Erin, p.Mallory}
	who := people[h.random.IntN(len(people))]
	var r *crashRequest
	if candidates := h.withIssue(); len(candidates) > 0 {
		r = candidates[h.random.IntN(len(candidates))]
	}
	switch n := h.random.IntN(100); {
	case r != nil && n < 40:
		_, err := h.fakes.GitHub.UserComment(who.Login, r.issue, fmt.Sprintf("Looked at this; note %d.", h.sent))
		require.NoError(h.t, err)
		h.count("comment")
	case r != nil && n < 50:
		_, err := h.fakes.GitHub.UserComment(who.Login, r.issue, fmt.Sprintf("/mlops status #%d", r.issue))
		require.NoError(h.t, err)
		h.count("status command in a comment")
	case r != nil && r.pr != 0 && n < 55:
		_, err := h.fakes.GitHub.SubmitReview(p.Carol.Login, r.pr, "commented", "A question about the thresholds.")
		require.NoError(h.t, err)
		h.count("commented review")
	case r != nil && n < 80:
		h.slashCommand(who, fmt.Sprintf("status #%d", r.issue))
		h.count("status command in Slack")
	case r != nil && r.step <= promotionDeployment && n < 85:
		// Carol is neither the requester nor an approver, so her command
		// only points at the open request.
		h.slashCommand(p.Carol, "promote model "+r.model+" 2")
		h.count("repeated promote command")
	default:
		h.slashCommand(who, "help")
		h.count("help command")
	}
}

// slashCommand sends a command in the background, from one of
// slackSenders senders, and records whether the bot recorded it.
func (h *crashHarness) slashCommand(p demo.Person, text string) {
	h.senders <- struct{}{}
	h.slack.Add(1)
	go func() {
		defer func() { <-h.senders; h.slack.Done() }()
		h.record(h.postSlashCommand(p, text))
	}()
}

// record counts a slash command's outcome and returns whether the bot
// recorded it.
func (h *crashHarness) record(trigger, reply string, err error) bool {
	h.slackMu.Lock()
	defer h.slackMu.Unlock()
	switch {
	case err != nil:
		h.slackFailed++
	case strings.Contains(reply, "could not record"):
		h.slackRefused++
	case strings.HasPrefix(reply, "Working on") || strings.HasPrefix(reply, "This command was already received"):
		h.slackStored[trigger] = true
		return true
	}
	// The bot replies to help and usage errors at once and stores nothing.
	return false
}

// slashCommandAcked sends a command until the bot acknowledges it, with a
// new trigger_id each time, as a user who types it again would.
func (h *crashHarness) slashCommandAcked(p demo.Person, text string) {
	for attempt := 0; ; attempt++ {
		trigger, reply, err := h.postSlashCommand(p, text)
		h.count("promote command")
		if h.record(trigger, reply, err) {
			return
		}
		require.Less(h.t, attempt, 20, "the command %q was never recorded: %q, %v", text, reply, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// postSlashCommand posts one signed slash command as Slack sends it and
// returns its trigger_id and the text of the bot's reply.
func (h *crashHarness) postSlashCommand(p demo.Person, text string) (string, string, error) {
	trigger := fmt.Sprintf("crash.%d.%d", h.plan.Seed, time.Now().UnixNano())
	form := url.Values{
		"team_id": {"T0DEMO"}, "channel_id": {demo.Channel}, "user_id": {p.Slack}, "user_name": {p.Login},
		"command": {"/mlops"}, "text": {text}, "api_app_id": {"A0SOPBOT"},
		"response_url": {h.fakes.Slack.NewResponseURL()}, "trigger_id": {trigger},
	}
	body := []byte(form.Encode())
	ts := time.Now().Unix()
	req, err := http.NewRequest(http.MethodPost, "http://"+h.address+"/slack/commands", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", slack.Sign(h.fakes.SigningSecret, ts, body))
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("slash command returned status %d", resp.StatusCode)
	}
	var reply demo.SlackReply
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		return "", "", fmt.Errorf("reading the slash command's reply: %w", err)
	}
	return trigger, reply.Text, nil
}

// settle redelivers what is still unacknowledged and waits until every
// request is done and the bot has nothing left to do.
func (h *crashHarness) settle() {
	deadline := time.Now().Add(h.plan.Settle)
	reported := time.Now()
	for {
		h.redeliver()
		h.waitQueue()
		pending, done := h.pendingWork()
		if pending == 0 && done == len(h.requests) {
			return
		}
		if time.Since(reported) > 30*time.Second {
			reported = time.Now()
			h.t.Logf("still waiting: %d jobs or deliveries pending, %d of %d requests done\n%s",
				pending, done, len(h.requests), h.pendingJobs())
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the bot did not settle within %s: %d jobs or deliveries pending, %d of %d requests done\n%s",
				h.plan.Settle, pending, done, len(h.requests), h.stuck())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (h *crashHarness) pendingWork() (pending, done int) {
	_ = h.db.QueryRow(`SELECT
		(SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL) +
		(SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending')
			OR (state = 'scheduled' AND kind != 'sweep'))`).Scan(&pending)
	_ = h.db.QueryRow(`SELECT COUNT(*) FROM requests WHERE state = 'done'`).Scan(&done)
	return pending, done
}

// pendingJobs lists the jobs the bot has not finished.
func (h *crashHarness) pendingJobs() string {
	var b strings.Builder
	rows, err := h.db.Query(`SELECT kind, state, attempt, COALESCE(attempted_at, ''), scheduled_at FROM river_job
		WHERE state NOT IN ('completed', 'cancelled', 'discarded') ORDER BY id LIMIT 20`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state, attempted, scheduled string
		var attempt int
		_ = rows.Scan(&kind, &state, &attempt, &attempted, &scheduled)
		fmt.Fprintf(&b, "job %s %s, attempt %d at %s, scheduled at %s\n", kind, state, attempt, attempted, scheduled)
	}
	return b.String()
}

// stuck describes what the bot has left, for a failure message.
func (h *crashHarness) stuck() string {
	var b strings.Builder
	b.WriteString(h.pendingJobs())
	rows, err := h.db.Query(`SELECT id, state, target FROM requests WHERE state != 'done'`)
	if err == nil {
		for rows.Next() {
			var id int64
			var state, target string
			_ = rows.Scan(&id, &state, &target)
			fmt.Fprintf(&b, "request R-%d %s %s\n", id, target, state)
		}
		rows.Close()
	}
	return b.String() + "\nlog:\n" + h.logTail()
}

// check asserts the end state: nothing acknowledged was lost, no effect
// happened twice, and every request is in the state its deliveries imply.
func (h *crashHarness) check() {
	t := h.t
	acked := map[string]bool{}
	for _, d := range h.fakes.GitHub.Deliveries() {
		if d.Status >= 200 && d.Status < 300 {
			acked["github:"+d.ID] = true
		}
	}
	h.slackMu.Lock()
	for trigger := range h.slackStored {
		acked["slack:"+trigger] = true
	}
	h.slackMu.Unlock()
	stored := map[string]bool{}
	rows, err := h.db.Query(`SELECT id, processed_at IS NOT NULL FROM deliveries`)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		var processed bool
		require.NoError(t, rows.Scan(&id, &processed))
		stored[id] = processed
	}
	require.NoError(t, rows.Err())
	rows.Close()
	lost, unprocessed := 0, 0
	for id := range acked {
		processed, ok := stored[id]
		switch {
		case !ok:
			lost++
		case !processed:
			unprocessed++
		}
	}
	assert.Zero(t, lost, "acknowledged deliveries missing from the store, of %d", len(acked))
	assert.Zero(t, unprocessed, "acknowledged deliveries stored but not processed")

	var requests int
	require.NoError(t, h.db.QueryRow(`SELECT COUNT(*) FROM requests`).Scan(&requests))
	assert.Equal(t, len(h.requests), requests, "one request per promoted model")
	issues := map[int64]int{}
	for _, issue := range h.fakes.GitHub.Issues() {
		if issue.PullRequest {
			continue
		}
		var id int64
		if _, err := fmt.Sscanf(issue.Body[strings.Index(issue.Body, "sopbot:request=R-"):], "sopbot:request=R-%d", &id); err == nil {
			issues[id]++
		}
	}
	for _, r := range h.requests {
		assert.Equal(t, 1, issues[r.requestID], "issues opened for R-%d (%s)", r.requestID, r.model)

		var state string
		require.NoError(t, h.db.QueryRow(`SELECT state FROM requests WHERE id = ?`, r.requestID).Scan(&state))
		assert.Equal(t, "done", state, "state of R-%d (%s)", r.requestID, r.model)
		issue, _ := h.fakes.GitHub.Issue(r.issue)
		assert.Equal(t, "closed", issue.State, "issue #%d of R-%d", r.issue, r.requestID)
		assert.True(t, allChecked(issue.Body), "every box of #%d is ticked", r.issue)

		promotions := 0
		for _, tr := range h.fakes.MLflow.History(r.model) {
			if tr.Version == "2" && tr.To == "Production" {
				promotions++
			}
		}
		assert.Equal(t, 1, promotions, "transitions of %s v2 to Production", r.model)
		v2, _ := h.fakes.MLflow.Version(r.model, "2")
		assert.Equal(t, "Production", v2.CurrentStage, "%s v2", r.model)
		assert.Contains(t, v2.Tags["sopbot.approved_by"], "dana (ML lead)", "%s v2 approvals", r.model)
		assert.Contains(t, v2.Tags["sopbot.approved_by"], "erin (compliance officer)", "%s v2 approvals", r.model)
	}
	if t.Failed() {
		t.Logf("bot log:\n%s", h.logTail())
	}
}

func allChecked(body string) bool {
	entries := sop.ReadChecklist(body)
	for _, e := range entries {
		if !e.Checked {
			return false
		}
	}
	return len(entries) > 0
}

// envInt reads a positive integer from the environment, or returns def.
//
//lint:ignore U1000 used by TestCrash, which builds only with the crash tag.
func envInt(t *testing.T, name string, def int) int {
	raw := os.Getenv(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q is invalid: want a positive integer", name, raw)
	}
	return n
}

func TestCrashShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	runCrashHarness(t, crashPlan{Deliveries: 150, Requests: 3, Kills: 3, Seed: 7, Settle: time.Minute})
}
