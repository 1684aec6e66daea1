package bot

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/sop"
)

// handleButton handles a click on a gate message. Every refusal is an
// ephemeral reply to the person who clicked. Nothing is signed for a user
// the configuration does not pair with a GitHub login.
func (e *Engine) handleButton(t *txn, ev ButtonPressed) error {
	origin := store.Origin{Source: "slack", ResponseURL: ev.ResponseURL, Channel: ev.Channel}
	err := e.button(t, ev, origin)
	return e.replyError(t, CommandIssued{DeliveryID: ev.DeliveryID, Origin: origin}, err)
}

func (e *Engine) button(t *txn, ev ButtonPressed, origin store.Origin) error {
	req, err := e.findRequest(t, ev.Ref)
	if err != nil {
		return err
	}
	if ev.Actor.Login == "" {
		e.Log.Warn("button click refused", "request_id", req.ID, "sop", req.SOPID, "slack_user", ev.Actor.Slack, "reason", "unpaired Slack user")
		return &UsageError{Problem: "Your Slack account is not paired with a GitHub login, so it cannot sign. Ask an administrator to add you under `people` in the sopbot config."}
	}
	s, err := e.sopOf(req)
	if err != nil {
		return err
	}
	if resolved, err := e.resolvedText(t, req); err != nil || resolved != "" {
		if err != nil {
			return err
		}
		return e.reply(t, origin, resolved, true)
	}
	if ev.Action == ButtonReject {
		if reason := e.mayReject(req, s, ev.Actor); reason != "" {
			return &UsageError{Problem: "Not rejected: " + reason}
		}
		return e.enqueue(t, RejectModalArgs{TriggerID: ev.TriggerID, Ref: req.Label(), Title: s.RenderTitle(req.Params)})
	}
	member, reason, err := e.judgeSign(t, req, s, ev.Actor)
	if err != nil {
		return err
	}
	if reason == "" {
		reason, err = e.staleButton(t, req, ev.Revision)
		if err != nil {
			return err
		}
	}
	if reason != "" {
		e.Log.Warn("button approval refused", "request_id", req.ID, "sop", req.SOPID, "github_login", ev.Actor.Login, "reason", reason)
		return &UsageError{Problem: "Not signed: " + reason}
	}
	if err := e.sign(t, &req, s, ev.Actor, member, store.Signoff{Via: ViaButton, Ref: ev.DeliveryID}); err != nil {
		return err
	}
	if err := e.reply(t, origin, fmt.Sprintf("Signed %s as %s.", req.Label(), member), true); err != nil {
		return err
	}
	if err := e.comment(t, req, fmt.Sprintf("%s signed the approval as %s with the Slack button.", ev.Actor.Mention(), member)); err != nil {
		return err
	}
	return e.advance(t, &req, s)
}

// staleButton returns why a click on a message drawn for revision seen
// cannot sign the request now, or "". A refused click redraws the gate
// message, so the approver finds the current parameters and buttons.
func (e *Engine) staleButton(t *txn, req store.Request, seen string) (string, error) {
	var reason string
	if seen == "" {
		reason = fmt.Sprintf("this message carries no revision of %s, so sopbot cannot tell which parameters you reviewed. It now shows the current ones; review them in %s and click Approve again.",
			req.Label(), issueRef(req))
	} else {
		changes, err := e.changesSince(t, req, seen)
		if err != nil || changes == "" {
			return "", err
		}
		reason = fmt.Sprintf("the request changed since this message: %s; review the new parameters in %s.", changes, issueRef(req))
	}
	return reason, e.enqueue(t, GateMessageArgs{RequestID: req.ID})
}

// issueRef names a request's issue for a reply: its label, with the URL
// once the issue exists.
func issueRef(req store.Request) string {
	if req.IssueURL == "" {
		return req.Label()
	}
	return req.Label() + " (" + req.IssueURL + ")"
}

// gateValueSeparator separates the request label from the revision in a
// gate button's value.
const gateValueSeparator = "@"

// minRevisionPrefix is the fewest hex digits of a revision that a button
// value or an approve command may give.
const minRevisionPrefix = 7

// shortRevision returns the first 12 hex digits of a revision, as
// messages show it.
func shortRevision(revision string) string {
	return revision[:min(len(revision), 12)]
}

// GateValue returns the value of a gate message's buttons: the request's
// label and the revision the message shows, such as "#12@1a2b…", so that
// a click signs only what the approver saw.
func GateValue(req store.Request) string {
	return req.Label() + gateValueSeparator + req.Revision
}

// ParseGateValue splits a gate button's value into the request and the
// revision the message showed. A value without a revision, from a message
// posted before buttons carried one, returns an empty revision.
func ParseGateValue(value string) (RequestRef, string, error) {
	label, revision, hasRevision := strings.Cut(value, gateValueSeparator)
	ref, err := ParseRequestRef(label)
	if err != nil {
		return RequestRef{}, "", err
	}
	if hasRevision && !isRevision(revision) {
		return RequestRef{}, "", fmt.Errorf("revision %q is not %d to 64 lower-case hex digits", clip(revision, 70), minRevisionPrefix)
	}
	return ref, revision, nil
}

// isRevision reports whether s is a request revision or a prefix of one
// long enough to compare.
func isRevision(s string) bool {
	if len(s) < minRevisionPrefix || len(s) > sha256.Size*2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'a' || s[i] > 'f') {
			return false
		}
	}
	return true
}

// resolvedText returns the reply to a click that comes after the gate
// closed, such as "#12 is already approved by @dana at 2026-12-03 22:47 UTC".
func (e *Engine) resolvedText(t *txn, req store.Request) (string, error) {
	switch req.State {
	case StateAwaitingApproval:
		return "", nil
	case StateRejected:
		return fmt.Sprintf("%s is already rejected: %s", req.Label(), req.Reason), nil
	case StateAwaitingReview, StateOpening, StateQueued:
		return fmt.Sprintf("%s is %s; the approval opens once the preconditions and reviews are complete.", req.Label(), req.State), nil
	}
	if req.Terminal() {
		return fmt.Sprintf("%s is already %s.", req.Label(), req.State), nil
	}
	signoffs, err := e.DB.ActiveSignoffs(t.ctx, t.tx, req.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s is already approved by %s.", req.Label(), signedList(signoffs, " and ")), nil
}

func signedList(signoffs []store.Signoff, sep string) string {
	var parts []string
	for _, so := range signoffs {
		parts = append(parts, fmt.Sprintf("@%s as %s at %s", so.Login, so.Member, so.At.UTC().Format("2006-01-02 15:04 UTC")))
	}
	if len(parts) == 0 {
		return "nobody yet"
	}
	return strings.Join(parts, sep)
}

func (e *Engine) handleRejectReason(t *txn, ev RejectReasonSubmitted) error {
	origin := store.Origin{Source: "slack"}
	req, err := e.findRequest(t, ev.Ref)
	if err == nil {
		var s *sop.SOP
		if s, err = e.sopOf(req); err == nil {
			if reason := e.mayReject(req, s, ev.Actor); reason != "" || ev.Actor.Login == "" {
				e.Log.Warn("slack rejection refused", "request_id", req.ID, "sop", req.SOPID, "slack_user", ev.Actor.Slack, "reason", reason)
				return e.audit(t, req.ID, ev.Actor.Slack, "rejection refused", reason)
			}
			err = e.reject(t, &req, ev.Actor, ev.Reason, "slack button")
		}
	}
	return e.replyError(t, CommandIssued{DeliveryID: ev.DeliveryID, Origin: origin}, err)
}

// gateMessage posts the gate's message when the approval opens and updates
// it as sign-offs arrive and when the gate resolves.
func (w *Workers) gateMessage(ctx context.Context, job *river.Job[GateMessageArgs]) error {
	attrs := []any{"request_id", job.Args.RequestID}
	channel := w.Engine.Settings.Channel
	var req store.Request
	var signoffs []store.Signoff
	var posted, ts string
	var ok bool
	err := w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if req, err = w.Engine.DB.GetRequest(ctx, tx, job.Args.RequestID); err != nil {
			return err
		}
		if signoffs, err = w.Engine.DB.ActiveSignoffs(ctx, tx, req.ID); err != nil {
			return err
		}
		posted, ts, ok, err = w.Engine.DB.GateMessage(ctx, tx, req.ID)
		return err
	})
	if err != nil || channel == "" {
		return w.outcome(job.Kind, attrs, err)
	}
	s, err := w.Engine.sopOf(req)
	if err != nil {
		return w.outcome(job.Kind, attrs, err)
	}
	gate := w.gate(req, s, signoffs)
	text := fmt.Sprintf("%s %s needs approval", req.Label(), s.RenderTitle(req.Params))
	switch {
	case req.State == StateAwaitingApproval && !ok:
		newTS, err := w.Slack.PostBlocks(ctx, channel, text, slack.GateBlocks(gate))
		if err != nil {
			return w.outcome(job.Kind, attrs, err)
		}
		return w.Engine.DB.InTx(ctx, func(tx *sql.Tx) error { return w.Engine.DB.SaveGateMessage(ctx, tx, req.ID, channel, newTS) })
	case req.State == StateAwaitingApproval:
		return w.outcome(job.Kind, attrs, w.Slack.UpdateMessage(ctx, posted, ts, text, slack.GateBlocks(gate)))
	case ok:
		outcome := gateOutcome(req, signoffs)
		return w.outcome(job.Kind, attrs, w.Slack.UpdateMessage(ctx, posted, ts, outcome, slack.ResolvedBlocks(gate, outcome)))
	}
	return nil
}

func (w *Workers) gate(req store.Request, s *sop.SOP, signoffs []store.Signoff) slack.Gate {
	members, _ := s.ApprovalMembers()
	var approvers []string
	for _, m := range members {
		handles := w.Engine.Directory.Handles(m)
		approvers = append(approvers, strings.TrimSpace(m+" "+parenthesize(strings.Join(handles, ", "))))
	}
	var signed []string
	for _, so := range signoffs {
		signed = append(signed, fmt.Sprintf("@%s as %s", so.Login, so.Member))
	}
	section := "Approval"
	if sec, ok := s.ApprovalSection(); ok {
		section = sec.Title
	}
	return slack.Gate{Request: req.Label(), Title: s.RenderTitle(req.Params), URL: req.IssueURL, Section: section,
		Approvers: approvers, Signed: signed, Parameters: gateParameters(s, req.Params),
		Revision: shortRevision(req.Revision), Value: GateValue(req)}
}

// gateParameters lists the request's parameters as "name: value" in the
// order the binding declares them.
func gateParameters(s *sop.SOP, params map[string]string) []string {
	var out []string
	for _, p := range s.Binding.Params {
		if value, ok := params[p.Name]; ok {
			out = append(out, p.Name+": "+value)
		}
	}
	return out
}

func parenthesize(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

func gateOutcome(req store.Request, signoffs []store.Signoff) string {
	switch req.State {
	case StateRejected:
		return fmt.Sprintf("Rejected: %s", req.Reason)
	case StateCancelled:
		return "Cancelled"
	case StateAwaitingReview:
		return "Reopened for review: the request changed"
	}
	return "Approved by " + signedList(signoffs, ", ")
}

func (w *Workers) rejectModal(ctx context.Context, job *river.Job[RejectModalArgs]) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := w.Slack.OpenView(ctx, job.Args.TriggerID, slack.RejectModal(job.Args.Ref, job.Args.Title))
	return w.outcome(job.Kind, []any{"request", job.Args.Ref}, err)
}
