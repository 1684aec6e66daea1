package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/metrics"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/github"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/sop"
)

// Normalizer turns a stored delivery into an engine event. It may call
// out to resolve team membership. A nil event means the delivery is
// ignored, and the returned string gives the reason.
type Normalizer interface {
	Normalize(ctx context.Context, d store.Delivery) (Event, string, error)
}

// Workers run the jobs the engine enqueues.
type Workers struct {
	Engine     *Engine
	GitHub     GitHub
	Slack      Slack
	Registry   Registry
	Normalizer Normalizer
	// InstallationID is the configured installation, or zero to look it up.
	InstallationID int64
	// ModelPolicy returns the alias that replaces a stage for a model, if any.
	ModelPolicy func(model, stage string) (alias string, ok bool)
	// Evidence configures the checks; Scanner scans artifacts for them.
	Evidence EvidenceSettings
	Scanner  ArtifactScanner
	// DriftChecks are the scheduled drift checks, by DriftCheckArgs.Index.
	DriftChecks []config.DriftCheck
	// CommentGrace is the minimum age of a comment whose command the sweep
	// replays; one minute when zero.
	CommentGrace time.Duration
	// Actions are the infra actions by name; an action the config leaves
	// out fails with a message naming it.
	Actions map[string]InfraAction
	// Metrics counts job outcomes and action durations; nil records nothing.
	Metrics *metrics.Metrics
	// Scheduler plans the scheduled reviews, audits and checks; nil runs
	// none.
	Scheduler *Scheduler
	Log       *slog.Logger

	installationOnce sync.Mutex
	installation     int64
	// issueLocks serializes the bot's writes of each issue with the
	// processing of the webhooks that report edits of its body, so a write
	// always starts from the body and store that every processed edit left.
	issueLocks sync.Map // issue number → *sync.Mutex
	// subjectLocks serializes the processing of each subject's
	// deliveries, so they are processed in arrival order.
	subjectLocks sync.Map // subject → chan struct{} of capacity 1
	// views are the request issues as the bot last wrote or heard of them.
	views issueViews
	// commentLocks serializes the comment jobs of each issue.
	commentLocks sync.Map // issue number → *sync.Mutex
	// statuses are the StatusContext statuses the bot set, by commit.
	statuses statusCache
	// kinds are the job kinds that Register added a worker for.
	kinds map[string]bool
}

// Handles reports whether Register added a worker for jobs of kind.
func (w *Workers) Handles(kind string) bool { return w.kinds[kind] }

// lockIssue locks one issue's body against the bot's other writers and
// the processing of its edits, and returns the unlock function.
func (w *Workers) lockIssue(number int) func() {
	lock, _ := w.issueLocks.LoadOrStore(number, &sync.Mutex{})
	mu := lock.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// A delivery waits for earlier ones about the same subject at most
// maxOrderingWaits times, orderingWait each.
const (
	maxOrderingWaits = 50
	orderingWait     = 100 * time.Millisecond
)

// snoozeCount returns how many times River has snoozed job: the integer
// "snoozes" of its metadata, which River v0.51 adds one to at every
// snooze. A snooze gives the attempt back, so job.Attempt does not count
// them.
func snoozeCount(job *rivertype.JobRow) int {
	var metadata struct {
		Snoozes int `json:"snoozes"`
	}
	if err := json.Unmarshal(job.Metadata, &metadata); err != nil {
		return 0
	}
	return metadata.Snoozes
}

// Register adds every worker to workers.
func (w *Workers) Register(workers *river.Workers) {
	river.AddWorker(workers, counted(w, w.processDelivery))
	river.AddWorker(workers, counted(w, w.openIssue))
	river.AddWorker(workers, counted(w, w.postComment))
	river.AddWorker(workers, counted(w, w.syncItems))
	river.AddWorker(workers, counted(w, w.syncParams))
	river.AddWorker(workers, counted(w, w.setLabels))
	river.AddWorker(workers, counted(w, w.closeIssue))
	river.AddWorker(workers, counted(w, w.reply))
	river.AddWorker(workers, counted(w, w.notify))
	river.AddWorker(workers, counted(w, w.runCheck))
	river.AddWorker(workers, counted(w, w.runAction))
	river.AddWorker(workers, counted(w, w.setStatus))
	river.AddWorker(workers, counted(w, w.sweep))
	river.AddWorker(workers, counted(w, w.gateMessage))
	river.AddWorker(workers, counted(w, w.rejectModal))
	river.AddWorker(workers, counted(w, w.driftCheck))
	river.AddWorker(workers, counted(w, w.runInfra))
	registerScheduleWorkers(w, workers)
}

// counted wraps a work function so every run's outcome is counted: done,
// retried (an error or a snooze) or failed (cancelled for good). It logs
// every failed run once (see logResult), and records the job kind for
// Handles.
func counted[T river.JobArgs](w *Workers, work func(context.Context, *river.Job[T]) error) river.Worker[T] {
	var args T
	if w.kinds == nil {
		w.kinds = map[string]bool{}
	}
	w.kinds[args.Kind()] = true
	return river.WorkFunc(func(ctx context.Context, job *river.Job[T]) error {
		// River recovers the panic again and records it with its trace.
		defer func() {
			if value := recover(); value != nil {
				w.logPanic(job.JobRow, value)
				panic(value)
			}
		}()
		err := work(ctx, job)
		w.logResult(ctx, job.JobRow, err)
		var cancelled *river.JobCancelError
		switch {
		case err == nil:
			w.Metrics.Job(job.Kind, "done")
		case errors.As(err, &cancelled):
			w.Metrics.Job(job.Kind, "failed")
		default:
			w.Metrics.Job(job.Kind, "retried")
		}
		return err
	})
}

// apply runs one engine decision in its own transaction.
func (w *Workers) apply(ctx context.Context, ev Event) error {
	return w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error { return w.Engine.Handle(ctx, tx, ev) })
}

// outcome turns an outbound call's error into River's retry decision: a
// permanent error cancels the job, a rate limit snoozes it for as long as
// the server asked, anything else is retried with backoff. The returned
// error carries attrs, which counted logs with the job's kind, id and
// attempt, so the kind argument is not used.
func (w *Workers) outcome(_ string, attrs []any, err error) error {
	var snooze *river.JobSnoozeError
	if err == nil || errors.As(err, &snooze) {
		return err
	}
	failure := &jobFailure{err: err, cause: err, attrs: slices.Clone(attrs)}
	if d, ok := retryAfter(err); ok {
		failure.err = river.JobSnooze(d)
	} else if isPermanent(err) {
		failure.err = river.JobCancel(err)
	}
	return failure
}

// retryAfter returns the wait that a server requested before the failed
// call is sent again: a Retry-After from GitHub, Slack, MLflow or Kubeflow
// Pipelines, or the time left of a Retry-After that held the call back.
// A zero wait counts as none. A snooze does not use up an attempt, so a
// server that sent "Retry-After: 0" on every call would hold the job
// forever.
func retryAfter(err error) (time.Duration, bool) {
	for _, wait := range []func(error) (time.Duration, bool){
		github.RetryAfter, slack.RetryAfter, mlflow.RetryAfter, kfp.RetryAfter,
	} {
		if d, ok := wait(err); ok && d > 0 {
			return d, true
		}
	}
	return 0, false
}

func isPermanent(err error) bool {
	var usageErr *UsageError
	return github.IsPermanent(err) || slack.IsPermanent(err) || mlflow.IsPermanent(err) ||
		errors.Is(err, store.ErrNotFound) || errors.As(err, &usageErr)
}

func (w *Workers) processDelivery(ctx context.Context, job *river.Job[ProcessDeliveryArgs]) error {
	id := job.Args.DeliveryID
	d, err := w.storedDelivery(ctx, id)
	if err != nil || !d.ProcessedAt.IsZero() {
		return err
	}
	if d.Subject == "" {
		return w.processOne(ctx, job.Kind, d)
	}

	// Deliveries about one issue are processed in arrival order, one at a
	// time. A job whose delivery has unprocessed ones before it processes
	// those first, so a burst about one issue is worked through in one
	// pass of the queue. A job that snoozed until they were done would go
	// behind the rest of the queue at each wait, so a backlog would take
	// about one pass of the queue per delivery of an issue.
	unlock, err := w.lockSubject(ctx, d.Subject)
	if err != nil {
		return err
	}
	defer unlock()
	earlier, err := w.Engine.DB.EarlierPendingIDs(ctx, id, d.Subject)
	if err != nil {
		return err
	}
	for _, earlierID := range earlier {
		earlierDelivery, err := w.storedDelivery(ctx, earlierID)
		if err == nil {
			err = w.processOne(ctx, job.Kind, earlierDelivery)
		}
		if err != nil {
			// The earlier delivery's own job retries it. This one waits
			// for it at most maxOrderingWaits times and then passes over
			// it, so one delivery that keeps failing cannot block its
			// issue for good. The deliveries after the failing one are
			// still processed before this job's own. The bound counts
			// this job's snoozes rather than the delivery's age
			// (received_at), because after a restart or in a backlog
			// every waiting delivery is old, and an age bound would let
			// them all go ahead at once, out of order.
			//
			// A permanent error cancels the earlier delivery's own job, so
			// no retry will process it and this job does not wait for it.
			var cancelled *river.JobCancelError
			switch {
			case errors.As(err, &cancelled):
				w.Log.Warn("delivery goes ahead of an earlier one that failed permanently",
					"delivery_id", id, "earlier_delivery_id", earlierID, "error", err)
			case snoozeCount(job.JobRow) < maxOrderingWaits:
				w.Log.Debug("delivery waits for an earlier one", "delivery_id", id, "earlier_delivery_id", earlierID, "error", err)
				return river.JobSnooze(orderingWait)
			default:
				w.Log.Warn("delivery goes ahead of an earlier one that keeps failing",
					"delivery_id", id, "earlier_delivery_id", earlierID, "waits", maxOrderingWaits, "error", err)
			}
		}
	}
	// A later delivery's job may have processed this one while this job
	// waited for the lock, so it is read again before the normalizer's
	// calls.
	if d, err = w.storedDelivery(ctx, id); err != nil || !d.ProcessedAt.IsZero() {
		return err
	}
	return w.processOne(ctx, job.Kind, d)
}

// storedDelivery reads delivery id.
func (w *Workers) storedDelivery(ctx context.Context, id string) (store.Delivery, error) {
	var d store.Delivery
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		d, err = w.Engine.DB.GetDelivery(ctx, tx, id)
		return err
	})
	return d, err
}

// lockSubject takes the lock of one subject's deliveries and returns the
// unlock function, or ctx's error when ctx ends first.
func (w *Workers) lockSubject(ctx context.Context, subject string) (func(), error) {
	lock, _ := w.subjectLocks.LoadOrStore(subject, make(chan struct{}, 1))
	slot := lock.(chan struct{})
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// processOne normalizes delivery d and applies its event, unless the
// delivery is processed by the time its transaction begins. kind is the
// job kind its errors are reported under.
func (w *Workers) processOne(ctx context.Context, kind string, d store.Delivery) error {
	id := d.ID
	attrs := []any{"delivery_id", id, "event", d.Event}
	if d.Source == "github" {
		attrs = append(attrs, "installation_id", d.InstallationID)
	}
	ev, skipped, err := w.Normalizer.Normalize(ctx, d)
	if err != nil {
		return w.outcome(kind, attrs, err)
	}
	// An edit of an issue body is processed under the issue's lock, so the
	// store and the bot's view of the body change together (see
	// trackBodyEdit).
	edit, editsBody := bodyEditOf(d, ev)
	if editsBody {
		defer w.lockIssue(edit.issue)()
	}
	var tracked func()
	err = w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		current, err := w.Engine.DB.GetDelivery(ctx, tx, id)
		if err != nil || !current.ProcessedAt.IsZero() {
			return err
		}
		outcome := "ignored: " + skipped
		if ev != nil {
			if err := w.Engine.Handle(ctx, tx, ev); err != nil {
				return fmt.Errorf("processing delivery %s: %w", id, err)
			}
			outcome = "handled: " + ev.eventName()
			w.Metrics.Delivery(d.Source, d.Event, "processed")
		} else {
			w.Log.Debug("delivery ignored", append(attrs, "reason", skipped)...)
		}
		switch {
		case editsBody:
			if tracked, err = w.trackBodyEdit(ctx, tx, edit); err != nil {
				return err
			}
		case isIssueClosed(ev):
			tracked = w.trackClose(ev.(IssueClosed).Issue)
		}
		return w.Engine.DB.MarkProcessed(ctx, tx, id, outcome)
	})
	if err == nil && tracked != nil {
		tracked()
	}
	return err
}

func isIssueClosed(ev Event) bool {
	_, ok := ev.(IssueClosed)
	return ok
}

// Installation returns the configured installation, or the repository's
// installation looked up once with the app's credentials.
func (w *Workers) Installation(ctx context.Context) (int64, error) {
	return w.installationFor(ctx, store.Request{})
}

// installationFor returns the GitHub App installation to act as.
func (w *Workers) installationFor(ctx context.Context, req store.Request) (int64, error) {
	if req.InstallationID != 0 {
		return req.InstallationID, nil
	}
	if w.InstallationID != 0 {
		return w.InstallationID, nil
	}
	w.installationOnce.Lock()
	defer w.installationOnce.Unlock()
	if w.installation != 0 {
		return w.installation, nil
	}
	id, err := w.GitHub.RepositoryInstallation(ctx)
	if err != nil {
		return 0, fmt.Errorf("looking up the app installation: %w", err)
	}
	w.installation = id
	return id, nil
}

// loadRequest reads a request with its SOP and items.
func (w *Workers) loadRequest(ctx context.Context, id int64) (store.Request, *sop.SOP, map[string]store.Item, error) {
	var req store.Request
	var items map[string]store.Item
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if req, err = w.Engine.DB.GetRequest(ctx, tx, id); err != nil {
			return err
		}
		items, err = w.Engine.DB.Items(ctx, tx, id)
		return err
	})
	if err != nil {
		return req, nil, nil, err
	}
	s, err := w.Engine.sopOf(req)
	return req, s, items, err
}

func (w *Workers) openIssue(ctx context.Context, job *river.Job[OpenIssueArgs]) error {
	attrs := []any{"request_id", job.Args.RequestID}
	req, s, items, err := w.loadRequest(ctx, job.Args.RequestID)
	if err != nil || req.IssueNumber != 0 {
		return w.outcome(job.Kind, attrs, err)
	}
	attrs = append(attrs, "sop", req.SOPID)
	inst, err := w.installationFor(ctx, req)
	if err != nil {
		return w.openFailed(ctx, job, req, attrs, err)
	}
	title, body := RenderIssue(s, req, fmt.Sprintf("R-%d", req.ID), items, w.Engine.Directory, w.modelURL())
	// A retry first looks for the issue an earlier attempt may have opened
	// before it could record it; the first attempt saves that call.
	var issue github.Issue
	found := false
	if job.Attempt > 1 {
		marker := fmt.Sprintf("sopbot:request=R-%d ", req.ID)
		issue, found, err = w.GitHub.FindIssueByMarker(ctx, inst, "sopbot", marker)
		if err != nil {
			return w.outcome(job.Kind, attrs, err)
		}
	}
	if !found {
		issue, err = w.GitHub.CreateIssue(ctx, inst, title, body, Labels(req))
		if err != nil {
			return w.openFailed(ctx, job, req, attrs, err)
		}
		w.Log.Info("issue opened", "request_id", req.ID, "issue", issue.Number, "sop", req.SOPID)
		// The created issue is the bot's first view of it, so the first
		// edit needs no read.
		w.views.put(issue.Number, viewOf(issue, Labels(req)))
	}
	return w.apply(ctx, IssueOpened{RequestID: req.ID, Number: issue.Number, URL: issue.HTMLURL})
}

// openFailed retries a failed issue open, or, when the error is permanent
// or this was the last attempt, records the failure so the requester hears
// of it and can retry.
func (w *Workers) openFailed(ctx context.Context, job *river.Job[OpenIssueArgs], req store.Request, attrs []any, err error) error {
	if !isPermanent(err) && job.Attempt < job.MaxAttempts {
		return w.outcome(job.Kind, attrs, err)
	}
	if applyErr := w.apply(ctx, IssueOpenFailed{RequestID: req.ID, Error: err.Error()}); applyErr != nil {
		return applyErr
	}
	return &jobFailure{err: river.JobCancel(err), cause: err, attrs: attrs}
}

func (w *Workers) modelURL() func(name, version string) string {
	if w.Registry == nil {
		return nil
	}
	return w.Registry.ModelURL
}

func (w *Workers) postComment(ctx context.Context, job *river.Job[CommentArgs]) error {
	if err := w.holdWhileBusy(ctx, job.Kind, job.Args.RequestID, job.CreatedAt); err != nil {
		return err
	}
	attrs := []any{"request_id", job.Args.RequestID, "issue", job.Args.Issue}
	req, _, _, err := w.loadRequest(ctx, job.Args.RequestID)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	attrs = append(attrs, "sop", req.SOPID)
	inst, err := w.installationFor(ctx, req)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	return w.outcome(job.Kind, attrs, w.postComments(ctx, inst, job))
}

// requestJob is the context of an effect on a request's issue: the
// request, its SOP and items, and the installation to act as.
type requestJob struct {
	req   store.Request
	sop   *sop.SOP
	items map[string]store.Item
	inst  int64
}

// onIssue loads a request and runs fn for it once its issue exists,
// turning any error into River's retry decision.
func (w *Workers) onIssue(ctx context.Context, kind string, requestID int64, fn func(requestJob) error) error {
	attrs := []any{"request_id", requestID}
	req, s, items, err := w.loadRequest(ctx, requestID)
	if err != nil || req.IssueNumber == 0 {
		return w.outcome(kind, attrs, err)
	}
	attrs = append(attrs, "sop", req.SOPID)
	inst, err := w.installationFor(ctx, req)
	if err != nil {
		return w.outcome(kind, attrs, err)
	}
	return w.outcome(kind, append(attrs, "issue", req.IssueNumber), fn(requestJob{req: req, sop: s, items: items, inst: inst}))
}

// editOnIssue runs writeIssue for an effect job once the request's checks
// and action have settled or the job has waited effectHoldMax.
func (w *Workers) editOnIssue(ctx context.Context, kind string, requestID int64, created time.Time, want issueWrite) error {
	if err := w.holdWhileBusy(ctx, kind, requestID, created); err != nil {
		return err
	}
	return w.onIssue(ctx, kind, requestID, func(r requestJob) error { return w.writeIssue(ctx, r, want) })
}

func (w *Workers) syncItems(ctx context.Context, job *river.Job[SyncItemsArgs]) error {
	return w.editOnIssue(ctx, job.Kind, job.Args.RequestID, job.CreatedAt, issueWrite{keys: job.Args.Keys})
}

func (w *Workers) syncParams(ctx context.Context, job *river.Job[SyncParamsArgs]) error {
	return w.editOnIssue(ctx, job.Kind, job.Args.RequestID, job.CreatedAt, issueWrite{params: true})
}

func (w *Workers) setLabels(ctx context.Context, job *river.Job[LabelsArgs]) error {
	return w.editOnIssue(ctx, job.Kind, job.Args.RequestID, job.CreatedAt, issueWrite{labels: true})
}

func (w *Workers) closeIssue(ctx context.Context, job *river.Job[CloseIssueArgs]) error {
	return w.editOnIssue(ctx, job.Kind, job.Args.RequestID, job.CreatedAt, issueWrite{close: true})
}

func (w *Workers) reply(ctx context.Context, job *river.Job[ReplyArgs]) error {
	origin := job.Args.Origin
	attrs := []any{"source", origin.Source}
	switch origin.Source {
	case "slack":
		msg := slack.Message{Text: job.Args.Text, Ephemeral: job.Args.Ephemeral}
		return w.outcome(job.Kind, attrs, w.Slack.Respond(ctx, origin.ResponseURL, msg))
	case "github":
		inst, err := w.installationFor(ctx, store.Request{InstallationID: origin.InstallationID})
		if err != nil {
			return w.outcome(job.Kind, attrs, err)
		}
		parts := []CommentPart{{Body: job.Args.Text, Marker: job.Args.Marker}}
		return w.outcome(job.Kind, attrs, w.postParts(ctx, inst, origin.Issue, parts, job.Attempt))
	case OriginSchedule:
		return nil // the bot opened the request itself; the issue and Slack carry the news
	}
	return river.JobCancel(fmt.Errorf("reply to unknown source %q", origin.Source))
}

func (w *Workers) notify(ctx context.Context, job *river.Job[NotifyArgs]) error {
	err := w.Slack.Post(ctx, job.Args.Channel, slack.Message{Text: job.Args.Text})
	return w.outcome(job.Kind, []any{"slack_channel", job.Args.Channel}, err)
}
