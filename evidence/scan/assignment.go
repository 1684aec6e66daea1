package scan

import (
	"bytes"
	"fmt"
)

// findAssignments reports `name = "value"` style assignments (also `:`, `:=`
// and `=>`, quoted or not) whose name contains an assignmentKeyword and whose
// value passes looksSecret. Values that overlap an earlier match, such as a
// GitHub token assigned to GITHUB_TOKEN, are not reported twice.
func findAssignments(run []byte, found []secretMatch) []secretMatch {
	lower := bytes.ToLower(run)
	reported := make(map[int]bool)
	for _, keyword := range assignmentKeywords {
		eachIndex(lower, keyword, func(k int) {
			nameStart, nameEnd, valueStart, valueEnd, ok := parseAssignment(lower, k, len(keyword))
			if !ok || reported[valueStart] || overlaps(found, valueStart, valueEnd) {
				return
			}
			secret, ok := classifyAssignment(lower[nameStart:nameEnd], run[valueStart:valueEnd])
			if !ok {
				return
			}
			reported[valueStart] = true
			found = append(found, secretMatch{start: nameStart, end: valueEnd, secret: secret,
				detail: fmt.Sprintf("%q is assigned a %d-character high-entropy value",
					string(run[nameStart:nameEnd]), valueEnd-valueStart)})
		})
	}
	return found
}

func overlaps(found []secretMatch, start, end int) bool {
	for _, m := range found {
		if m.start < end && start < m.end {
			return true
		}
	}
	return false
}

func isNameByte(c byte) bool {
	return isAlnum(c) || c == '_' || c == '-' || c == '.'
}

// parseAssignment parses the assignment whose name contains the keyword at
// lower[k:k+n] and returns the bounds of the name and of the value.
func parseAssignment(lower []byte, k, n int) (nameStart, nameEnd, valueStart, valueEnd int, ok bool) {
	nameStart = k
	for nameStart > 0 && k-nameStart < 64 && isNameByte(lower[nameStart-1]) {
		nameStart--
	}

	nameEnd = k + n + spanOf(lower, k+n, 64, isNameByte)
	i := nameEnd
	if i < len(lower) && (lower[i] == '"' || lower[i] == '\'') {
		i++
	}
	i += spanOf(lower, i, 16, isBlank)
	switch {
	case bytes.HasPrefix(lower[i:], []byte(":=")), bytes.HasPrefix(lower[i:], []byte("=>")):
		i += 2
	case bytes.HasPrefix(lower[i:], []byte("==")):
		return 0, 0, 0, 0, false
	case i < len(lower) && (lower[i] == '=' || lower[i] == ':'):
		i++
	default:
		return 0, 0, 0, 0, false
	}

	i += spanOf(lower, i, 16, isBlank)
	if i < len(lower) && (lower[i] == '"' || lower[i] == '\'') {
		quote := lower[i]
		length := spanOf(lower, i+1, maxAssignedSecret+1, func(c byte) bool { return c != quote && c != '\n' && c != '\r' })
		if i+1+length >= len(lower) || lower[i+1+length] != quote {
			return 0, 0, 0, 0, false
		}
		return nameStart, nameEnd, i + 1, i + 1 + length, true
	}
	length := spanOf(lower, i, maxAssignedSecret+1, isUnquotedValueByte)
	return nameStart, nameEnd, i, i + length, length > 0
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func isUnquotedValueByte(c byte) bool {
	return c > ' ' && c < 0x7f && bytes.IndexByte([]byte(`"',;)]}`), c) < 0
}

// classifyAssignment returns the secret kind of a value assigned to a name,
// and false when the value does not look like a credential.
func classifyAssignment(name, value []byte) (string, bool) {
	if !looksSecret(value) {
		return "", false
	}
	lowerName := bytes.ToLower(name)
	if !containsAny(lowerName, assignmentKeywords) {
		return "", false
	}
	if (bytes.Contains(lowerName, []byte("secret_access_key")) || bytes.Contains(lowerName, []byte("secretaccesskey"))) &&
		len(value) == 40 && spanOf(value, 0, 40, isBase64Byte) == 40 {
		return SecretAWSSecretKey, true
	}
	return SecretHighEntropy, true
}

func containsAny(s []byte, words [][]byte) bool {
	for _, w := range words {
		if bytes.Contains(s, w) {
			return true
		}
	}
	return false
}

func isBase64Byte(c byte) bool { return isAlnum(c) || c == '+' || c == '/' || c == '=' }

// looksSecret applies the length, character-class and entropy thresholds.
func looksSecret(value []byte) bool {
	if len(value) < minAssignedSecret || len(value) > maxAssignedSecret {
		return false
	}
	var lower, upper, digit bool
	for _, c := range value {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			return false
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		}
	}
	classes := 0
	for _, present := range []bool{lower, upper, digit} {
		if present {
			classes++
		}
	}
	return classes >= 2 && shannonEntropy(value) >= minSecretEntropy
}
