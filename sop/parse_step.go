package sop

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
)

// procedure handles one block of the Procedure field: a step heading or
// the content of the current step.
func (p *docParser) procedure(n ast.Node) {
	line := p.nodeLine(n)
	if h, ok := n.(*ast.Heading); ok && h.Level == 4 {
		p.startStep(h, line)
		return
	}
	if p.step == nil {
		p.errorf(line, "%s: Procedure text before the first step; start each step with \"#### Step N: Title\"", p.sopName())
		return
	}
	p.step.block(n, &p.step.top)
}

func (p *docParser) startStep(h *ast.Heading, line int) {
	p.endStep()
	heading := inlineText(h, p.src)
	m := stepHeading.FindStringSubmatch(heading)
	if m == nil {
		p.errorf(line, "%s: step heading %q is not of the form \"Step N: Title\"; rename it", p.sopName(), heading)
		return
	}
	number, err := strconv.Atoi(m[1])
	if err != nil || number < 1 {
		p.errorf(line, "%s: step number %q is not a positive integer", p.sopName(), m[1])
		return
	}
	want := len(p.cur.Steps) + 1
	if number != want {
		p.errorf(line, "%s: step %d found where step %d was expected; number steps 1, 2, 3 and so on in order",
			p.sopName(), number, want)
	}
	title, mode := splitMode(m[2])
	p.step = &stepParser{
		p:      p,
		prefix: fmt.Sprintf("s%d-", number),
		step:   Step{Number: number, Title: title, Mode: mode, Line: line},
	}
}

// splitMode removes a trailing "(Automated)", "(Manual)" or
// "(Automated or Manual)" marker from a step title.
func splitMode(title string) (string, Mode) {
	loc := stepMode.FindStringSubmatchIndex(title)
	if loc == nil {
		return title, ModeUnmarked
	}
	marker := strings.ToLower(title[loc[2]:loc[3]])
	return strings.TrimSpace(title[:loc[0]]), Mode(marker)
}

func (p *docParser) endStep() {
	sp := p.step
	if sp == nil {
		return
	}
	st := sp.step
	st.Items = sp.items
	st.Code = sp.code
	st.Bullets = sp.top.bullets
	st.Branches = sp.top.branches
	st.Paragraphs = sp.top.paragraphs
	p.cur.Steps = append(p.cur.Steps, st)
	p.step = nil
}

// stepParser turns the blocks of one step, or of the Preconditions field,
// into entries. It numbers checkboxes across the whole section so keys do
// not depend on nesting.
type stepParser struct {
	p      *docParser
	prefix string // "pre-" or "sN-"
	// allItems makes every list entry an item, checkbox or not, as the
	// Preconditions field needs.
	allItems bool
	step     Step
	top      body
	items    []Item      // every item of the section, in document order
	code     []CodeBlock // every code block of the section, in document order
}

// body collects the entries of one level: a step, a bullet or a branch.
type body struct {
	bullets    []Bullet
	branches   []Branch
	items      []Item
	code       []CodeBlock
	paragraphs []Paragraph
}

func (sp *stepParser) block(n ast.Node, b *body) {
	src := sp.p.src
	line := sp.p.nodeLine(n)
	if _, isList := n.(*ast.List); sp.allItems && !isList {
		sp.p.errorf(line, "%s: Preconditions take only list items; move this text into its own item or into %q",
			sp.p.sopName(), FieldPurpose)
		return
	}
	switch n := n.(type) {
	case *ast.List:
		for li := n.FirstChild(); li != nil; li = li.NextSibling() {
			sp.listItem(li, b)
		}
	case *ast.FencedCodeBlock:
		c := CodeBlock{Lang: string(n.Language(src)), Text: linesText(n, src), Line: line}
		b.code = append(b.code, c)
		sp.code = append(sp.code, c)
	case *ast.CodeBlock:
		c := CodeBlock{Text: linesText(n, src), Line: line}
		b.code = append(b.code, c)
		sp.code = append(sp.code, c)
	case *ast.ThematicBreak:
	default:
		if t := blockText(n, src); t != "" {
			b.paragraphs = append(b.paragraphs, Paragraph{Text: t, Line: line})
		}
	}
}

// listItem adds one list entry to b. A checkbox entry becomes an Item and
// anything nested under it is added to b after it, so nesting under a
// checkbox is flattened. A bold "Label:" entry becomes a Branch and any
// other entry a Bullet, each keeping its nested entries.
func (sp *stepParser) listItem(li ast.Node, b *body) {
	src := sp.p.src
	line := sp.p.nodeLine(li)
	first := li.FirstChild()
	rest := li.FirstChild()
	lead := ""
	if first != nil && isTextBlock(first) {
		lead = inlineText(first, src)
		rest = first.NextSibling()
	}

	_, isTask := firstInline(first).(*extast.TaskCheckBox)
	if isTask || sp.allItems {
		sp.addItem(first, lead, line, b)
		for c := rest; c != nil; c = c.NextSibling() {
			sp.block(c, b)
		}
		return
	}

	var nested body
	for c := rest; c != nil; c = c.NextSibling() {
		sp.block(c, &nested)
	}
	// Paragraphs and other text below the entry's first line, such as the
	// second paragraph of a loose list item, are folded into its text.
	extra := ""
	for _, para := range nested.paragraphs {
		extra = joinNonEmpty(extra, para.Text, " ")
	}

	if cond, after, ok := branchLabel(first, src); ok {
		b.branches = append(b.branches, Branch{
			Condition: cond, Text: joinNonEmpty(after, extra, " "), Bullets: nested.bullets, Items: nested.items,
			Branches: nested.branches, Code: nested.code, Line: line,
		})
		return
	}
	b.bullets = append(b.bullets, Bullet{
		Text: joinNonEmpty(lead, extra, " "), Children: nested.bullets, Items: nested.items,
		Branches: nested.branches, Code: nested.code, Line: line,
	})
}

func (sp *stepParser) addItem(first ast.Node, text string, line int, b *body) {
	checked := false
	if cb, ok := firstInline(first).(*extast.TaskCheckBox); ok {
		checked = cb.IsChecked
	}
	it := Item{
		Key:     fmt.Sprintf("%s%d", sp.prefix, len(sp.items)+1),
		Text:    text,
		Checked: checked,
		Line:    line,
	}
	sp.items = append(sp.items, it)
	b.items = append(b.items, it)
}

// branchLabel reports whether a list entry's first paragraph starts with a
// bold label ending in a colon ("**If approved:**" or "**Else**:"), and
// returns the label without its colon and the text after it.
func branchLabel(first ast.Node, src []byte) (label, after string, ok bool) {
	em, isEm := firstInline(first).(*ast.Emphasis)
	if !isEm || em.Level != 2 {
		return "", "", false
	}
	label = inlineText(em, src)
	var rest strings.Builder
	for c := em.NextSibling(); c != nil; c = c.NextSibling() {
		writeInlineNode(&rest, c, src)
	}
	after = strings.TrimSpace(rest.String())
	switch {
	case strings.HasSuffix(label, ":"):
		label = strings.TrimSpace(strings.TrimSuffix(label, ":"))
	case strings.HasPrefix(after, ":"):
		after = strings.TrimSpace(strings.TrimPrefix(after, ":"))
	default:
		return "", "", false
	}
	return label, after, label != ""
}

func isTextBlock(n ast.Node) bool {
	switch n.(type) {
	case *ast.TextBlock, *ast.Paragraph:
		return true
	}
	return false
}

func firstInline(n ast.Node) ast.Node {
	if n == nil || !isTextBlock(n) {
		return nil
	}
	return n.FirstChild()
}
