package sop

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// RenderInput is the request data that Render needs besides the SOP.
type RenderInput struct {
	RequestID string            // such as "R-7"
	Params    map[string]string // validated values, keyed by parameter name
	Requester string            // "@alice" on GitHub, or a display name
	// Assignees maps a role member to the handles that hold it, such as
	// "ML lead" to ["@dana", "@acme/ml-leads"].
	Assignees map[string][]string
	Checked   map[string]bool // item key to ticked
	Links     []Link          // such as the MLflow registry entry
}

// Link is one entry of the rendered Links section.
type Link struct{ Text, URL string }

// ItemMarker returns the hidden HTML comment that ends the checkbox line of
// the item with the given key.
func ItemMarker(key string) string { return "<!-- sopbot:item=" + key + " -->" }

// RenderTitle fills the binding's title template with params, falling back
// to each parameter's default, and prefixes the SOP ID:
// "[SOP-02] Promote fraud-detector v3 to Production". Without a binding it
// uses the SOP title.
func (s *SOP) RenderTitle(params map[string]string) string {
	title := s.Title
	if s.Binding != nil && s.Binding.Title != "" {
		title = placeholder.ReplaceAllStringFunc(s.Binding.Title, func(m string) string {
			name := m[1 : len(m)-1]
			if v, ok := s.paramValue(params, name); ok {
				return v
			}
			return m
		})
	}
	return "[" + s.ID + "] " + strings.Join(strings.FieldsFunc(title, isControl), " ")
}

// RenderTemplate fills a target template such as "namespace:ml-{project}"
// with params, falling back to each parameter's default.
func (s *SOP) RenderTemplate(tmpl string, params map[string]string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		if v, ok := s.paramValue(params, m[1:len(m)-1]); ok {
			return v
		}
		return m
	})
}

// paramValue returns the value of a parameter, or its default when params
// has none.
func (s *SOP) paramValue(params map[string]string, name string) (string, bool) {
	if v, ok := params[name]; ok {
		return v, true
	}
	if s.Binding != nil {
		for _, p := range s.Binding.Params {
			if p.Name == name && p.Default != "" {
				return p.Default, true
			}
		}
	}
	return "", false
}

// Render returns the issue title and the GitHub-flavoured Markdown body of
// a request. The body is deterministic for a given input. Values from in
// are escaped, so no parameter, handle or link can add a line, a checkbox
// or a marker. The body's first line is the request marker that
// RequestMarker reads; every checkbox line ends with an ItemMarker.
func Render(s *SOP, in RenderInput) (title, body string) {
	r := &renderer{s: s, in: in}
	r.header()
	r.parameters()
	r.roles()
	for _, sec := range s.Sections() {
		r.section(sec)
	}
	r.list("Records", s.Records)
	r.links()
	return s.RenderTitle(in.Params), r.b.String()
}

type renderer struct {
	s  *SOP
	in RenderInput
	b  strings.Builder
}

func (r *renderer) line(format string, args ...any) {
	fmt.Fprintf(&r.b, format, args...)
	r.b.WriteByte('\n')
}

var markerValue = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func (r *renderer) header() {
	rev := r.s.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	r.line("<!-- sopbot:request=%s sop=%s revision=%s -->", markerValue.ReplaceAllString(r.in.RequestID, ""),
		markerValue.ReplaceAllString(r.s.ID, ""), rev)
	r.line("")
	r.line("> sopbot keeps this record. Each tick is checked against the roles below, so tick only the items of sections your role covers.")
	r.line("")
	r.line("## %s: %s", sopText(r.s.ID), sopText(r.s.Title))
	r.line("")
	if r.s.Purpose != "" {
		r.line("%s", sopText(r.s.Purpose))
		r.line("")
	}
}

func (r *renderer) parameters() {
	type row struct{ name, value, description string }
	var rows []row
	if r.s.Binding != nil {
		for _, p := range r.s.Binding.Params {
			v, _ := r.s.paramValue(r.in.Params, p.Name)
			rows = append(rows, row{p.Name, v, p.Description})
		}
	} else {
		for _, name := range sortedKeys(r.in.Params) {
			rows = append(rows, row{name, r.in.Params[name], ""})
		}
	}
	if len(rows) == 0 {
		return
	}
	r.line("### Parameters")
	r.line("")
	r.line("| Parameter | Value | Description |")
	r.line("| --- | --- | --- |")
	for _, row := range rows {
		value := "_not set_"
		if row.value != "" {
			value = cellCode(row.value)
		}
		r.line("| %s | %s | %s |", escapeText(row.name), value, escapeText(row.description))
	}
	r.line("")
}

var joinWord = regexp.MustCompile(`(?i)\s+(and|or)\s+`)

func (r *renderer) roles() {
	r.line("### Roles")
	r.line("")
	r.line("| Role | Who | Assigned |")
	r.line("| --- | --- | --- |")
	requester := "_unknown_"
	if r.in.Requester != "" {
		requester = escapeText(r.in.Requester)
	}
	r.line("| Requester | person who opened this request | %s |", requester)
	for _, role := range r.s.Roles {
		who := joinWord.ReplaceAllString(escapeText(role.Who), " **$1** ")
		r.line("| %s | %s | %s |", escapeText(role.Title), who, r.assigned(role))
	}
	r.line("")
}

// assigned lists the handles of each member of role, one member per line
// of the table cell.
func (r *renderer) assigned(role Role) string {
	parts := make([]string, 0, len(role.Members))
	for _, m := range role.Members {
		handles := make([]string, 0, len(r.in.Assignees[m]))
		for _, h := range r.in.Assignees[m] {
			handles = append(handles, escapeText(h))
		}
		list := "_unassigned_"
		if len(handles) > 0 {
			list = strings.Join(handles, ", ")
		}
		parts = append(parts, escapeText(m)+": "+list)
	}
	return strings.Join(parts, "<br>")
}

func (r *renderer) section(sec Section) {
	switch {
	case sec.Step == nil:
		r.line("### %s", sec.Title)
	default:
		r.line("### Step %d: %s%s", sec.Step.Number, sopText(sec.Step.Title), modeLabel(sec.Step.Mode))
	}
	r.line("")
	r.line("_%s_", r.tickNote(sec))
	r.line("")
	if sec.Step == nil {
		r.items(sec.Items, "")
	} else {
		r.stepBody(sec.Step)
		var generated []Item
		for _, it := range sec.Items {
			if it.Member != "" {
				generated = append(generated, it)
			}
		}
		r.items(generated, "")
	}
	r.line("")
}

func modeLabel(m Mode) string {
	switch m {
	case ModeAutomated:
		return " (Automated)"
	case ModeManual:
		return " (Manual)"
	case ModeEither:
		return " (Automated or Manual)"
	}
	return ""
}

// reviewNote says how a pull request review signs, so the bot need not
// comment when a pull request links to the request.
const reviewNote = "An approving review by an approver on a pull request that mentions this request signs as well; a new push to it voids that review."

// tickNote returns one sentence that names who ticks a section.
func (r *renderer) tickNote(sec Section) string {
	members, requester, botOnly, join := r.s.TickMembers(sec)
	var who []string
	if requester {
		who = append(who, "the requester")
	}
	who = append(who, members...)
	var note string
	switch {
	case sec.Approval && len(sec.Rule.Tick) == 0 && len(members) > 0:
		return "Signed by " + joinNames(members, "and") + ": each approver ticks their own approval line. " + reviewNote
	case botOnly:
		note = "Ticked by the bot."
	case len(who) == 0:
		return "Nothing to tick in this section."
	case len(who) == 1:
		note = "Ticked by " + sopText(who[0]) + "."
	case join == JoinAll:
		note = "Ticked by " + joinNames(who, "and") + ": a tick from each."
	default:
		note = "Ticked by " + joinNames(who, "or") + "."
	}
	if sec.Approval && len(sec.Rule.Tick) > 0 {
		approvers, _ := r.s.ApprovalMembers()
		note += " Each approval line is ticked by its own approver: " + joinNames(approvers, "and") + "."
	}
	if bot := r.actionItems(sec); bot != "" && !botOnly {
		note += " " + bot
	}
	switch after := sec.Rule.After; {
	case after == "approval":
		note += " Opens once the approval is complete."
	case after != "":
		note += " Opens once " + strings.Replace(after, "step-", "step ", 1) + " is complete."
	}
	return note
}

func joinNames(names []string, word string) string {
	escaped := make([]string, len(names))
	for i, n := range names {
		escaped[i] = sopText(n)
	}
	if len(escaped) == 1 {
		return escaped[0]
	}
	return strings.Join(escaped[:len(escaped)-1], ", ") + " " + word + " " + escaped[len(escaped)-1]
}

func (r *renderer) list(heading string, entries []string) {
	if len(entries) == 0 {
		return
	}
	r.line("### %s", heading)
	r.line("")
	for _, e := range entries {
		r.line("- %s", sopText(e))
	}
	r.line("")
}

func (r *renderer) links() {
	if len(r.in.Links) == 0 {
		return
	}
	r.line("### Links")
	r.line("")
	for _, l := range r.in.Links {
		text := escapeText(l.Text)
		if text == "" {
			text = escapeText(l.URL)
		}
		if u, ok := safeURL(l.URL); ok {
			r.line("- [%s](%s)", text, u)
		} else {
			// NOTE: a link whose URL is not http(s) is shown as text only.
			r.line("- %s", text)
		}
	}
	r.line("")
}

// safeURL returns an http(s) URL percent-encoded so that it cannot end a
// Markdown link destination early.
func safeURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(u.String()), true
}

// actionItems names the items of sec that the bot's actions tick.
func (r *renderer) actionItems(sec Section) string {
	if r.s.Binding == nil {
		return ""
	}
	var parts []string
	for _, a := range r.s.Binding.Actions {
		var keys []string
		for _, it := range sec.Items {
			for _, key := range a.Ticks {
				if key == it.Key {
					keys = append(keys, "\""+sopText(clipText(it.Text, 40))+"\"")
				}
			}
		}
		if len(keys) > 0 {
			parts = append(parts, fmt.Sprintf("%s when `%s` succeeds", strings.Join(keys, " and "), a.Name))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "The bot ticks " + strings.Join(parts, "; ") + "."
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimSpace(s[:cut]) + "…"
}
