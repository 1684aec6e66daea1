package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

// recordsComment builds the comment posted when a request ends: one entry
// per item of the SOP's Records field, filled from the store where the bot
// kept that record, then the approval trail, the evidence and the action's
// result.
func (e *Engine) recordsComment(t *txn, req store.Request, s *sop.SOP) (string, error) {
	signoffs, err := e.DB.AllSignoffs(t.ctx, t.tx, req.ID)
	if err != nil {
		return "", err
	}
	items, err := e.DB.Items(t.ctx, t.tx, req.ID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## Records of %s (%s)\n\n", req.Label(), req.State)
	b.WriteString("| record the SOP asks for | where it is |\n| --- | --- |\n")
	for _, record := range s.Records {
		fmt.Fprintf(&b, "| %s | %s |\n", tableText(record), recordSource(record, req))
	}
	b.WriteString("\n### Approval trail\n\n")
	b.WriteString(approvalTrail(signoffs))
	b.WriteString("\n### Evidence the bot gathered\n\n")
	b.WriteString(evidenceList(s, items))
	if summary := resultSummary(req); summary != "" {
		b.WriteString("\n### Action result\n\n" + summary)
	}
	fmt.Fprintf(&b, "\nSOP %s revision `%s`; request revision `%s`. The full audit trail: `sopbot audit export --request R-%d`.\n",
		s.ID, shortSHA(req.SOPRevision), shortSHA(req.Revision), req.ID)
	return b.String(), nil
}

// recordSource returns where one Records entry is kept, judged by its words.
func recordSource(record string, req store.Request) string {
	text := strings.ToLower(record)
	switch {
	case strings.Contains(text, "ticket") || strings.Contains(text, "approval"):
		return fmt.Sprintf("this issue, %s, with the approval trail below", req.IssueURL)
	case strings.Contains(text, "registry") || strings.Contains(text, "stage"):
		if req.Result != "" {
			return "the action result below (stage or alias before and after)"
		}
		return "no registry change was made"
	case strings.Contains(text, "audit"):
		return fmt.Sprintf("sopbot's hash-chained audit trail, `sopbot audit export --request R-%d`", req.ID)
	case strings.Contains(text, "run") || strings.Contains(text, "experiment") || strings.Contains(text, "drift"):
		return "the evidence below"
	}
	return "not recorded by sopbot: attach it to this issue"
}

func approvalTrail(signoffs []store.Signoff) string {
	if len(signoffs) == 0 {
		return "No sign-offs.\n"
	}
	var b strings.Builder
	b.WriteString("| who | role | how | when | revision | status |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, so := range signoffs {
		how := so.Via
		if so.PRNumber != 0 {
			how = fmt.Sprintf("%s on #%d at %s", so.Via, so.PRNumber, shortSHA(so.CommitSHA))
		}
		status := "counts"
		if so.Revoked {
			status = "void: " + tableText(so.RevokedWhy)
		}
		fmt.Fprintf(&b, "| @%s | %s | %s | %s | `%s` | %s |\n", so.Login, so.Member, how,
			so.At.UTC().Format(time.RFC3339), shortSHA(so.Revision), status)
	}
	return b.String()
}

func evidenceList(s *sop.SOP, items map[string]store.Item) string {
	var b strings.Builder
	for _, key := range sortedKeys(s.Binding.Checks) {
		item := items[key]
		state := item.CheckState
		if state == "" {
			state = "not run"
		}
		fmt.Fprintf(&b, "- `%s` (%s): %s. %s\n", key, s.Binding.Checks[key], state, item.Evidence)
	}
	if b.Len() == 0 {
		return "None.\n"
	}
	return b.String()
}

func resultSummary(req store.Request) string {
	if req.Result == "" {
		return ""
	}
	var r PromotionResult
	if err := json.Unmarshal([]byte(req.Result), &r); err != nil || r.Model == "" {
		return "```json\n" + req.Result + "\n```\n"
	}
	before, after := r.StageBefore, r.Target
	if r.Mode == "alias" {
		before = "alias " + r.Target + " at v" + r.PreviousVersion
		if r.PreviousVersion == "" {
			before = "alias " + r.Target + " unset"
		}
		after = "alias " + r.Target + " at v" + r.Version
	}
	var b strings.Builder
	fmt.Fprintf(&b, "- %s v%s: %s → %s", r.Model, r.Version, before, after)
	if r.Mode == "stage" && r.PreviousVersion != "" {
		fmt.Fprintf(&b, "; v%s archived", r.PreviousVersion)
	}
	fmt.Fprintf(&b, ". Verified at %s.\n", r.VerifiedAt.UTC().Format(time.RFC3339))
	if r.RunID != "" {
		fmt.Fprintf(&b, "- Run `%s`.\n", r.RunID)
	}
	return b.String()
}
