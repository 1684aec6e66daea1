package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"k8s.io/client-go/kubernetes"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/metrics"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/handlers"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/sop"
)

// app is the wired bot: store, queue, engine, workers and HTTP edge.
type app struct {
	db      *store.DB
	queue   *river.Client[*sql.Tx]
	server  *handlers.Server
	engine  *bot.Engine
	workers *bot.Workers
	log     *slog.Logger
	// admin serves pprof and /metrics apart from the public listener;
	// nil without admin.listen.
	admin       *handlers.AdminServer
	adminListen string
}

// appOptions replace parts of the wiring, for the demo and tests.
type appOptions struct {
	// kube replaces the configured cluster.
	kube kubernetes.Interface
	// actionPoll is how often a waiting infra action looks again; five
	// seconds when zero.
	actionPoll time.Duration
}

// newApp connects every part from cfg and returns to the queue the jobs
// that a stopped process left running (see rescueInterrupted), so only the
// process that is about to work the queue may call it. Nothing runs until
// run is called.
func newApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	return newAppWith(ctx, cfg, log, appOptions{})
}

func newAppWith(ctx context.Context, cfg config.Config, log *slog.Logger, opts appOptions) (*app, error) {
	lib, err := loadLibrary(cfg.SOPDir)
	if err != nil {
		return nil, err
	}
	if err := checkRoleNames(cfg, lib); err != nil {
		return nil, err
	}
	clients, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	for _, warning := range cfg.DriftWithoutRetraining() {
		log.Warn("configuration warning", "problem", warning)
	}
	unlock, err := store.LockServe(cfg.Database)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, cfg.Database)
	if err != nil {
		_ = unlock()
		return nil, err
	}
	// Every later failure closes the database and so releases the lock.
	db.OnClose(unlock)
	db.SetLogger(log.With("component", "store"))
	if err := seedInventory(ctx, db, cfg.Rotation); err != nil {
		db.Close()
		return nil, err
	}
	actions, err := newInfraActions(cfg, db, clients, opts, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := addRetrainActions(actions, cfg, db, clients, opts); err != nil {
		db.Close()
		return nil, err
	}

	meters := metrics.New(db.SQL)
	meters.RegisterDrift(db, log)
	directory := bot.NewDirectory(cfg, clients.github)
	grammar := bot.NewGrammar(lib)
	engine := &bot.Engine{DB: db, Library: lib, Grammar: grammar, Directory: directory,
		Settings: bot.Settings{Channel: cfg.Slack.Channel, Repository: cfg.GitHub.Repository, ParityCheck: cfg.Evidence.ParityCheck,
			SecretMaxAge:    func(kind string) int { return cfg.Rotation.Kinds[kind].MaxAgeDays },
			WindowDurations: cfg.Schedules.Windows.DurationMap()}, Log: log}
	workers := &bot.Workers{
		Engine: engine, GitHub: clients.github, Slack: clients.slack, Registry: clients.mlflow,
		Normalizer:     &handlers.Normalizer{Directory: directory, BotLogin: cfg.GitHub.BotLogin},
		InstallationID: cfg.GitHub.InstallationID, ModelPolicy: modelPolicy(cfg.MLflow), Log: log,
		Evidence: bot.EvidenceSettings{
			Thresholds:        func(model string) map[string]config.Threshold { return cfg.MLflow.Models[model].Metrics },
			DatasetVersionKey: cfg.Evidence.DatasetVersionKey,
			ScanMaxFileBytes:  cfg.Evidence.ScanMaxFileBytes,
			ScanMaxFiles:      cfg.Evidence.ScanMaxFiles,
		},
		Scanner:     &artifactScanner{},
		DriftChecks: cfg.Drift,
		Actions:     actions,
		Metrics:     meters,
	}
	workers.Scheduler = bot.NewScheduler(engine, bot.ScheduleSettingsOf(cfg), clients.mlflow, bot.ModelSearcherOf(clients.mlflow), log)
	normalizer := workers.Normalizer.(*handlers.Normalizer)
	normalizer.Installation = workers.Installation
	normalizer.SlackEmail = clients.slack.UserEmail
	queue, err := newQueue(db, workers, cfg.Drift, log)
	if err != nil {
		db.Close()
		return nil, err
	}
	if err := rescueInterrupted(ctx, db, workers, log); err != nil {
		db.Close()
		return nil, err
	}
	engine.Queue = queue

	server := &handlers.Server{
		DB: db, Queue: queue, Grammar: grammar,
		GitHubSecret: []byte(cfg.GitHub.WebhookSecret.Reveal()), SlackSecret: []byte(cfg.Slack.SigningSecret.Reveal()),
		Drift: engine, DriftToken: []byte(cfg.Retraining.APIToken.Reveal()), DriftPolicy: bot.RetrainPolicies(cfg),
		Repository: cfg.GitHub.Repository, InstallationID: cfg.GitHub.InstallationID, SlashCommand: bot.Prefix, Log: log,
		Metrics: meters,
	}
	a := &app{db: db, queue: queue, server: server, engine: engine, workers: workers, log: log}
	if cfg.Admin.Listen != "" {
		a.admin = &handlers.AdminServer{Registry: meters.Registry, PProf: cfg.Admin.PProf, Log: log}
		a.adminListen = cfg.Admin.Listen
	}
	return a, nil
}

type clients struct {
	github *github.Client
	slack  *slack.Client
	mlflow *mlflow.Client
}

func newClients(cfg config.Config) (clients, error) {
	owner, repo, _ := strings.Cut(cfg.GitHub.Repository, "/")
	var c clients
	var err error
	c.github, err = github.New(github.Config{BaseURL: cfg.GitHub.BaseURL, AppID: cfg.GitHub.AppID,
		PrivateKey: []byte(cfg.GitHub.PrivateKey.Reveal()), Owner: owner, Repo: repo})
	if err != nil {
		return c, fmt.Errorf("configuring GitHub: %w", err)
	}
	c.slack, err = slack.New(slack.Config{APIURL: cfg.Slack.APIURL, BotToken: cfg.Slack.BotToken.Reveal(),
		ResponseURLPrefixes: cfg.Slack.ResponseURLPrefixes})
	if err != nil {
		return c, fmt.Errorf("configuring Slack: %w", err)
	}
	c.mlflow, err = mlflow.New(mlflow.Config{BaseURL: cfg.MLflow.BaseURL, UIURL: cfg.MLflow.UIURL, Token: cfg.MLflow.Token.Reveal()})
	if err != nil {
		return c, fmt.Errorf("configuring MLflow: %w", err)
	}
	return c, nil
}

// loadLibrary loads the SOP files of dir, or the embedded library when dir
// is empty, and checks that the bot runs every check and action they name.
func loadLibrary(dir string) (*sop.Library, error) {
	var lib *sop.Library
	var err error
	source := "the embedded SOP library"
	if dir == "" {
		lib, err = sop.Embedded()
	} else {
		source = "SOP library from " + dir
		lib, err = sop.LoadDir(dir)
	}
	if err == nil {
		err = bot.ValidateLibrary(lib)
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", source, err)
	}
	return lib, nil
}

// modelPolicy returns the lookup of per-model aliases from the config.
func modelPolicy(cfg config.MLflow) func(model, stage string) (string, bool) {
	return func(model, stage string) (string, bool) {
		alias, ok := cfg.Models[model].Aliases[stage]
		return alias, ok && alias != ""
	}
}

func newQueue(db *store.DB, w *bot.Workers, checks []config.DriftCheck, log *slog.Logger) (*river.Client[*sql.Tx], error) {
	workers := river.NewWorkers()
	w.Register(workers)
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(bot.SweepInterval),
		func() (river.JobArgs, *river.InsertOpts) { return bot.SweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})}
	periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(w.Scheduler.TickInterval()),
		func() (river.JobArgs, *river.InsertOpts) { return bot.ScheduleTickArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
	for i, check := range checks {
		index := i
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(check.Interval()),
			func() (river.JobArgs, *river.InsertOpts) { return bot.DriftCheckArgs{Index: index}, nil }, nil))
	}
	client, err := river.NewClient(riversqlite.New(db.SQL), &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 8}},
		Workers:           workers,
		FetchCooldown:     50 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		// The workers log failed jobs at WARN or ERROR, so River's own INFO
		// lines about them are dropped.
		Logger: slog.New(bot.QueueLogHandler(log.Handler())).With("component", "queue"),
		// Jobs that fail keep retrying with River's exponential backoff;
		// an action sets its own lower attempt limit.
		MaxAttempts: 25,
		// A job still "running" this long after its start belonged to a
		// process that died, or hangs; River makes it available again.
		// rescueInterrupted frees the jobs of a process that died as soon
		// as the next one starts.
		RescueStuckJobsAfter: 5 * time.Minute,
		PeriodicJobs:         periodic,
		Middleware:           []rivertype.Middleware{w.Metrics.QueueMiddleware()},
	})
	if err != nil {
		return nil, fmt.Errorf("starting job queue: %w", err)
	}
	return client, nil
}

// interruptedReason is the attempt error that rescueInterrupted records
// on each job it moves.
const interruptedReason = "the process running this job stopped before the job finished; " +
	"the next process to start returned it to the queue"

// rescueInterrupted returns the jobs left in state running by a process
// that stopped without finishing them (a SIGKILL, a crash, a lost node) to
// the queue at once, as River's rescuer would after RescueStuckJobsAfter.
//
// This is safe only because one process works the queue at a time: the
// single replica, or the holder of the leader Lease (see
// serveAsCandidate), which calls newApp once it holds the Lease and before
// its River client starts. Every running job then belongs to a process
// that no longer works the queue. With two processes on one database, this
// would take jobs that the other is running and run them twice.
//
// NOTE: after a failed Lease renewal, client-go releases the Lease while
// the old leader's queue may still be stopping (see leader.Run). That stop
// waits up to 10s for running jobs, so a job still running there can run
// in the next leader too.
func rescueInterrupted(ctx context.Context, db *store.DB, workers *bot.Workers, log *slog.Logger) error {
	rescued, err := db.RescueRunningJobs(ctx, workers.Handles, interruptedReason)
	if err != nil {
		return err
	}
	if rescued.Total() > 0 {
		log.Info("requeued jobs left running by a stopped process", "component", "queue",
			"available", rescued.Available, "discarded", rescued.Discarded, "cancelled", rescued.Cancelled)
	}
	return nil
}

// run serves HTTP on ln, and on the admin listener when one is
// configured, and works the queue until ctx is cancelled.
func (a *app) run(ctx context.Context, ln net.Listener) error {
	adminCtx, stopAdmin := context.WithCancel(ctx)
	defer stopAdmin()
	adminDone, err := a.startAdmin(adminCtx)
	if err != nil {
		return errors.Join(err, a.db.Close())
	}
	if err := a.queue.Start(ctx); err != nil {
		return fmt.Errorf("starting job queue: %w", err)
	}
	err = serveHTTP(ctx, ln, a.server.Routes(), a.log)
	stopAdmin()
	err = errors.Join(err, <-adminDone, a.stop())
	a.log.Info("sopbot stopped")
	return err
}

// startAdmin listens on the admin address and serves it until ctx is
// cancelled. The returned channel receives the result of serving, or nil
// at once when no admin listener is configured.
func (a *app) startAdmin(ctx context.Context) (<-chan error, error) {
	done := make(chan error, 1)
	if a.admin == nil {
		done <- nil
		return done, nil
	}
	ln, err := net.Listen("tcp", a.adminListen)
	if err != nil {
		return nil, fmt.Errorf("listening on admin.listen %s: %w", a.adminListen, err)
	}
	go func() { done <- a.admin.Serve(ctx, ln) }()
	return done, nil
}

// stop stops the queue, waiting up to 10s for running jobs, and closes the
// database.
func (a *app) stop() error {
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.queue.Stop(shutdown)
	return errors.Join(err, a.db.Close())
}

// serveHTTP serves h on ln until ctx is cancelled or serving fails, then
// waits up to 10s for open requests.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("sopbot serving", "address", ln.Addr().String())

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if stopErr := srv.Shutdown(shutdown); stopErr != nil && err == nil {
		err = stopErr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// checkRoleNames rejects a configured role member that no SOP names, as a
// typo there would leave the real role with nobody.
func checkRoleNames(cfg config.Config, lib *sop.Library) error {
	named := map[string]bool{}
	var all []string
	for _, s := range lib.SOPs() {
		for _, role := range s.Roles {
			for _, m := range role.Members {
				key := strings.ToLower(strings.Join(strings.Fields(m), " "))
				if !named[key] {
					named[key] = true
					all = append(all, m)
				}
			}
		}
	}
	var problems []string
	for member := range cfg.Roles {
		if !named[strings.ToLower(strings.Join(strings.Fields(member), " "))] {
			problems = append(problems, fmt.Sprintf("roles[%q] is not a role member of any SOP", member))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("invalid configuration:\n  - %s\n(the SOPs name: %s)", strings.Join(problems, "\n  - "), strings.Join(all, ", "))
}
