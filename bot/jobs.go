package bot

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sopbot/sopbot/bot/store"
)

// ProcessDeliveryArgs processes one stored delivery.
type ProcessDeliveryArgs struct {
	DeliveryID string `json:"delivery_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (ProcessDeliveryArgs) Kind() string { return "process_delivery" }

// InsertOpts makes a delivery's processing unique.
func (ProcessDeliveryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// OpenIssueArgs opens the GitHub issue of a request.
type OpenIssueArgs struct {
	RequestID int64 `json:"request_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (OpenIssueArgs) Kind() string { return "open_issue" }

// InsertOpts makes opening a request's issue unique.
func (OpenIssueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// CommentArgs posts a comment on an issue. Marker is a unique hidden key
// written into the comment, so a retry finds an earlier attempt.
type CommentArgs struct {
	RequestID int64  `json:"request_id"`
	Issue     int    `json:"issue"`
	Body      string `json:"body"`
	Marker    string `json:"marker"`
}

// Kind implements river.JobArgs.
func (CommentArgs) Kind() string { return "comment" }

// SyncItemsArgs sets the listed checkboxes of a request issue to their
// stored state, touching no other line.
type SyncItemsArgs struct {
	RequestID int64    `json:"request_id"`
	Keys      []string `json:"keys"`
}

// Kind implements river.JobArgs.
func (SyncItemsArgs) Kind() string { return "sync_items" }

// LabelsArgs sets a request issue's labels from its stored state.
type LabelsArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind implements river.JobArgs.
func (LabelsArgs) Kind() string { return "labels" }

// CloseIssueArgs closes a request's issue.
type CloseIssueArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind implements river.JobArgs.
func (CloseIssueArgs) Kind() string { return "close_issue" }

// ReplyArgs replies to a command where it was typed.
type ReplyArgs struct {
	Origin    store.Origin `json:"origin"`
	Text      string       `json:"text"`
	Ephemeral bool         `json:"ephemeral"`
	Marker    string       `json:"marker"`
}

// Kind implements river.JobArgs.
func (ReplyArgs) Kind() string { return "reply" }

// NotifyArgs posts a message to a Slack channel or user.
type NotifyArgs struct {
	Channel string `json:"channel"`
	Text    string `json:"text"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return "notify" }

// CheckArgs runs a check the bot makes itself for one item. Params is the
// request's parameters key when the check was started, so a result for
// parameters that changed since is dropped.
type CheckArgs struct {
	RequestID int64  `json:"request_id"`
	Key       string `json:"key"`
	Check     string `json:"check"`
	Params    string `json:"params"`
}

// SyncParamsArgs rewrites a request issue's title and Parameters table from
// the stored parameters.
type SyncParamsArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind implements river.JobArgs.
func (SyncParamsArgs) Kind() string { return "sync_params" }

// Kind implements river.JobArgs.
func (CheckArgs) Kind() string { return "check" }

// ActionArgs runs the action named by the SOP's binding when its approval
// gate opens. Run counts `/mlops retry`s, so each retry is a new job while
// one run stays unique.
type ActionArgs struct {
	RequestID int64  `json:"request_id" river:"unique"`
	Action    string `json:"action" river:"unique"`
	Run       int    `json:"run,omitempty" river:"unique"`
}

// Kind implements river.JobArgs.
func (ActionArgs) Kind() string { return "action" }

// InsertOpts makes an action unique per request.
func (ActionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}, MaxAttempts: 10}
}

// StatusArgs sets the sopbot/sign-off commit status on the heads of a
// request's linked pull requests from the request's state.
type StatusArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind implements river.JobArgs.
func (StatusArgs) Kind() string { return "commit_status" }

// SweepArgs runs the reconciliation sweep.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "sweep" }

// InsertOpts keeps one sweep waiting or running at a time.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateScheduled, rivertype.JobStateRetryable,
	}}}
}

// GateMessageArgs posts or updates the Slack message of a request's
// approval gate from the request's state.
type GateMessageArgs struct {
	RequestID int64 `json:"request_id"`
}

// Kind implements river.JobArgs.
func (GateMessageArgs) Kind() string { return "gate_message" }

// RejectModalArgs opens the modal that collects a rejection's reason.
// Slack's trigger_id is valid for 3 seconds, so it is not retried.
type RejectModalArgs struct {
	TriggerID string `json:"trigger_id"`
	Ref       string `json:"ref"`
	Title     string `json:"title"`
}

// Kind implements river.JobArgs.
func (RejectModalArgs) Kind() string { return "reject_modal" }

// InsertOpts gives up after one attempt: a late modal cannot open.
func (RejectModalArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }
