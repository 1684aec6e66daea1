package sop

import (
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// ChecklistEntry is one checkbox line of an issue body that carries an
// item marker.
type ChecklistEntry struct {
	Key     string
	Checked bool
	Text    string // the visible text, without the marker
	Line    int    // 1-based line in the body
}

var (
	itemMarker    = regexp.MustCompile(`^<!--\s*sopbot:item=([A-Za-z0-9_-]+)\s*-->$`)
	requestMarker = regexp.MustCompile(`<!--\s*sopbot:request=([A-Za-z0-9._-]+)[\s>-]`)
)

// checkbox is a checklist entry with the byte offset of its state
// character, the ' ', 'x' or 'X' between the brackets.
type checkbox struct {
	ChecklistEntry
	state int
}

// ReadChecklist returns the checkbox lines of body that carry a sopbot
// item marker, keyed by item key. It parses the body as GitHub-flavoured
// Markdown with goldmark, so a checkbox inside a code block, an HTML block
// or a block quote is not an entry. It accepts "- [x]", "- [X]", "* [ ]",
// "+ [ ]", "1. [ ]", indentation and CRLF line ends. When two checkboxes
// carry the same key, the first in document order wins.
func ReadChecklist(body string) map[string]ChecklistEntry {
	if TooDeep(body) {
		return map[string]ChecklistEntry{} // see TooDeep: such a body is not parsed
	}
	out := map[string]ChecklistEntry{}
	for _, c := range readCheckboxes(body) {
		out[c.Key] = c.ChecklistEntry
	}
	return out
}

// readCheckboxes returns the first checkbox for each key, in document order.
func readCheckboxes(body string) []checkbox {
	src := []byte(body)
	starts := lineStarts(src)
	root := markdown.Parser().Parse(text.NewReader(src))
	seen := map[string]bool{}
	var out []checkbox
	_ = ast.Walk(root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		if _, quoted := n.(*ast.Blockquote); quoted {
			return ast.WalkSkipChildren, nil
		}
		li, ok := n.(*ast.ListItem)
		if !ok {
			return ast.WalkContinue, nil
		}
		if c, ok := listCheckbox(li, src); ok && !seen[c.Key] {
			seen[c.Key] = true
			c.Line = sort.Search(len(starts), func(i int) bool { return starts[i] > c.state })
			out = append(out, c)
		}
		return ast.WalkContinue, nil
	})
	return out
}

// listCheckbox reads a list item that starts with a task checkbox and
// carries an item marker.
func listCheckbox(li *ast.ListItem, src []byte) (checkbox, bool) {
	first := li.FirstChild()
	cb, ok := firstInline(first).(*extast.TaskCheckBox)
	if !ok || first.Lines().Len() == 0 {
		return checkbox{}, false
	}
	state := first.Lines().At(0).Start + 1
	if state >= len(src) || src[state-1] != '[' {
		return checkbox{}, false
	}
	key := ""
	var visible strings.Builder
	for c := cb.NextSibling(); c != nil; c = c.NextSibling() {
		if raw, isRaw := c.(*ast.RawHTML); isRaw && key == "" {
			if m := itemMarker.FindStringSubmatch(rawHTML(raw, src)); m != nil {
				key = m[1]
				continue
			}
		}
		writeInlineNode(&visible, c, src)
	}
	if key == "" {
		return checkbox{}, false
	}
	entry := ChecklistEntry{Key: key, Checked: cb.IsChecked, Text: strings.TrimSpace(visible.String())}
	return checkbox{ChecklistEntry: entry, state: state}, true
}

func rawHTML(n *ast.RawHTML, src []byte) string {
	var b strings.Builder
	for i := 0; i < n.Segments.Len(); i++ {
		seg := n.Segments.At(i)
		b.Write(seg.Value(src))
	}
	return b.String()
}

// SetChecked ticks or unticks the checkbox of the item with the given key
// by rewriting the one state character between its brackets. Every other
// byte of body, including other people's ticks and CRLF line ends, stays
// as it was. It returns changed false when the key has no checkbox or the
// box is already in the requested state.
func SetChecked(body, key string, checked bool) (newBody string, changed bool) {
	for _, c := range readCheckboxes(body) {
		if c.Key != key {
			continue
		}
		if c.Checked == checked {
			return body, false
		}
		state := byte(' ')
		if checked {
			state = 'x'
		}
		return body[:c.state] + string(state) + body[c.state+1:], true
	}
	return body, false
}

// RequestMarker returns the request ID of the first top-level HTML block
// that carries a "<!-- sopbot:request=... -->" marker, as Render writes on
// the body's first line.
func RequestMarker(body string) (requestID string, ok bool) {
	src := []byte(body)
	root := markdown.Parser().Parse(text.NewReader(src))
	for n := root.FirstChild(); n != nil; n = n.NextSibling() {
		html, isHTML := n.(*ast.HTMLBlock)
		if !isHTML {
			continue
		}
		if m := requestMarker.FindStringSubmatch(linesText(html, src)); m != nil {
			return m[1], true
		}
	}
	return "", false
}
