package sop

import (
	"fmt"
	"strings"
)

// Section is one tickable part of a request: "pre" for the Preconditions
// or "step-N" for step N.
type Section struct {
	Key   string // "pre" or "step-N"
	Title string // "Preconditions" or "Step N: Title"
	Step  *Step  // nil for "pre"
	// Items are the checkboxes of the section. The approval step gets, after
	// its own items, one generated item per member of the approval role.
	Items []Item
	// Rule is the binding's rule for Key, or the zero rule when the binding
	// names none.
	Rule SectionRule
	// Approval marks the step that Binding.Approval names.
	Approval bool
}

// SectionApproval is the key of the approval section that
// ApprovalRule.Before adds, and the name a rule's After uses for the
// approval gate wherever it sits.
const SectionApproval = "approval"

// Names that a SectionRule.Tick list may use besides role titles and members.
const (
	TickRequester = "requester"
	TickBot       = "bot"
)

// Sections returns the sections of s in order: "pre", then "step-1" to
// "step-N".
func (s *SOP) Sections() []Section {
	out := make([]Section, 0, len(s.Steps)+1)
	out = append(out, Section{Key: "pre", Title: string(FieldPreconditions), Items: s.Preconditions, Rule: s.rule("pre")})
	for i := range s.Steps {
		st := &s.Steps[i]
		if s.Binding != nil && s.Binding.Approval != nil && s.Binding.Approval.Before == st.Number {
			out = append(out, Section{Key: SectionApproval, Title: "Approval", Approval: true,
				Items: s.approvalItems(), Rule: s.rule(SectionApproval)})
		}
		key := fmt.Sprintf("step-%d", st.Number)
		sec := Section{Key: key, Title: fmt.Sprintf("Step %d: %s", st.Number, st.Title), Step: st, Items: st.Items, Rule: s.rule(key)}
		if s.Binding != nil && s.Binding.Approval != nil && s.Binding.Approval.Step == st.Number {
			sec.Approval = true
			sec.Items = append(append([]Item(nil), st.Items...), s.approvalItems()...)
		}
		out = append(out, sec)
	}
	return out
}

// ApprovalSection returns the section that holds the approval lines.
func (s *SOP) ApprovalSection() (Section, bool) {
	for _, sec := range s.Sections() {
		if sec.Approval {
			return sec, true
		}
	}
	return Section{}, false
}

// BeforeApproval reports whether sec must be complete before anyone may
// approve: the preconditions and the steps before the approval.
func (s *SOP) BeforeApproval(sec Section) bool {
	if sec.Approval {
		return false
	}
	if sec.Step == nil {
		return true
	}
	if s.Binding == nil || s.Binding.Approval == nil {
		return false
	}
	a := s.Binding.Approval
	if a.Before > 0 {
		return sec.Step.Number < a.Before
	}
	return sec.Step.Number < a.Step
}

// AfterApproval reports whether sec belongs to the steps after the
// approval.
func (s *SOP) AfterApproval(sec Section) bool {
	return s.Binding != nil && s.Binding.Approval != nil && sec.Step != nil && !sec.Approval &&
		sec.Step.Number >= s.Binding.Approval.GateStep()
}

// Section returns the section with the given key.
func (s *SOP) Section(key string) (Section, bool) {
	for _, sec := range s.Sections() {
		if sec.Key == key {
			return sec, true
		}
	}
	return Section{}, false
}

// ItemSection returns the section that holds the item with the given key.
func (s *SOP) ItemSection(itemKey string) (Section, bool) {
	for _, sec := range s.Sections() {
		for _, it := range sec.Items {
			if it.Key == itemKey {
				return sec, true
			}
		}
	}
	return Section{}, false
}

func (s *SOP) rule(key string) SectionRule {
	if s.Binding == nil {
		return SectionRule{}
	}
	return s.Binding.Sections[key]
}

// approvalItems returns one "Approved by <member>" item per approval member.
func (s *SOP) approvalItems() []Item {
	members, _ := s.ApprovalMembers()
	items := make([]Item, 0, len(members))
	for _, m := range members {
		items = append(items, Item{Key: "approve-" + slug(m), Text: "Approved by " + m, Member: m})
	}
	return items
}

// ApprovalMembers returns the members of the approval role and how their
// sign-offs combine, or nil when the binding names no approval.
func (s *SOP) ApprovalMembers() ([]string, Join) {
	if s.Binding == nil || s.Binding.Approval == nil {
		return nil, JoinSingle
	}
	r, ok := s.Role(s.Binding.Approval.Role)
	if !ok {
		return nil, JoinSingle
	}
	return append([]string(nil), r.Members...), r.Join
}

// Role returns the role with the given title, ignoring case.
func (s *SOP) Role(title string) (Role, bool) {
	for _, r := range s.Roles {
		if strings.EqualFold(r.Title, title) {
			return r, true
		}
	}
	return Role{}, false
}

// TickMembers expands the Tick names of a section's rule. A role title
// stands for its members and its join, a member name for itself,
// "requester" sets requester, and a list of only "bot" sets botOnly.
// Several names combine with JoinAny; Require "all" or "any" overrides the
// join.
//
// Without a rule, the approval section is ticked by the approval members
// with the approval role's join, another section with items by the
// requester alone, and a section without items needs no tick at all, so
// every result is empty.
func (s *SOP) TickMembers(sec Section) (members []string, requester bool, botOnly bool, join Join) {
	rule := sec.Rule
	if len(rule.Tick) == 0 {
		switch {
		case sec.Approval:
			members, join = s.ApprovalMembers()
			return members, false, false, join
		case len(sec.Items) > 0:
			return nil, true, false, JoinSingle
		}
		return nil, false, false, JoinSingle
	}
	join, botOnly = JoinSingle, true
	named := 0
	for _, name := range rule.Tick {
		switch {
		case strings.EqualFold(name, TickBot):
			continue
		case strings.EqualFold(name, TickRequester):
			requester = true
		default:
			expanded, j := s.expandTick(name)
			members = appendUnique(members, expanded...)
			join = j
		}
		botOnly = false
		named++
	}
	if named > 1 {
		join = JoinAny
	}
	switch rule.Require {
	case "all":
		join = JoinAll
	case "any":
		join = JoinAny
	}
	return members, requester, botOnly, join
}

// expandTick resolves one Tick name: a role title to its members, anything
// else to itself as a member.
func (s *SOP) expandTick(name string) ([]string, Join) {
	if r, ok := s.Role(name); ok {
		return r.Members, r.Join
	}
	for _, r := range s.Roles {
		for _, m := range r.Members {
			if strings.EqualFold(m, name) {
				return []string{m}, JoinSingle
			}
		}
	}
	return []string{name}, JoinSingle
}

func appendUnique(list []string, names ...string) []string {
	for _, n := range names {
		dup := false
		for _, have := range list {
			dup = dup || strings.EqualFold(have, n)
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}

// slug lower-cases s and turns every run of other characters than ASCII
// letters and digits into one '-': "ML lead" becomes "ml-lead".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}
