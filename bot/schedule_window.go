package bot

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// ItemWindow is a waiting window on one checklist item: people may tick
// the item only once Duration has passed since the action After succeeded,
// and the scheduler comments a reminder on the issue when the window ends.
type ItemWindow struct {
	// ID names the window in the config's schedules.windows.durations.
	ID  string
	SOP string
	// Item is the item's key, such as "s5-3".
	Item string
	// Text is the start of the item's text. An item whose text starts
	// otherwise, because the SOP was reworded or renumbered, has no window,
	// so the window never lands on another item.
	Text string
	// After is the action whose success opens the window: the SOP's
	// onApproved action or one of its infra actions.
	After    string
	Duration time.Duration
	// Name names the window in comments, such as "24-hour monitoring
	// window".
	Name string
	// Until is what people confirm before they tick, such as "once the
	// metrics look right".
	Until string
}

// ItemWindows are the waiting windows of the library's checklist items.
// SOP-02 requires that a promoted model be "Monitored for 24-48 hours", so
// that box waits 24 hours after the promotion.
var ItemWindows = []ItemWindow{
	{ID: "sop-02-monitoring", SOP: "SOP-02", Item: "s5-3", Text: "Monitored for", After: ActionMLflowPromote, Duration: 24 * time.Hour,
		Name: "24-hour monitoring window", Until: "once the metrics look right"},
}

// windowPrefix starts the schedule name of a window's reminder,
// "window:R-<request id>:<item key>".
const windowPrefix = "window:"

func windowName(requestID int64, key string) string {
	return fmt.Sprintf("%sR-%d:%s", windowPrefix, requestID, key)
}

func parseWindowName(name string) (int64, string, bool) {
	rest, ok := strings.CutPrefix(name, windowPrefix+"R-")
	if !ok {
		return 0, "", false
	}
	idText, key, ok := strings.Cut(rest, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || key == "" {
		return 0, "", false
	}
	return id, key, true
}

// windowFor returns the window of item key of s, with the configured
// duration, and the item, if it has one.
func (e *Engine) windowFor(s *sop.SOP, key string) (ItemWindow, sop.Item, bool) {
	for _, w := range ItemWindows {
		if w.SOP != s.ID || w.Item != key {
			continue
		}
		if d, ok := e.Settings.WindowDurations[w.ID]; ok {
			w.Duration = d
		}
		sec, ok := s.ItemSection(key)
		if !ok || w.Duration <= 0 {
			continue
		}
		for _, item := range sec.Items {
			if item.Key == key && strings.HasPrefix(item.Text, w.Text) {
				return w, item, true
			}
		}
	}
	return ItemWindow{}, sop.Item{}, false
}

// windowOpenedAt returns when the window's action first succeeded for a
// request, from the audit trail, or the zero time if it has not. An infra
// action's audit detail names the action, but the onApproved action's
// detail is its result, which names none.
func (e *Engine) windowOpenedAt(ctx context.Context, q store.Querier, req store.Request, s *sop.SOP, w ItemWindow) (time.Time, error) {
	entries, err := e.DB.AuditByAction(ctx, q, req.ID, "action succeeded")
	if err != nil {
		return time.Time{}, err
	}
	for _, entry := range entries {
		var detail struct {
			Action string `json:"action"`
		}
		_ = json.Unmarshal([]byte(entry.Detail), &detail)
		if detail.Action == w.After || (detail.Action == "" && s.Binding.OnApproved == w.After) {
			return entry.At, nil
		}
	}
	return time.Time{}, nil
}

// windowReason returns why an item's box may not be ticked yet because its
// waiting window has not ended, or "" when nothing holds it back.
func (e *Engine) windowReason(t *txn, req store.Request, s *sop.SOP, key string) (string, error) {
	w, _, ok := e.windowFor(s, key)
	if !ok {
		return "", nil
	}
	opened, err := e.windowOpenedAt(t.ctx, t.tx, req, s, w)
	if err != nil {
		return "", err
	}
	if opened.IsZero() {
		return fmt.Sprintf("the %s starts when `%s` succeeds, so this box can be ticked %s after that.", w.Name, w.After, durationWords(w.Duration)), nil
	}
	ends := opened.Add(w.Duration)
	if e.DB.Now().Before(ends) {
		return fmt.Sprintf("the %s started when `%s` succeeded at %s and ends at %s; tick this box after that, %s.",
			w.Name, w.After, formatUTC(opened), formatUTC(ends), w.Until), nil
	}
	return "", nil
}

// addWindows schedules the reminder of each window that has opened on an
// active request and has no reminder yet.
func (s *Scheduler) addWindows(ctx context.Context) error {
	requests, err := s.Engine.DB.ActiveRequests(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, req := range requests {
		procedure, err := s.Engine.sopOf(req)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, listed := range ItemWindows {
			w, _, ok := s.Engine.windowFor(procedure, listed.Item)
			if !ok || req.IssueNumber == 0 {
				continue
			}
			if err := s.addWindow(ctx, req, procedure, w); err != nil {
				errs = append(errs, fmt.Errorf("scheduling the %s of request %d: %w", w.Name, req.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) addWindow(ctx context.Context, req store.Request, procedure *sop.SOP, w ItemWindow) error {
	name := windowName(req.ID, w.Item)
	return s.Engine.DB.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.Engine.DB.GetSchedule(ctx, tx, name); !errors.Is(err, store.ErrNotFound) {
			return err
		}
		opened, err := s.Engine.windowOpenedAt(ctx, tx, req, procedure, w)
		if err != nil || opened.IsZero() {
			return err
		}
		ends := opened.Add(w.Duration)
		if _, err := s.Engine.DB.AddSchedule(ctx, tx, store.Schedule{Name: name, NextAt: ends}); err != nil {
			return err
		}
		s.Log.Info("window reminder scheduled", "request_id", req.ID, "item", w.Item, "ends_at", ends)
		return nil
	})
}

// fireWindow comments the reminder of a window that has ended, unless the
// request ended or the item was ticked meanwhile. The reminder fires once:
// its schedule gets no next run in the transaction that enqueues the
// comment.
func (s *Scheduler) fireWindow(ctx context.Context, row store.Schedule, now time.Time) error {
	e := s.Engine
	id, key, ok := parseWindowName(row.Name)
	if !ok {
		return fmt.Errorf("schedule %q is not a window reminder", row.Name)
	}
	return e.DB.InTx(ctx, func(tx *sql.Tx) error {
		advanced, err := e.DB.AdvanceSchedule(ctx, tx, row.NextAt, store.Schedule{Name: row.Name, LastAt: now})
		if err != nil || !advanced {
			return err
		}
		req, err := e.DB.GetRequest(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && req.Terminal()) {
			return nil
		}
		if err != nil {
			return err
		}
		procedure, err := e.sopOf(req)
		if err != nil {
			return err
		}
		w, item, ok := e.windowFor(procedure, key)
		if !ok {
			return nil
		}
		items, err := e.DB.Items(ctx, tx, req.ID)
		if err != nil || items[key].Checked {
			return err
		}
		t := &txn{ctx: ctx, tx: tx, deliveryID: "schedule:" + row.Name}
		if err := e.audit(t, req.ID, BotActor, "window ended", map[string]string{"item": key, "window": w.Name, "ended_at": formatUTC(row.NextAt)}); err != nil {
			return err
		}
		s.Log.Info("window ended, reminder enqueued", "request_id", req.ID, "issue", req.IssueNumber, "item", key)
		return e.comment(t, req, windowReminder(e.Directory, req, procedure, w, item, row.NextAt))
	})
}

// windowReminder is the comment posted when a window ends. It mentions the
// requester when the requester may tick the item.
func windowReminder(dir *Directory, req store.Request, s *sop.SOP, w ItemWindow, item sop.Item, ended time.Time) string {
	sec, _ := s.ItemSection(item.Key)
	members, requesterMay, _, _ := s.TickMembers(sec)
	lead := "The"
	if requesterMay && req.RequesterLogin != BotActor {
		lead = "@" + req.RequesterLogin + ", the"
	}
	text := fmt.Sprintf("⏰ %s %s ended at %s; tick \"%s\" %s.", lead, w.Name, formatUTC(ended), item.Text, w.Until)
	if who := whoMayTick(dir, members, requesterMay); who != "" {
		text += " " + who
	}
	return text
}

func formatUTC(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// durationWords writes a duration of whole hours as "24 hours".
func durationWords(d time.Duration) string {
	if hours := d.Hours(); hours == float64(int(hours)) {
		if hours == 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", int(hours))
	}
	return d.String()
}
