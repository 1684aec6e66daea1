package sop

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/yuin/goldmark/ast"
)

var (
	// roleNote matches a trailing parenthetical: "ML lead (for major model changes)".
	roleNote = regexp.MustCompile(`\s*\(([^()]*)\)\s*$`)
	// roleJoin splits "A and B", "A or B" and "A, B and C".
	roleJoin = regexp.MustCompile(`(?i)\s*,\s*(?:(and|or)\s+)?|\s+(and|or)\s+`)
)

// roles parses the list of the Roles field. Each entry reads
// "**Title:** who", where who names one member, members joined by "and"
// or members joined by "or".
func (p *docParser) roles(n ast.Node) {
	list, ok := n.(*ast.List)
	if !ok {
		p.errorf(p.nodeLine(n), "%s: Roles take a list such as \"- **Approver:** ML lead and compliance officer\"", p.sopName())
		return
	}
	for li := list.FirstChild(); li != nil; li = li.NextSibling() {
		line := p.nodeLine(li)
		first := li.FirstChild()
		title, who, ok := roleLabel(first, p.src)
		if !ok {
			p.errorf(line, "%s: role entry %q does not read \"**Title:** who\"; write it like \"- **Approver:** ML lead\"",
				p.sopName(), blockText(li, p.src))
			continue
		}
		r, err := parseRole(title, who)
		if err != nil {
			p.errorf(line, "%s: %v", p.sopName(), err)
			continue
		}
		r.Line = line
		p.cur.Roles = append(p.cur.Roles, r)
	}
}

// roleLabel splits a role entry into its title and the people it names.
// It accepts a bold label ("**Approver:** who") and a plain one
// ("Approver: who").
func roleLabel(first ast.Node, src []byte) (title, who string, ok bool) {
	if first == nil || !isTextBlock(first) {
		return "", "", false
	}
	if label, after, isLabel := branchLabel(first, src); isLabel {
		return label, after, after != ""
	}
	title, who, found := strings.Cut(inlineText(first, src), ":")
	title, who = strings.TrimSpace(title), strings.TrimSpace(who)
	return title, who, found && title != "" && who != ""
}

// parseRole splits who into members, join and note.
func parseRole(title, who string) (Role, error) {
	r := Role{Title: title, Who: who, Join: JoinSingle}
	names := who
	if m := roleNote.FindStringSubmatchIndex(names); m != nil {
		r.Note = strings.TrimSpace(names[m[2]:m[3]])
		names = strings.TrimSpace(names[:m[0]])
	}
	var joins []string
	for _, m := range roleJoin.FindAllStringSubmatch(names, -1) {
		word := strings.ToLower(m[1] + m[2])
		if word != "" {
			joins = append(joins, word)
		}
	}
	for _, member := range roleJoin.Split(names, -1) {
		if member = strings.TrimSpace(member); member != "" {
			r.Members = append(r.Members, member)
		}
	}
	if len(r.Members) == 0 {
		return Role{}, fmt.Errorf("role %q is missing its members; write who holds it after the colon", title)
	}
	if len(r.Members) > 1 {
		r.Join = JoinAll
	}
	for _, j := range joins {
		if j != joins[0] {
			return Role{}, fmt.Errorf("role %q mixes \"and\" with \"or\" in %q; split it into two role entries", title, who)
		}
		if j == "or" {
			r.Join = JoinAny
		}
	}
	return r, nil
}
