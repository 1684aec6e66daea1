package bot

import "github.com/sopbot/sopbot/bot/store"

// Event is one normalized input to the engine: a delivery turned into what
// it means for requests, or the result of an effect.
type Event interface{ eventName() string }

// CommandIssued is a command typed in Slack or in a GitHub comment.
type CommandIssued struct {
	DeliveryID     string
	Actor          Actor
	Line           string
	Origin         store.Origin
	InstallationID int64
	// CommentID is the GitHub comment that carried the command, if any.
	CommentID int64
}

// ChecklistEdited is an edit of a request issue's body. OldBody is the
// body before the edit; HasOld is false when GitHub sent no previous body,
// which means the body did not change.
type ChecklistEdited struct {
	DeliveryID string
	Actor      Actor
	Issue      int
	OldBody    string
	NewBody    string
	HasOld     bool
}

// ReviewSubmitted is a pull request review being submitted or dismissed.
type ReviewSubmitted struct {
	DeliveryID string
	Actor      Actor
	PR         int
	PRBody     string
	PRAuthor   string
	HeadSHA    string
	ReviewID   int64
	// State is "approved", "changes_requested", "commented" or
	// "dismissed".
	State    string
	Body     string
	CommitID string
}

// PullRequestChanged is a pull request opened, edited, reopened or pushed to.
type PullRequestChanged struct {
	DeliveryID string
	Actor      Actor
	PR         int
	Body       string
	HeadSHA    string
	Action     string
}

// IssueClosed is a request issue closed by a person.
type IssueClosed struct {
	DeliveryID string
	Actor      Actor
	Issue      int
}

// IssueOpened is the result of opening a request's issue.
type IssueOpened struct {
	RequestID int64
	Number    int
	URL       string
}

// CheckFinished is the result of a check the bot runs for an item.
type CheckFinished struct {
	RequestID int64
	Key       string
	Passed    bool
	// NotApplicable means the check cannot decide (nothing is configured
	// for it), so people tick the item under the section's rule.
	NotApplicable bool
	// Evidence is one line for the audit trail and the comment.
	Evidence string
	// Report is optional Markdown, such as a table, shown under Evidence.
	Report string
	// Params is the parameters key the check ran for; see CheckArgs.
	Params string
}

// CheckReported is a check run or commit status reported on a commit,
// such as the training/serving parity tests of a linked pull request.
type CheckReported struct {
	DeliveryID string
	// PRs are the pull requests the check run names; a commit status names
	// none, so the head commit finds them.
	PRs     []int
	HeadSHA string
	Name    string
	// Conclusion is the check run's conclusion or the commit status's
	// state: success, failure, error, cancelled, timed_out, …
	Conclusion string
	URL        string
}

// ActionFinished is the result of the action that runs when the approval
// gate opens.
type ActionFinished struct {
	RequestID int64
	Succeeded bool
	Summary   string // Markdown for the issue comment
	Result    string // JSON for the request's record
	Error     string
}

func (CommandIssued) eventName() string      { return "command" }
func (ChecklistEdited) eventName() string    { return "checklist_edited" }
func (ReviewSubmitted) eventName() string    { return "review" }
func (PullRequestChanged) eventName() string { return "pull_request" }
func (IssueClosed) eventName() string        { return "issue_closed" }
func (IssueOpened) eventName() string        { return "issue_opened" }
func (CheckFinished) eventName() string      { return "check_finished" }
func (CheckReported) eventName() string      { return "check_reported" }
func (ActionFinished) eventName() string     { return "action_finished" }

// Actions a Slack gate message's buttons carry.
const (
	ButtonApprove = "approve"
	ButtonReject  = "reject"
)

// ButtonPressed is a click on an Approve or Reject button of a gate
// message in Slack.
type ButtonPressed struct {
	DeliveryID string
	// Actor is the Slack user who clicked, with the GitHub login the
	// configuration pairs them with; an unpaired user has no Login.
	Actor  Actor
	Ref    RequestRef
	Action string // ButtonApprove or ButtonReject
	// Revision is the request revision the clicked message showed, from
	// the button's value; empty for a message posted before buttons
	// carried one.
	Revision    string
	ResponseURL string
	TriggerID   string
	Channel     string
	MessageTS   string
}

// RejectReasonSubmitted is the reason typed into the modal that a Reject
// button opened.
type RejectReasonSubmitted struct {
	DeliveryID string
	Actor      Actor
	Ref        RequestRef
	Reason     string
}

func (ButtonPressed) eventName() string         { return "button_pressed" }
func (RejectReasonSubmitted) eventName() string { return "reject_reason" }

// ActionStalled is an action that has run longer than its heartbeat
// timeout with no job left to finish it, as when the process died.
type ActionStalled struct {
	RequestID int64
}

// BodyDrift is a request issue whose checkboxes differ from the store with
// no webhook left to explain it: the edit's delivery was lost.
type BodyDrift struct {
	RequestID int64
	Keys      []string
}

func (ActionStalled) eventName() string { return "action_stalled" }
func (BodyDrift) eventName() string     { return "body_drift" }

// DriftChecked is the outcome of a scheduled drift check of one model.
type DriftChecked struct {
	Model   string
	SOP     string // the SOP a detected drift opens
	Drifted bool
	// Summary is one line for the audit trail; Report is the Markdown
	// table and charts for the issue.
	Summary string
	Report  string
	// Scores are each column's scores, stored with the request the check
	// opens or finds.
	Scores []store.DriftScore
}

func (DriftChecked) eventName() string { return "drift_checked" }
