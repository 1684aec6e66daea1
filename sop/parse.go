package sop

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// markdown parses GitHub-flavoured Markdown, so "- [ ] x" yields a
// TaskCheckBox node.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

var (
	// sopHeading matches "SOP-02: Title", "SOP-02 Title" and "SOP-02".
	sopHeading = regexp.MustCompile(`^(?i:sop)-([A-Za-z0-9][A-Za-z0-9._]*)\s*[:\x{2013}\x{2014}-]?\s*(.*)$`)
	// sopHeadingNoID matches "SOP: Title", an SOP heading without its ID.
	sopHeadingNoID = regexp.MustCompile(`^(?i:sop)\s*:\s*(.*)$`)
	stepHeading    = regexp.MustCompile(`^(?i:step)\s+(\d+)\s*[:.\x{2013}\x{2014}-]?\s*(.*?)\s*$`)
	stepMode       = regexp.MustCompile(`\s*\((?i:(automated or manual|automated|manual))\)$`)
)

// fieldNames maps a lower-case level-3 heading to its template field.
var fieldNames = map[string]Field{
	"purpose & scope":   FieldPurpose,
	"purpose and scope": FieldPurpose,
	"purpose":           FieldPurpose,
	"roles":             FieldRoles,
	"preconditions":     FieldPreconditions,
	"procedure":         FieldProcedure,
	"records":           FieldRecords,
	"review cadence":    FieldReviewCadence,
	"revision history":  FieldRevisionHistory,
}

// Parse reads the SOPs of one Markdown document. An SOP starts at a level-2
// heading "## SOP-XX: Title" and ends at the next level-1 or level-2
// heading. Other level-2 headings, such as an appendix, and everything
// outside an SOP are ignored. The error joins every problem found, each
// prefixed with path:line.
func Parse(path string, src []byte) (*Document, error) {
	p := &docParser{path: path, src: src, lineStarts: lineStarts(src)}
	p.doc = &Document{Path: path}
	root := markdown.Parser().Parse(text.NewReader(src))
	for n := root.FirstChild(); n != nil; n = n.NextSibling() {
		p.block(n)
	}
	p.endSOP(len(src))
	p.checkDuplicateIDs()
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.doc, nil
}

// docParser walks the top-level blocks of a document, tracking the SOP,
// field and step they belong to.
type docParser struct {
	path       string
	src        []byte
	lineStarts []int
	doc        *Document
	errs       []error

	cur      *SOP
	curStart int // byte offset of the current SOP's heading line
	field    Field
	step     *stepParser
	pre      *stepParser
}

func (p *docParser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.path, line, fmt.Sprintf(format, args...)))
}

// line returns the 1-based line of a byte offset.
func (p *docParser) line(offset int) int {
	return sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > offset })
}

// nodeLine returns the 1-based line where a node starts.
func (p *docParser) nodeLine(n ast.Node) int {
	return p.line(nodeOffset(n))
}

func (p *docParser) block(n ast.Node) {
	if h, ok := n.(*ast.Heading); ok && h.Level <= 2 {
		p.endSOP(p.lineStarts[p.nodeLine(n)-1])
		if h.Level == 2 {
			p.startSOP(h)
		}
		return
	}
	if p.cur == nil {
		return
	}
	if h, ok := n.(*ast.Heading); ok && h.Level == 3 {
		p.startField(h)
		return
	}
	p.fieldContent(n)
}

func (p *docParser) startSOP(h *ast.Heading) {
	title := inlineText(h, p.src)
	s := &SOP{Path: p.path, Line: p.nodeLine(h), Fields: map[Field]int{}}
	if m := sopHeading.FindStringSubmatch(title); m != nil {
		s.ID = "SOP-" + m[1]
		s.Title = m[2]
	} else if m := sopHeadingNoID.FindStringSubmatch(title); m != nil {
		s.Title = m[1]
	} else {
		return
	}
	if s.ID != "" {
		s.Fields[FieldID] = s.Line
	}
	if s.Title != "" {
		s.Fields[FieldTitle] = s.Line
	}
	p.cur = s
	p.curStart = p.lineStarts[s.Line-1]
	p.field = ""
}

// endSOP closes the current SOP, whose source ends at byte offset end.
func (p *docParser) endSOP(end int) {
	if p.cur == nil {
		return
	}
	p.endStep()
	p.endPreconditions()
	s := p.cur
	s.Source = string(p.src[p.curStart:end])
	s.Revision = revision(s.Source, nil)
	p.doc.SOPs = append(p.doc.SOPs, s)
	p.cur = nil
}

func (p *docParser) startField(h *ast.Heading) {
	p.endStep()
	line := p.nodeLine(h)
	name := inlineText(h, p.src)
	f, ok := fieldNames[strings.ToLower(strings.Join(strings.Fields(name), " "))]
	if !ok {
		p.errorf(line, "%s: unknown field heading %q; use one of the template fields (%s) or a level-4 heading under Procedure",
			p.sopName(), name, fieldList())
		p.field = ""
		return
	}
	if prev, dup := p.cur.Fields[f]; dup {
		p.errorf(line, "%s: field %q appears again (first at line %d); merge the two sections", p.sopName(), f, prev)
	}
	p.cur.Fields[f] = line
	p.field = f
}

func (p *docParser) sopName() string {
	if p.cur.ID != "" {
		return p.cur.ID
	}
	return fmt.Sprintf("SOP at line %d", p.cur.Line)
}

func fieldList() string {
	names := make([]string, 0, len(AllFields))
	for _, f := range AllFields[2:] {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

func (p *docParser) fieldContent(n ast.Node) {
	if _, ok := n.(*ast.ThematicBreak); ok {
		return
	}
	line := p.nodeLine(n)
	switch p.field {
	case "":
		p.errorf(line, "%s: text before the first field heading; put it under a field such as \"### %s\"", p.sopName(), FieldPurpose)
	case FieldPurpose:
		p.cur.Purpose = joinNonEmpty(p.cur.Purpose, blockText(n, p.src), "\n\n")
	case FieldRoles:
		p.roles(n)
	case FieldPreconditions:
		p.preconditions(n)
	case FieldProcedure:
		p.procedure(n)
	case FieldRecords:
		p.cur.Records = append(p.cur.Records, entries(n, p.src)...)
	case FieldReviewCadence:
		p.cur.ReviewCadence = append(p.cur.ReviewCadence, entries(n, p.src)...)
	case FieldRevisionHistory:
		p.cur.RevisionHistory = append(p.cur.RevisionHistory, entries(n, p.src)...)
	}
}

func (p *docParser) preconditions(n ast.Node) {
	if p.pre == nil {
		p.pre = &stepParser{p: p, prefix: "pre-", allItems: true}
	}
	var b body
	p.pre.block(n, &b)
}

func (p *docParser) endPreconditions() {
	if p.pre != nil {
		p.cur.Preconditions = append(p.cur.Preconditions, p.pre.items...)
		p.pre = nil
	}
}

func (p *docParser) checkDuplicateIDs() {
	seen := map[string]int{}
	for _, s := range p.doc.SOPs {
		if s.ID == "" {
			continue
		}
		key := strings.ToUpper(s.ID)
		if prev, ok := seen[key]; ok {
			p.errorf(s.Line, "%s: ID already used by the SOP at line %d; give each SOP its own ID", s.ID, prev)
			continue
		}
		seen[key] = s.Line
	}
}

// revision returns the hex SHA-256 of an SOP's source followed by its
// binding's front matter bytes.
func revision(source string, binding []byte) string {
	h := sha256.New()
	h.Write([]byte(source))
	h.Write(binding)
	return hex.EncodeToString(h.Sum(nil))
}

// lineStarts returns the byte offset where each line of src starts.
func lineStarts(src []byte) []int {
	starts := []int{0}
	for i, c := range src {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// nodeOffset returns the byte offset where a node starts, falling back to
// its first line or first child when the parser recorded no position.
func nodeOffset(n ast.Node) int {
	if n.Pos() >= 0 {
		return n.Pos()
	}
	if n.Type() == ast.TypeBlock && n.Lines().Len() > 0 {
		return n.Lines().At(0).Start
	}
	if c := n.FirstChild(); c != nil {
		return nodeOffset(c)
	}
	return 0
}

func joinNonEmpty(a, b, sep string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}
