package scan

import (
	"regexp"
	"sort"
	"strings"
)

// urlCredentials matches the user:password part of a URL, as in the
// connection strings a job's log may print.
var urlCredentials = regexp.MustCompile(`(://)[^/\s:@]+:[^/\s@]+@`)

// RedactSecrets returns text with every credential the scanner's detectors
// find (cloud keys, private keys, GitHub and Slack tokens, high-entropy
// assignments) and every URL password replaced by a placeholder naming its
// kind, and the number of replacements. It is meant for text the bot posts,
// such as the tail of a job's log.
func RedactSecrets(text string) (string, int) {
	data := []byte(text)
	matches := findSecrets(data)
	sort.Slice(matches, func(i, j int) bool { return matches[i].start < matches[j].start })
	var b strings.Builder
	n, last := 0, 0
	for _, m := range matches {
		if m.start < last {
			continue // overlaps a match already replaced
		}
		b.Write(data[last:m.start])
		b.WriteString("[redacted " + m.secret + "]")
		last = m.end
		n++
	}
	b.Write(data[last:])
	out := urlCredentials.ReplaceAllStringFunc(b.String(), func(string) string {
		n++
		return "://[redacted]@"
	})
	return out, n
}
