package bot

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// RotationSOP is the SOP the secret rotation check opens requests of.
const RotationSOP = "SOP-04"

func (w *Workers) secretRotationCheck(ctx context.Context, job *river.Job[SecretRotationArgs]) error {
	def, err := w.scheduled(job.Kind, job.Args.ScheduledRun)
	if err != nil {
		return err
	}
	attrs := []any{"schedule", def.name, "period", job.Args.Period}
	s, ok := w.Engine.Library.Get(RotationSOP)
	if !ok || s.Binding == nil {
		w.Log.Error("secret rotation check failed: the SOP library has no bound "+RotationSOP, attrs...)
		return river.JobCancel(fmt.Errorf("secret rotation check: the SOP library has no bound %s", RotationSOP))
	}
	return w.outcome(job.Kind, attrs, w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		return w.Scheduler.openDueRotations(ctx, tx, s, job.Args.ScheduledRun)
	}))
}

// rotationCheck collects what one secret rotation check did, as
// "namespace/name" entries for its log and Slack lines.
type rotationCheck struct {
	opened, failed, unknown []string
}

// openDueRotations opens, as the bot, a rotation request for each secret
// of the inventory that is older than its kind's maxAgeDays. A secret with
// no rotation on record is logged, not opened, since its age is unknown. A
// secret whose target an open request holds is skipped, so a pending
// rotation is never opened twice. Everything happens in tx, so a retry
// after a crash finds the requests it opened.
func (s *Scheduler) openDueRotations(ctx context.Context, tx *sql.Tx, rotation *sop.SOP, run ScheduledRun) error {
	secrets, err := s.Engine.DB.Secrets(ctx, tx)
	if err != nil {
		return err
	}
	now := s.now()
	t := &txn{ctx: ctx, tx: tx, deliveryID: "schedule:" + run.Schedule + ":" + run.Period}
	var check rotationCheck
	for _, secret := range secrets {
		if err := s.checkSecret(t, rotation, secret, now, &check); err != nil {
			return err
		}
	}

	if len(check.unknown) > 0 {
		s.Log.Warn("secrets have no rotation on record, so the rotation check cannot tell whether they are due. Set lastRotated in their rotation.secrets entries",
			"secrets", check.unknown)
	}
	day := run.Start.Format("2 January 2006")
	if len(check.opened) > 0 {
		text := fmt.Sprintf("Secret rotation check (%s): opened %s requests for %s.", day, rotation.ID, strings.Join(check.opened, ", "))
		if err := s.Engine.notifyOnce(ctx, tx, text); err != nil {
			return err
		}
	}
	if len(check.failed) > 0 {
		text := fmt.Sprintf("Secret rotation check (%s): due but not opened, fix their rotation.secrets entries: %s.", day, strings.Join(check.failed, ", "))
		return s.Engine.notifyOnce(ctx, tx, text)
	}
	return nil
}

// checkSecret opens a rotation request for one secret if it is due and no
// open request holds its target, and records the outcome in check.
func (s *Scheduler) checkSecret(t *txn, rotation *sop.SOP, secret store.Secret, now time.Time, check *rotationCheck) error {
	name := secret.Namespace + "/" + secret.Name
	kind, ok := s.settings.Kinds[secret.Kind]
	switch {
	case !ok:
		s.Log.Warn("secret's kind has no rotation policy in rotation.kinds", "secret", name, "kind", secret.Kind)
		return nil
	case kind.MaxAgeDays == 0:
		return nil
	case secret.LastRotated.IsZero():
		check.unknown = append(check.unknown, name)
		return nil
	}
	// SecretDue also gives the due date that /mlops secrets lists.
	if due, ok := SecretDue(secret, func(string) int { return kind.MaxAgeDays }); !ok || now.Before(due) {
		return nil
	}

	params, err := ValidateParams(rotation, map[string]string{"secret": secret.Name, "namespace": secret.Namespace, "deployment": secret.Deployment})
	if err != nil {
		s.Log.Error("secret is due for rotation but its inventory entry cannot fill a request", "secret", name, "error", err)
		check.failed = append(check.failed, fmt.Sprintf("`%s` (%v)", name, err))
		return nil
	}
	target := fillTemplate(rotation.Binding.Target, params)
	existing, err := s.Engine.DB.OpenRequestByTarget(t.ctx, t.tx, target)
	if err == nil {
		s.Log.Debug("secret is due but a rotation request is open", "secret", name, "request_id", existing.ID)
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}

	id, err := s.openBotRequest(t, rotation, params, target, rotationNote(secret, kind, now), map[string]any{
		"via": "secret rotation check", "kind": secret.Kind, "max_age_days": kind.MaxAgeDays, "last_rotated": secret.LastRotated,
	})
	if err != nil {
		return err
	}
	s.Log.Info("secret rotation request opened", "secret", name, "kind", secret.Kind, "request_id", id)
	check.opened = append(check.opened, fmt.Sprintf("`%s` (%s, %s)", name, secret.Kind, rotatedAgo(secret, now)))
	return nil
}

// openBotRequest opens a request of procedure with the bot as its
// requester, as a scheduled drift check does. note is posted on the issue
// once it opens.
func (s *Scheduler) openBotRequest(t *txn, procedure *sop.SOP, params map[string]string, target, note string, detail map[string]any) (int64, error) {
	e := s.Engine
	req := store.Request{
		SOPID: procedure.ID, SOPRevision: procedure.Revision, SOPSource: string(procedure.File), Target: target, State: StateOpening,
		Params: params, RequesterLogin: BotActor, Origin: store.Origin{Source: OriginSchedule, Note: note},
	}
	id, err := e.DB.InsertRequest(t.ctx, t.tx, req)
	if err != nil {
		return 0, err
	}
	if err := e.DB.InsertItems(t.ctx, t.tx, id, itemsOf(procedure)); err != nil {
		return 0, err
	}
	req.ID = id
	if err := e.DB.SetRevision(t.ctx, t.tx, id, requestRevision(req, procedure, nil)); err != nil {
		return 0, err
	}
	detail["sop"], detail["params"] = procedure.ID, params
	if err := e.audit(t, id, BotActor, "request opened", detail); err != nil {
		return 0, err
	}
	return id, e.enqueue(t, OpenIssueArgs{RequestID: id})
}

// rotationNote is the first comment of a request the rotation check
// opened: why the secret is due.
func rotationNote(secret store.Secret, kind config.SecretKind, now time.Time) string {
	return fmt.Sprintf("🔁 Opened by sopbot's secret rotation check: `%s/%s` (kind `%s`) was %s, and `rotation.kinds.%s.maxAgeDays` is %d.",
		secret.Namespace, secret.Name, secret.Kind, rotatedAgo(secret, now), secret.Kind, kind.MaxAgeDays)
}

func rotatedAgo(secret store.Secret, now time.Time) string {
	if secret.LastRotated.IsZero() {
		return "no rotation on record"
	}
	return fmt.Sprintf("last rotated on %s, %s", secret.LastRotated.Format(time.DateOnly), daysAgo(now, secret.LastRotated))
}
