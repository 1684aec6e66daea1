package sop

import "fmt"

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
