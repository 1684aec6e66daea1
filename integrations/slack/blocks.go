package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Identifiers that gate messages and the reject modal carry, and that the
// interaction handler matches on.
const (
	// GateBlockID is the block_id of the actions block with the buttons.
	GateBlockID = "sopbot_gate"
	// ApproveActionID and RejectActionID are the action_id values of the
	// Approve and Reject buttons.
	ApproveActionID = "sopbot_approve"
	RejectActionID  = "sopbot_reject"
	// RejectCallbackID is the callback_id of the reject modal.
	RejectCallbackID = "sopbot_reject_reason"
	// ReasonBlockID and ReasonActionID locate the typed reason in a
	// view_submission's view.state.values.
	ReasonBlockID  = "reason"
	ReasonActionID = "reason_input"
)

// Limits of the reject reason input, in characters.
const (
	MinReasonLength = 3
	MaxReasonLength = 1000
)

// Block Kit limits, in characters. Slack caps section text at 3000
// (https://api.slack.com/reference/block-kit/blocks#section) and a modal
// title at 24 (https://docs.slack.dev/reference/views/modal-views).
// NOTE: context text is clipped to the section limit as well, an assumed
// cap that the reference read here does not state.
const (
	maxBlockText  = 3000
	maxModalTitle = 24
)

// Gate is an approval gate of a request, as a Slack message shows it.
type Gate struct {
	// Request is the request reference shown to users, such as "#12".
	Request string
	Title   string
	// URL is the issue URL that the title links to.
	URL string
	// Section is the SOP section that holds the gate, such as
	// "Step 4: Approval Decision".
	Section string
	// Approvers are the sign-offs still needed, such as "ML lead (@dana)".
	Approvers []string
	// Signed are the sign-offs given so far, such as "@dana as ML lead".
	Signed []string
	// Parameters are the request's parameters, such as "version: 3", so
	// the approver sees what a sign-off approves.
	Parameters []string
	// Revision identifies the request's content that the message shows,
	// such as "1a2b3c4d5e6f".
	Revision string
	// Value is the value of both buttons: the request reference, such as
	// "#12", that the click is about, and may carry the revision too.
	Value string
}

// GateBlocks builds the message for an open gate: the request and the
// sign-offs it needs, the sign-offs given so far, and the Approve and
// Reject buttons. Text is escaped for mrkdwn, so titles cannot inject
// links or mentions.
func GateBlocks(g Gate) []slack.Block {
	approve := slack.NewButtonBlockElement(ApproveActionID, g.Value, plainText("Approve"))
	approve.Style = slack.StylePrimary
	reject := slack.NewButtonBlockElement(RejectActionID, g.Value, plainText("Reject"))
	reject.Style = slack.StyleDanger

	return []slack.Block{
		gateSummary(g),
		gateSigned(g),
		slack.NewActionBlock(GateBlockID, approve, reject),
	}
}

// ResolvedBlocks builds the message for a decided gate: the blocks of
// GateBlocks without the buttons, followed by outcome, such as
// "Approved by @dana at 2026-12-03 22:47 UTC".
func ResolvedBlocks(g Gate, outcome string) []slack.Block {
	return []slack.Block{
		gateSummary(g),
		gateSigned(g),
		slack.NewSectionBlock(mrkdwn("*"+escapeMrkdwn(outcome)+"*"), nil, nil),
	}
}

func gateSummary(g Gate) *slack.SectionBlock {
	var text strings.Builder
	text.WriteString("*" + link(g.URL, g.Request+" "+g.Title) + "*\n")
	text.WriteString(escapeMrkdwn(g.Section))
	if len(g.Approvers) > 0 {
		text.WriteString(" needs: " + escapeMrkdwn(strings.Join(g.Approvers, ", ")))
	}
	if len(g.Parameters) > 0 {
		text.WriteString("\nParameters: " + escapeMrkdwn(strings.Join(g.Parameters, ", ")))
	}
	if g.Revision != "" {
		text.WriteString("\nRevision: " + escapeMrkdwn(g.Revision))
	}
	return slack.NewSectionBlock(mrkdwn(text.String()), nil, nil)
}

func gateSigned(g Gate) *slack.ContextBlock {
	text := "No sign-offs yet."
	if len(g.Signed) > 0 {
		text = "Signed so far: " + escapeMrkdwn(strings.Join(g.Signed, ", "))
	}
	return slack.NewContextBlock("", mrkdwn(text))
}

// RejectModal builds the modal that a Reject click opens to ask for the
// reason. ref, such as "#12", travels in private_metadata and comes back
// in the view_submission. The reason is at ReasonBlockID / ReasonActionID
// of view.state.values.
func RejectModal(ref, title string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plainText("Why is this request rejected?"), ReasonActionID)
	input.Multiline = true
	input.MinLength = MinReasonLength
	input.MaxLength = MaxReasonLength

	intro := "Rejecting *" + escapeMrkdwn(ref+" "+title) + "*. The reason is recorded on the request."
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           plainText(clip("Reject "+ref, maxModalTitle)),
		Submit:          plainText("Reject"),
		Close:           plainText("Cancel"),
		CallbackID:      RejectCallbackID,
		PrivateMetadata: ref,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(mrkdwn(intro), nil, nil),
			slack.NewInputBlock(ReasonBlockID, plainText("Reason"), nil, input),
		}},
	}
}

func plainText(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

// mrkdwn returns a mrkdwn text object, clipped to Slack's limit.
func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, clip(text, maxBlockText), false, false)
}

// link returns a mrkdwn link to url labelled text, or the escaped text
// alone when url is empty. A "|" or ">" in url would end the link early,
// so they are percent-encoded.
func link(url, text string) string {
	if url == "" {
		return escapeMrkdwn(text)
	}
	url = strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(url)
	return "<" + url + "|" + escapeMrkdwn(text) + ">"
}

// escapeMrkdwn escapes the three characters that Slack's mrkdwn treats as
// control characters: &, < and >.
func escapeMrkdwn(text string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(text)
}

// clip cuts text to limit characters, ending it with "…" when cut.
func clip(text string, limit int) string {
	if utf8.RuneCountInString(text) <= limit {
		return text
	}
	return string([]rune(text)[:limit-1]) + "…"
}
