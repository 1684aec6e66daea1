package sop

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark/ast"
	extast "github.com/yuin/goldmark/extension/ast"
)

// inlineText returns the visible text of a node's inline children on one
// line. Code spans keep their backticks, emphasis keeps only its text, a
// link keeps its text followed by " (URL)", raw HTML and every other byte
// pass through unchanged.
func inlineText(n ast.Node, src []byte) string {
	var b strings.Builder
	writeInline(&b, n, src)
	return strings.TrimSpace(b.String())
}

func writeInline(b *strings.Builder, n ast.Node, src []byte) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		writeInlineNode(b, c, src)
	}
}

func writeInlineNode(b *strings.Builder, n ast.Node, src []byte) {
	switch n := n.(type) {
	case *ast.Text:
		b.Write(n.Segment.Value(src))
		if n.SoftLineBreak() || n.HardLineBreak() {
			b.WriteByte(' ')
		}
	case *ast.String:
		b.Write(n.Value)
	case *ast.CodeSpan:
		var code strings.Builder
		writeInline(&code, n, src)
		b.WriteString(codeSpan(code.String()))
	case *ast.RawHTML:
		for i := 0; i < n.Segments.Len(); i++ {
			seg := n.Segments.At(i)
			b.Write(bytes.ReplaceAll(seg.Value(src), []byte("\n"), []byte(" ")))
		}
	case *ast.AutoLink:
		b.Write(n.URL(src))
	case *ast.Link:
		var label strings.Builder
		writeInline(&label, n, src)
		b.WriteString(label.String())
		if dest := string(n.Destination); dest != "" && dest != label.String() {
			b.WriteString(" (" + dest + ")")
		}
	case *extast.TaskCheckBox:
	default:
		writeInline(b, n, src)
	}
}

// codeSpan wraps code in enough backticks that a backtick inside it cannot
// close the span, padding with spaces where the code starts or ends with one.
func codeSpan(code string) string {
	fence := "`"
	for strings.Contains(code, fence) {
		fence += "`"
	}
	if strings.HasPrefix(code, "`") || strings.HasSuffix(code, "`") {
		code = " " + code + " "
	}
	return fence + code + fence
}

// blockText returns the text of a block: the inline text of a paragraph or
// heading, the entries of a list joined by newlines, or the raw lines of
// any other block.
func blockText(n ast.Node, src []byte) string {
	switch n.(type) {
	case *ast.Paragraph, *ast.TextBlock, *ast.Heading:
		return inlineText(n, src)
	case *ast.List:
		return strings.Join(entries(n, src), "\n")
	}
	if n.Type() == ast.TypeBlock && n.Lines().Len() > 0 {
		return strings.TrimSpace(linesText(n, src))
	}
	var parts []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if c.Type() == ast.TypeInline {
			return inlineText(n, src)
		}
		if t := blockText(c, src); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, " ")
}

// entries returns the texts of a list field such as Records: one entry per
// list item, nested items after their parent, or the block's text.
func entries(n ast.Node, src []byte) []string {
	list, ok := n.(*ast.List)
	if !ok {
		if t := blockText(n, src); t != "" {
			return []string{t}
		}
		return nil
	}
	var out []string
	for li := list.FirstChild(); li != nil; li = li.NextSibling() {
		for c := li.FirstChild(); c != nil; c = c.NextSibling() {
			out = append(out, entries(c, src)...)
		}
	}
	return out
}

// linesText returns a block's source lines unchanged, as goldmark recorded
// them, so code keeps its bytes and indentation relative to the fence.
func linesText(n ast.Node, src []byte) string {
	var b strings.Builder
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.Write(seg.Value(src))
	}
	return b.String()
}
