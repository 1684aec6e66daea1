package sop

import "strings"

// TooDeep reports whether a body nests quotes or lists deeper than any
// issue or pull request of this bot needs, or is over 1 MiB. The Markdown
// parser slows down steeply with depth, so such bodies are not parsed.
func TooDeep(body string) bool {
	if len(body) > 1<<20 || strings.Count(body, "[") > maxBrackets {
		return true
	}
	for _, line := range strings.Split(body, "\n") {
		if markerDepth(line) > maxMarkerDepth {
			return true
		}
	}
	return false
}

// maxBrackets bounds the link openers of a body; a rendered SOP issue has
// about two per checklist item.
const maxBrackets = 4096

// maxMarkerDepth is the most quote, list and bracket markers a line may
// open with; the bot's own bodies use at most three.
const maxMarkerDepth = 32

// markerDepth counts the markers a line opens with, ignoring spaces.
func markerDepth(line string) int {
	depth := 0
	for _, r := range line {
		switch r {
		case '>', '-', '*', '+', '[', '(':
			depth++
		case ' ', '\t':
		default:
			return depth
		}
	}
	return depth
}
