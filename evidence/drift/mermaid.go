package drift

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// maxTitleRunes bounds the column name shown in a chart title.
const maxTitleRunes = 40

// MermaidChart renders the reference and current bin proportions as a
// Mermaid xychart-beta block, fenced for Markdown: reference as bars and
// current as a line, both in percent of their sample. Bin labels are the
// intervals, with edges at 3 significant digits. The column name is reduced
// to letters, digits, spaces and "._-" so that it cannot end the quoted
// title or inject Mermaid or HTML.
func (r ColumnResult) MermaidChart() string {
	labels := make([]string, len(r.Bins))
	refShares := make([]string, len(r.Bins))
	curShares := make([]string, len(r.Bins))
	peak := 0.0
	for i, b := range r.Bins {
		labels[i] = strconv.Quote(binLabel(b))
		refShares[i] = formatPercent(b.ReferenceProportion)
		curShares[i] = formatPercent(b.CurrentProportion)
		peak = math.Max(peak, math.Max(b.ReferenceProportion, b.CurrentProportion))
	}
	top := math.Min(100, math.Ceil(peak*100/5)*5)
	if top == 0 {
		top = 5
	}

	var sb strings.Builder
	sb.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(&sb, "    title \"%s: reference (bars) vs current (line)\"\n", safeTitle(r.Column))
	fmt.Fprintf(&sb, "    x-axis [%s]\n", strings.Join(labels, ", "))
	fmt.Fprintf(&sb, "    y-axis \"share of sample (%%)\" 0 --> %s\n", strconv.FormatFloat(top, 'f', -1, 64))
	fmt.Fprintf(&sb, "    bar [%s]\n", strings.Join(refShares, ", "))
	fmt.Fprintf(&sb, "    line [%s]\n", strings.Join(curShares, ", "))
	sb.WriteString("```\n")
	return sb.String()
}

func binLabel(b Bin) string {
	lower, upper := "-∞", "∞"
	if !math.IsInf(b.Lower, 0) {
		lower = formatEdge(b.Lower)
	}
	if !math.IsInf(b.Upper, 0) {
		return "(" + lower + ", " + formatEdge(b.Upper) + "]"
	}
	return "(" + lower + ", " + upper + ")"
}

func formatEdge(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

func formatPercent(p float64) string { return strconv.FormatFloat(p*100, 'f', 2, 64) }

func safeTitle(name string) string {
	if name == "" {
		return "sample"
	}
	var sb strings.Builder
	count := 0
	for _, r := range name {
		if count == maxTitleRunes {
			sb.WriteString("…")
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == ' ', r == '_', r == '-', r == '.':
			sb.WriteRune(r)
		default:
			sb.WriteRune('_')
		}
		count++
	}
	return sb.String()
}
