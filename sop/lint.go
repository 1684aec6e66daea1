package sop

import (
	"bytes"
	"errors"
	"fmt"
)

// Lint lists every template field that an SOP of doc lacks or leaves
// empty, in document order and then field order. ID and Title count as
// missing when the SOP heading lacks them.
func Lint(doc *Document) []Missing {
	var out []Missing
	for _, s := range doc.SOPs {
		for _, f := range AllFields {
			_, present := s.Fields[f]
			if present && s.hasContent(f) {
				continue
			}
			out = append(out, Missing{Path: doc.Path, Line: s.Line, SOPID: s.ID, Field: f, Empty: present})
		}
	}
	return out
}

// LintFile lints one SOP file given as bytes and returns its document,
// the template fields its SOPs lack (see Lint) and every other problem,
// joined, each as "path:line: ...". A file that starts with a "---" line
// is a library file: its front matter is also decoded strictly and its
// binding checked as LoadDir checks it. The document's one SOP carries
// the binding when that check passes. The document is nil when the Markdown does not
// parse.
func LintFile(path string, src []byte) (*Document, []Missing, error) {
	if !HasFrontMatter(src) {
		doc, err := Parse(path, src)
		if err != nil {
			return nil, nil, err
		}
		return doc, Lint(doc), nil
	}
	fm, body, err := splitFrontMatter(path, src)
	if err != nil {
		return nil, nil, err
	}
	binding, bindingErr := decodeBinding(path, fm)
	doc, err := Parse(path, body)
	if err != nil {
		return nil, nil, errors.Join(bindingErr, err)
	}
	missing := Lint(doc)
	if bindingErr != nil {
		return doc, missing, bindingErr
	}
	if _, err := bindSOP(path, fm, binding, doc, src); err != nil {
		for _, s := range doc.SOPs {
			s.Binding = nil
		}
		return doc, missing, err
	}
	return doc, missing, nil
}

// HasFrontMatter reports whether src starts with a "---" line, as the
// files of a library do.
func HasFrontMatter(src []byte) bool {
	return bytes.HasPrefix(src, []byte("---\n")) || bytes.HasPrefix(src, []byte("---\r\n"))
}

// hasContent reports whether field f of s holds anything.
func (s *SOP) hasContent(f Field) bool {
	switch f {
	case FieldID:
		return s.ID != ""
	case FieldTitle:
		return s.Title != ""
	case FieldPurpose:
		return s.Purpose != ""
	case FieldRoles:
		return len(s.Roles) > 0
	case FieldPreconditions:
		return len(s.Preconditions) > 0
	case FieldProcedure:
		return len(s.Steps) > 0
	case FieldRecords:
		return len(s.Records) > 0
	case FieldReviewCadence:
		return len(s.ReviewCadence) > 0
	case FieldRevisionHistory:
		return len(s.RevisionHistory) > 0
	}
	return false
}

// String formats the finding as "path:line: SOP-01: missing field "Records"".
func (m Missing) String() string {
	id := m.SOPID
	if id == "" {
		id = "SOP without ID"
	}
	if m.Empty {
		return fmt.Sprintf("%s:%d: %s: field %q is empty", m.Path, m.Line, id, m.Field)
	}
	return fmt.Sprintf("%s:%d: %s: missing field %q", m.Path, m.Line, id, m.Field)
}
