package sop

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Change is one difference between two revisions of an SOP.
type Change struct {
	Field string // such as "Roles", "Preconditions", "Step 2", "binding"
	Key   string // the item key, role title or binding field that changed
	Old   string // empty when added
	New   string // empty when removed
}

// String renders the change as one line: "- old", "+ new" or "~ old → new".
func (c Change) String() string {
	where := c.Field
	if c.Key != "" {
		where += " " + c.Key
	}
	switch {
	case c.Old == "":
		return fmt.Sprintf("+ %s: %s", where, c.New)
	case c.New == "":
		return fmt.Sprintf("- %s: %s", where, c.Old)
	}
	return fmt.Sprintf("~ %s: %s → %s", where, c.Old, c.New)
}

// Diff lists what changed from a to b: title, purpose, roles, each
// checklist item by key, step titles and markers, records, review cadence
// and the binding. Items are matched by their stable keys, so a reworded
// item shows as changed, not as removed and added.
func Diff(a, b *SOP) []Change {
	var changes []Change
	add := func(field, key, old, new string) {
		if old != new {
			changes = append(changes, Change{Field: field, Key: key, Old: old, New: new})
		}
	}
	add("Title", "", a.Title, b.Title)
	add("Purpose & Scope", "", a.Purpose, b.Purpose)
	diffMaps(add, "Roles", roleLines(a), roleLines(b))
	diffMaps(add, "Items", itemLines(a), itemLines(b))
	diffMaps(add, "Steps", stepLines(a), stepLines(b))
	diffMaps(add, "Records", listLines(a.Records), listLines(b.Records))
	diffMaps(add, "Review Cadence", listLines(a.ReviewCadence), listLines(b.ReviewCadence))
	diffMaps(add, "binding", bindingLines(a.Binding), bindingLines(b.Binding))
	return changes
}

func diffMaps(add func(field, key, old, new string), field string, a, b map[string]string) {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		add(field, k, a[k], b[k])
	}
}

func roleLines(s *SOP) map[string]string {
	out := map[string]string{}
	for _, r := range s.Roles {
		out[r.Title] = fmt.Sprintf("%s (%s)", r.Who, r.Join)
	}
	return out
}

func itemLines(s *SOP) map[string]string {
	out := map[string]string{}
	for _, sec := range s.Sections() {
		for _, item := range sec.Items {
			out[item.Key] = item.Text
		}
	}
	return out
}

func stepLines(s *SOP) map[string]string {
	out := map[string]string{}
	for _, st := range s.Steps {
		line := st.Title
		if st.Mode != ModeUnmarked {
			line += " (" + string(st.Mode) + ")"
		}
		out[fmt.Sprintf("%d", st.Number)] = line
	}
	return out
}

func listLines(entries []string) map[string]string {
	out := map[string]string{}
	for i, e := range entries {
		out[fmt.Sprintf("%d", i+1)] = e
	}
	return out
}

// bindingLines flattens a binding into one line per top-level field.
func bindingLines(b *Binding) map[string]string {
	out := map[string]string{}
	if b == nil {
		return out
	}
	data, err := json.Marshal(b)
	if err != nil {
		return out
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return out
	}
	for k, v := range fields {
		// Objects such as sections and checks get one line per entry, so a
		// change to one section's rule shows alone.
		var nested map[string]json.RawMessage
		if json.Unmarshal(v, &nested) == nil && len(nested) > 0 {
			for nk, nv := range nested {
				out[k+"."+nk] = strings.TrimSpace(string(nv))
			}
			continue
		}
		out[k] = strings.TrimSpace(string(v))
	}
	return out
}
