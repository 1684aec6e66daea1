package sop

import (
	"sort"
	"strings"
)

// entry is one renderable element of a step at one nesting level.
type entry struct {
	line   int
	render func(indent string)
	isList bool
}

// stepBody renders the step's top-level entries in document order. Items
// and code blocks nested in a bullet or branch are rendered there, not at
// the top level.
func (r *renderer) stepBody(st *Step) {
	nestedItems, nestedCode := map[string]bool{}, map[int]bool{}
	for _, b := range st.Bullets {
		collectNested(b.Items, b.Code, b.Children, b.Branches, nestedItems, nestedCode)
	}
	for _, br := range st.Branches {
		collectNested(br.Items, br.Code, br.Bullets, br.Branches, nestedItems, nestedCode)
	}

	var items []Item
	for _, it := range st.Items {
		if !nestedItems[it.Key] {
			items = append(items, it)
		}
	}
	var code []CodeBlock
	for _, c := range st.Code {
		if !nestedCode[c.Line] {
			code = append(code, c)
		}
	}

	es := r.entries(st.Bullets, st.Branches, items, code)
	for _, p := range st.Paragraphs {
		text := sopText(p.Text)
		es = append(es, entry{line: p.Line, render: func(string) { r.line("%s", text) }})
	}
	sortEntries(es)

	wasList := true
	for i, e := range es {
		if i > 0 && (!e.isList || !wasList) {
			r.line("")
		}
		e.render("")
		wasList = e.isList
	}
}

// collectNested records the keys of items and the lines of code blocks
// that sit below the top level of a step.
func collectNested(items []Item, code []CodeBlock, bullets []Bullet, branches []Branch, keys map[string]bool, lines map[int]bool) {
	for _, it := range items {
		keys[it.Key] = true
	}
	for _, c := range code {
		lines[c.Line] = true
	}
	for _, b := range bullets {
		collectNested(b.Items, b.Code, b.Children, b.Branches, keys, lines)
	}
	for _, br := range branches {
		collectNested(br.Items, br.Code, br.Bullets, br.Branches, keys, lines)
	}
}

// entries wraps the elements of one level for rendering.
func (r *renderer) entries(bullets []Bullet, branches []Branch, items []Item, code []CodeBlock) []entry {
	var es []entry
	for _, b := range bullets {
		es = append(es, entry{line: b.Line, isList: true, render: func(indent string) { r.bullet(b, indent) }})
	}
	for _, br := range branches {
		es = append(es, entry{line: br.Line, isList: true, render: func(indent string) { r.branch(br, indent) }})
	}
	for _, it := range items {
		es = append(es, entry{line: it.Line, isList: true, render: func(indent string) { r.items([]Item{it}, indent) }})
	}
	for _, c := range code {
		es = append(es, entry{line: c.Line, render: func(indent string) { r.code(c, indent) }})
	}
	return es
}

func sortEntries(es []entry) {
	sort.SliceStable(es, func(i, j int) bool { return es[i].line < es[j].line })
}

func (r *renderer) bullet(b Bullet, indent string) {
	r.line("%s- %s", indent, sopText(b.Text))
	r.nested(r.entries(b.Children, b.Branches, b.Items, b.Code), indent+"  ")
}

func (r *renderer) branch(br Branch, indent string) {
	label := indent + "- **" + sopText(br.Condition) + ":**"
	if br.Text != "" {
		label += " " + sopText(br.Text)
	}
	r.line("%s", label)
	r.nested(r.entries(br.Bullets, br.Branches, br.Items, br.Code), indent+"  ")
}

func (r *renderer) nested(es []entry, indent string) {
	sortEntries(es)
	for _, e := range es {
		e.render(indent)
	}
}

// items renders checkbox lines, each ending with its ItemMarker.
func (r *renderer) items(items []Item, indent string) {
	for _, it := range items {
		box := "[ ]"
		if r.in.Checked[it.Key] {
			box = "[x]"
		}
		text := sopText(it.Text)
		if r.s.Binding != nil && r.s.Binding.Checks[it.Key] != "" {
			text += " _(checked by the bot: `" + sopText(r.s.Binding.Checks[it.Key]) + "`)_"
		}
		r.line("%s- %s %s %s", indent, box, text, ItemMarker(it.Key))
	}
}

// code renders a fenced block with a fence longer than any backtick run
// in its text.
func (r *renderer) code(c CodeBlock, indent string) {
	fence := "```"
	for strings.Contains(c.Text, fence) {
		fence += "`"
	}
	r.line("%s%s%s", indent, fence, sopText(c.Lang))
	for _, l := range strings.SplitAfter(strings.TrimSuffix(r.fillPlaceholders(c.Text), "\n"), "\n") {
		r.line("%s%s", indent, strings.TrimSuffix(l, "\n"))
	}
	r.line("%s%s", indent, fence)
}

// fillPlaceholders replaces the binding's placeholders in a code block
// with the request's parameter values. Values were validated against
// their kinds before the request opened, so they carry no line break.
// Where two placeholders start at the same place, the longer one wins,
// because strings.Replacer tries its pairs in argument order.
func (r *renderer) fillPlaceholders(text string) string {
	if r.s.Binding == nil || len(r.s.Binding.Placeholders) == 0 {
		return text
	}
	placeholders := sortedKeys(r.s.Binding.Placeholders)
	sort.SliceStable(placeholders, func(i, j int) bool { return len(placeholders[i]) > len(placeholders[j]) })
	var pairs []string
	for _, placeholder := range placeholders {
		param := r.s.Binding.Placeholders[placeholder]
		if v, ok := r.s.paramValue(r.in.Params, param); ok && v != "" && !strings.ContainsAny(v, "\r\n") {
			pairs = append(pairs, placeholder, v)
		}
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// sopText prepares text from the SOP for one line of the body. It keeps
// the SOP's Markdown but breaks HTML comment delimiters, so SOP text can
// never forge a marker.
func sopText(s string) string {
	s = strings.Join(strings.FieldsFunc(s, isLineBreak), " ")
	return strings.NewReplacer("<!--", "&lt;!--", "-->", "--&gt;").Replace(s)
}

func isLineBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == 0x2028 || r == 0x2029
}

// markdownEscaper backslash-escapes the ASCII punctuation that could start
// Markdown or HTML syntax inside a line or a table cell.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`|`, `\|`, `~`, `\~`, `!`, `\!`, `#`, `\#`, `&`, `\&`,
)

// escapeText makes an outside value, such as a handle or a link text, plain
// text on one line of Markdown.
func escapeText(s string) string {
	return markdownEscaper.Replace(oneLine(s))
}

// cellCode renders a value as a code span that is safe inside a table
// cell: one line, '|' escaped as the table syntax requires, and a fence
// longer than any backtick run in the value.
func cellCode(s string) string {
	s = strings.ReplaceAll(oneLine(s), "|", `\|`)
	return codeSpan(s)
}

// oneLine replaces every control character with a space.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s)
}
