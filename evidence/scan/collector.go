package scan

import "fmt"

// maxFindingsPerKind caps repeated findings of one kind within one file or
// member, so that a crafted artifact cannot flood the report.
const maxFindingsPerKind = 200

// collector gathers the findings of one artifact and stamps each with the
// file and member it belongs to.
type collector struct {
	file     string
	member   string
	findings []Finding
	counts   map[countKey]int
}

type countKey struct {
	member string
	kind   Kind
}

func newCollector(file string) *collector {
	return &collector{file: file, counts: make(map[countKey]int)}
}

// add records f unless it repeats the previous finding or its kind already
// reached maxFindingsPerKind for the current member, in which case one
// KindFindingLimit finding is recorded.
func (c *collector) add(f Finding) {
	f.File = c.file
	f.Member = c.member
	if n := len(c.findings); n > 0 && c.findings[n-1] == f {
		return // one opcode that pops twice past the mark reports once
	}
	key := countKey{member: c.member, kind: f.Kind}
	c.counts[key]++
	switch n := c.counts[key]; {
	case n <= maxFindingsPerKind:
		c.findings = append(c.findings, f)
	case n == maxFindingsPerKind+1:
		c.findings = append(c.findings, Finding{
			Severity: Warning, Kind: KindFindingLimit, File: c.file, Member: c.member, Offset: f.Offset,
			Detail: fmt.Sprintf("more than %d %s findings; further ones are not listed", maxFindingsPerKind, f.Kind),
		})
	}
}

// structure records a structural finding at the given offset.
func (c *collector) structure(severity Severity, kind Kind, offset int64, format string, args ...any) {
	c.add(Finding{Severity: severity, Kind: kind, Offset: offset, Detail: fmt.Sprintf(format, args...)})
}
