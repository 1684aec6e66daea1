package sop

import (
	"strings"

	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// ReadParams returns the parameter values of a rendered issue body: the
// Value column of the table under the "### Parameters" heading, with the
// code span marks removed. People change a request's parameters by editing
// that column.
func ReadParams(body string) map[string]string {
	if TooDeep(body) {
		return nil
	}
	src := []byte(strings.ReplaceAll(body, "\r\n", "\n"))
	doc := markdown.Parser().Parse(text.NewReader(src))
	table := paramsTable(doc, src)
	if table == nil {
		return nil
	}
	params := map[string]string{}
	for row := table.FirstChild(); row != nil; row = row.NextSibling() {
		if row.Kind() != extast.KindTableRow {
			continue
		}
		name := row.FirstChild()
		if name == nil || name.NextSibling() == nil {
			continue
		}
		key := strings.TrimSpace(inlineText(name, src))
		value := strings.TrimSpace(plainCell(name.NextSibling(), src))
		if key != "" && value != "_not set_" {
			params[key] = value
		}
	}
	return params
}

// paramsTable finds the table that follows the Parameters heading.
func paramsTable(doc ast.Node, src []byte) ast.Node {
	seen := false
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		if h, ok := n.(*ast.Heading); ok {
			if seen {
				return nil
			}
			seen = strings.EqualFold(strings.TrimSpace(inlineText(h, src)), "Parameters")
			continue
		}
		if seen && n.Kind() == extast.KindTable {
			return n
		}
	}
	return nil
}

// plainCell returns a cell's text with code spans unwrapped, so `3`
// reads as 3.
func plainCell(cell ast.Node, src []byte) string {
	var b strings.Builder
	for c := cell.FirstChild(); c != nil; c = c.NextSibling() {
		if c.Kind() == ast.KindCodeSpan {
			for t := c.FirstChild(); t != nil; t = t.NextSibling() {
				if seg, ok := t.(*ast.Text); ok {
					b.Write(seg.Segment.Value(src))
				}
			}
			continue
		}
		b.WriteString(inlineText(c, src))
	}
	return strings.ReplaceAll(b.String(), `\|`, "|")
}

// SetParam rewrites the Value cell of one parameter's row in a rendered
// body and reports whether the body changed. Every other line stays as it
// is.
func SetParam(body, name, value string) (string, bool) {
	lines := strings.SplitAfter(body, "\n")
	inSection := false
	prefix := "| " + escapeText(name) + " | "
	for i, line := range lines {
		trimmed := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(trimmed, "### "):
			inSection = strings.EqualFold(strings.TrimSpace(trimmed[4:]), "Parameters")
		case inSection && strings.HasPrefix(trimmed, prefix):
			rest := trimmed[len(prefix):]
			end := strings.Index(rest, " | ")
			if end < 0 {
				return body, false
			}
			updated := prefix + cellCode(value) + rest[end:] + line[len(trimmed):]
			if updated == line {
				return body, false
			}
			lines[i] = updated
			return strings.Join(lines, ""), true
		}
	}
	return body, false
}
