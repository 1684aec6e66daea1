package bot

import (
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"

	"github.com/sopbot/sopbot/sop"
)

var commentParser = goldmark.New(goldmark.WithExtensions(extension.GFM)).Parser()

// ExtractCommand returns the first command line of a GitHub comment. Only
// lines of top-level paragraphs count: quoted lines, fenced or indented
// code, list items and HTML comments are never commands.
func ExtractCommand(body string) (string, bool) {
	// A cheap check first: most comments carry no command, and the parser
	// slows down steeply on deeply nested input.
	if !strings.Contains(body, Prefix) || sop.TooDeep(body) {
		return "", false
	}
	source := []byte(strings.ReplaceAll(body, "\r\n", "\n"))
	doc := commentParser.Parse(text.NewReader(source))
	for node := doc.FirstChild(); node != nil; node = node.NextSibling() {
		if node.Kind() != ast.KindParagraph {
			continue
		}
		lines := node.Lines()
		for i := 0; i < lines.Len(); i++ {
			segment := lines.At(i)
			line := strings.TrimSpace(string(segment.Value(source)))
			if isCommandLine(line) {
				return stripInlineComments(line), true
			}
		}
	}
	return "", false
}

func isCommandLine(line string) bool {
	rest, ok := strings.CutPrefix(line, Prefix)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}

func stripInlineComments(line string) string {
	for {
		start := strings.Index(line, "<!--")
		if start < 0 {
			return strings.TrimSpace(line)
		}
		end := strings.Index(line[start:], "-->")
		if end < 0 {
			return strings.TrimSpace(line[:start])
		}
		line = line[:start] + line[start+end+3:]
	}
}
