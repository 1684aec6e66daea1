package bot

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// Request states. A request moves opening → awaiting-review →
// awaiting-approval → acting → deploying → done, or ends rejected or
// cancelled. Failed means the action needs a person. A request whose
// target another request holds waits in queued.
const (
	StateOpening          = "opening"
	StateQueued           = "queued"
	StateAwaitingReview   = "awaiting-review"
	StateAwaitingApproval = "awaiting-approval"
	StateActing           = "acting"
	StateDeploying        = "deploying"
	StateDone             = "done"
	StateRejected         = "rejected"
	StateCancelled        = "cancelled"
	StateFailed           = "failed"
	// StateNeedsAttention marks an action that stopped without a result,
	// such as one running when the process died.
	StateNeedsAttention = "needs-attention"
	// StateInProgress is a request of an SOP with infra actions once its
	// approval is complete: its actions run and people tick the remaining
	// steps until every section is complete.
	StateInProgress = "in-progress"
)

// BotActor is the audit actor for the bot's own decisions.
const BotActor = "sopbot"

// Enqueuer inserts jobs in the caller's transaction; *river.Client
// implements it.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Settings are the engine's view of the configuration.
type Settings struct {
	// Channel receives notifications in Slack.
	Channel string
	// Repository is the configured owner/name; a pull request links to a
	// request only through this repository's issue URLs or "#N".
	Repository string
	// ParityCheck is the check run name or status context that proves the
	// training/serving parity tests passed; empty leaves them to people.
	ParityCheck string
	// SecretMaxAge returns the rotation period in days of a kind of
	// secret, or 0 when it has none.
	SecretMaxAge func(kind string) int
	// WindowDurations replaces the length of checklist items' waiting
	// windows, by window ID (see ItemWindows); zero removes a window.
	WindowDurations map[string]time.Duration
}

// Engine decides what every event means: the new state, the audit rows and
// the effects, in the caller's transaction. It makes no network calls.
type Engine struct {
	DB        *store.DB
	Library   *sop.Library
	Grammar   *Grammar
	Directory *Directory
	Queue     Enqueuer
	Settings  Settings
	Log       *slog.Logger

	// snapshots caches SOPs parsed from requests' stored copies, by revision.
	snapshots sync.Map
}

// txn is the context of one engine decision.
type txn struct {
	ctx        context.Context
	tx         *sql.Tx
	deliveryID string
	effects    int
}

// Handle applies one event in tx.
func (e *Engine) Handle(ctx context.Context, tx *sql.Tx, ev Event) error {
	// Events that come from no delivery (effect results, the sweep) still
	// need a key unique to this decision for the markers of its comments.
	t := &txn{ctx: ctx, tx: tx, deliveryID: "internal:" + randomKey()}
	switch ev := ev.(type) {
	case CommandIssued:
		t.deliveryID = ev.DeliveryID
		return e.handleCommand(t, ev)
	case ChecklistEdited:
		t.deliveryID = ev.DeliveryID
		return e.handleChecklistEdited(t, ev)
	case ReviewSubmitted:
		t.deliveryID = ev.DeliveryID
		return e.handleReview(t, ev)
	case PullRequestChanged:
		t.deliveryID = ev.DeliveryID
		return e.handlePullRequest(t, ev)
	case IssueClosed:
		t.deliveryID = ev.DeliveryID
		return e.handleIssueClosed(t, ev)
	case IssueOpened:
		return e.handleIssueOpened(t, ev)
	case CheckFinished:
		return e.handleCheckFinished(t, ev)
	case CheckReported:
		t.deliveryID = ev.DeliveryID
		return e.handleCheckReported(t, ev)
	case ActionStalled:
		return e.handleActionStalled(t, ev)
	case DriftChecked:
		return e.handleDrift(t, ev)
	case ButtonPressed:
		t.deliveryID = ev.DeliveryID
		return e.handleButton(t, ev)
	case RejectReasonSubmitted:
		t.deliveryID = ev.DeliveryID
		return e.handleRejectReason(t, ev)
	case BodyDrift:
		return e.handleBodyDrift(t, ev)
	case ActionFinished:
		return e.handleActionFinished(t, ev)
	case InfraFinished:
		return e.handleInfraFinished(t, ev)
	case InfraProgressed:
		return e.handleInfraProgressed(t, ev)
	case IssueOpenFailed:
		return e.handleIssueOpenFailed(t, ev)
	}
	return fmt.Errorf("unknown event %T", ev)
}

// enqueue inserts one effect in the decision's transaction.
func (e *Engine) enqueue(t *txn, args river.JobArgs) error {
	if _, err := e.Queue.InsertTx(t.ctx, t.tx, args, nil); err != nil {
		return fmt.Errorf("enqueuing %s: %w", args.Kind(), err)
	}
	t.effects++
	return nil
}

// marker returns a key unique to this decision's next effect, so a retried
// comment finds its earlier attempt.
func (t *txn) marker() string {
	return fmt.Sprintf("%s/%d", t.deliveryID, t.effects)
}

func (e *Engine) audit(t *txn, requestID int64, actor, action string, detail any) error {
	text := ""
	switch d := detail.(type) {
	case nil:
	case string:
		text = d
	default:
		data, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encoding audit detail: %w", err)
		}
		text = string(data)
	}
	return e.DB.AppendAudit(t.ctx, t.tx, store.AuditEntry{
		RequestID: requestID, Actor: actor, Action: action, Detail: text, DeliveryID: t.deliveryID,
	})
}

// comment posts a comment on the request's issue.
func (e *Engine) comment(t *txn, req store.Request, body string) error {
	if req.IssueNumber == 0 {
		return nil
	}
	return e.enqueue(t, CommentArgs{RequestID: req.ID, Issue: req.IssueNumber, Body: body, Marker: t.marker()})
}

// reply replies to a command where it was typed.
func (e *Engine) reply(t *txn, origin store.Origin, text string, ephemeral bool) error {
	return e.enqueue(t, ReplyArgs{Origin: origin, Text: text, Ephemeral: ephemeral, Marker: t.marker()})
}

// sopOf returns the SOP a request runs: the revision it was opened under,
// from the library when the library still has that revision and from the
// request's stored copy otherwise, so a library change does not change
// open requests.
func (e *Engine) sopOf(req store.Request) (*sop.SOP, error) {
	if s, ok := e.Library.Get(req.SOPID); ok && s.Binding != nil && s.Revision == req.SOPRevision {
		return s, nil
	}
	if cached, ok := e.snapshots.Load(req.SOPRevision); ok {
		return cached.(*sop.SOP), nil
	}
	if req.SOPSource == "" {
		return nil, fmt.Errorf("request %d runs %s revision %s, which neither the library nor the request has", req.ID, req.SOPID, shortSHA(req.SOPRevision))
	}
	s, err := sop.LoadFile(req.SOPID+"@"+shortSHA(req.SOPRevision)+".md", []byte(req.SOPSource))
	if err != nil {
		return nil, fmt.Errorf("loading the stored %s of request %d: %w", req.SOPID, req.ID, err)
	}
	e.snapshots.Store(req.SOPRevision, s)
	return s, nil
}

// setState moves a request to state, with an audit row and a label update.
func (e *Engine) setState(t *txn, req *store.Request, state, reason string) error {
	if req.State == state {
		return nil
	}
	from := req.State
	if err := e.DB.SetState(t.ctx, t.tx, req.ID, state, reason); err != nil {
		return err
	}
	req.State, req.Reason = state, reason
	if err := e.audit(t, req.ID, BotActor, "state changed", map[string]string{"from": from, "to": state, "reason": reason}); err != nil {
		return err
	}
	e.Log.Info("request state changed", "request_id", req.ID, "sop", req.SOPID, "from", from, "to", state)
	if req.IssueNumber != 0 {
		if err := e.enqueue(t, LabelsArgs{RequestID: req.ID}); err != nil {
			return err
		}
		if err := e.enqueue(t, StatusArgs{RequestID: req.ID}); err != nil {
			return err
		}
		if state == StateAwaitingApproval || from == StateAwaitingApproval {
			if err := e.enqueue(t, GateMessageArgs{RequestID: req.ID}); err != nil {
				return err
			}
		}
	}
	if req.Terminal() {
		if err := e.DB.ReleaseRequestTargets(t.ctx, t.tx, req.ID); err != nil {
			return err
		}
	}
	if req.Terminal() && from != StateQueued {
		return e.releaseTarget(t, *req)
	}
	return nil
}

// releaseTarget starts the oldest request queued behind a request that
// ended.
func (e *Engine) releaseTarget(t *txn, ended store.Request) error {
	next, err := e.DB.NextQueued(t.ctx, t.tx, ended.Target)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s, err := e.sopOf(next)
	if err != nil {
		return err
	}
	if next.IssueNumber == 0 {
		return e.setState(t, &next, StateOpening, ended.Label()+" ended")
	}
	if err := e.setState(t, &next, StateAwaitingReview, ended.Label()+" ended"); err != nil {
		return err
	}
	if err := e.comment(t, next, fmt.Sprintf("▶️ %s ended (%s), so this request now holds `%s` and starts.", ended.Label(), ended.State, next.Target)); err != nil {
		return err
	}
	if err := e.startChecks(t, &next, s); err != nil {
		return err
	}
	return e.advance(t, &next, s)
}

// findRequest resolves a command's request reference.
func (e *Engine) findRequest(t *txn, ref RequestRef) (store.Request, error) {
	var req store.Request
	var err error
	if ref.Issue > 0 {
		req, err = e.DB.RequestByIssue(t.ctx, t.tx, ref.Issue)
	} else {
		req, err = e.DB.GetRequest(t.ctx, t.tx, ref.ID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return req, &UsageError{Problem: fmt.Sprintf("No request %s. Use the number of an issue that sopbot opened.", ref)}
	}
	return req, err
}

// isRequester reports whether actor opened req. Nobody is the requester of
// a request the bot opened, even a GitHub user whose login is the bot's
// audit name.
func isRequester(req store.Request, actor Actor) bool {
	if req.RequesterLogin == BotActor {
		return false
	}
	if actor.Login != "" && strings.EqualFold(actor.Login, req.RequesterLogin) {
		return true
	}
	return actor.Slack != "" && actor.Slack == req.RequesterSlack
}

// Labels returns the labels a request's issue carries in its state.
func Labels(req store.Request) []string {
	return []string{"sopbot", "sop:" + req.SOPID, "state:" + req.State}
}

func randomKey() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
