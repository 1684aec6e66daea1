package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// decodeEnvelope reads the envelope fields of a webhook payload and
// rejects a payload that json.Unmarshal into an envelope would reject.
// scanEnvelope handles the usual payload in one pass without reflection.
// Anything it is not sure about goes to json.Unmarshal, which then decides
// the result and the error.
func decodeEnvelope(payload []byte) (envelope, error) {
	if env, ok := scanEnvelope(payload); ok {
		return env, nil
	}
	var env envelope
	err := json.Unmarshal(payload, &env)
	return env, err
}

// maxScanDepth is the nesting depth at which scanEnvelope gives up. It is
// encoding/json's own limit, so a payload that fails here fails there too.
const maxScanDepth = 10000

// plainStringByte marks the bytes that may appear unescaped inside a JSON
// string and end neither the string nor an escape: everything from 0x20 up
// except '"' and '\\'. encoding/json accepts invalid UTF-8 here and so
// does the scan.
var plainStringByte = func() (table [256]bool) {
	for c := 0x20; c < 256; c++ {
		table[c] = c != '"' && c != '\\'
	}
	return table
}()

// envelopeScanner walks a JSON document and validates every byte of it
// by the grammar of RFC 8259, as encoding/json's scanner does.
type envelopeScanner struct {
	data []byte
	pos  int
}

// scanEnvelope returns the envelope of payload and true when payload is
// valid JSON whose top level is an object and whose envelope fields can be
// read with no doubt about what json.Unmarshal would store. It returns
// false for invalid JSON, for a field of the wrong type and for an
// envelope field named twice. It also returns false for a key or envelope
// string with an escape or a non-ASCII byte, where encoding/json's
// Unicode case folding and replacement of invalid UTF-8 apply.
func scanEnvelope(payload []byte) (envelope, bool) {
	s := envelopeScanner{data: payload}
	var env envelope
	ok := s.topLevel(&env)
	s.skipSpace()
	return env, ok && s.pos == len(s.data)
}

// topLevel reads the payload's object and its envelope fields.
func (s *envelopeScanner) topLevel(env *envelope) bool {
	var action, installation, repository, issue, pullRequest bool // seen
	return s.object(1, func(key []byte) bool {
		switch {
		case bytes.EqualFold(key, []byte("action")):
			return firstTime(&action) && s.plainStringOrNull(&env.Action)
		case bytes.EqualFold(key, []byte("installation")):
			return firstTime(&installation) && s.objectOrNull(func() bool {
				env.Installation = &envelopeInstallation{}
				return s.field("id", func() bool {
					id, ok := s.intOrNull(64)
					env.Installation.ID = id
					return ok
				})
			})
		case bytes.EqualFold(key, []byte("repository")):
			return firstTime(&repository) && s.objectOrNull(func() bool {
				env.Repository = &envelopeRepository{}
				return s.field("full_name", func() bool { return s.plainStringOrNull(&env.Repository.FullName) })
			})
		case bytes.EqualFold(key, []byte("issue")):
			return firstTime(&issue) && s.objectOrNull(func() bool {
				env.Issue = &envelopeNumbered{}
				return s.field("number", func() bool { return s.numberOrNull(&env.Issue.Number) })
			})
		case bytes.EqualFold(key, []byte("pull_request")):
			return firstTime(&pullRequest) && s.objectOrNull(func() bool {
				env.PullRequest = &envelopeNumbered{}
				return s.field("number", func() bool { return s.numberOrNull(&env.PullRequest.Number) })
			})
		}
		return s.value(2)
	})
}

// firstTime marks a field as seen and reports whether it was not seen
// before.
func firstTime(seen *bool) bool {
	if *seen {
		return false
	}
	*seen = true
	return true
}

// objectOrNull reads null, leaving the field unset, or an object through
// read, which allocates the field and reads the object's members.
func (s *envelopeScanner) objectOrNull(read func() bool) bool {
	s.skipSpace()
	if s.literal("null") {
		return true
	}
	return read()
}

// field reads an object at depth 2 with one envelope field, whose value
// read reads. It matches the member name without regard to ASCII case, as
// encoding/json does. Other members are validated and skipped, and a
// second member of that name ends the scan.
func (s *envelopeScanner) field(name string, read func() bool) bool {
	seen := false
	return s.object(2, func(key []byte) bool {
		if !bytes.EqualFold(key, []byte(name)) {
			return s.value(3)
		}
		return firstTime(&seen) && read()
	})
}

// intOrNull reads null as 0 or an integer that fits in bits bits.
// encoding/json rejects a fraction or an exponent for an integer field,
// and so does strconv.ParseInt.
func (s *envelopeScanner) intOrNull(bits int) (int64, bool) {
	s.skipSpace()
	if s.literal("null") {
		return 0, true
	}
	start := s.pos
	if !s.number() {
		return 0, false
	}
	n, err := strconv.ParseInt(string(s.data[start:s.pos]), 10, bits)
	return n, err == nil
}

// numberOrNull reads the number of an issue or pull request into *out.
func (s *envelopeScanner) numberOrNull(out *int) bool {
	n, ok := s.intOrNull(strconv.IntSize)
	*out = int(n)
	return ok
}

// plainStringOrNull reads null as "" or a string without escapes or
// non-ASCII bytes into *out.
func (s *envelopeScanner) plainStringOrNull(out *string) bool {
	s.skipSpace()
	if s.literal("null") {
		return true
	}
	raw, ok := s.str()
	if !ok || !isPlain(raw) {
		return false
	}
	*out = string(raw)
	return true
}

// object reads an object at depth and calls member after each key and its
// colon to read the value. A key with an escape or a non-ASCII byte ends
// the scan, because encoding/json folds such keys by Unicode rules before
// it matches them to fields.
func (s *envelopeScanner) object(depth int, member func(key []byte) bool) bool {
	if depth > maxScanDepth {
		return false
	}
	s.skipSpace()
	if !s.consume('{') {
		return false
	}
	s.skipSpace()
	if s.consume('}') {
		return true
	}
	for {
		s.skipSpace()
		key, ok := s.str()
		if !ok || !isPlain(key) {
			return false
		}
		s.skipSpace()
		if !s.consume(':') || !member(key) {
			return false
		}
		s.skipSpace()
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// value validates and skips one value whose containers start at depth.
func (s *envelopeScanner) value(depth int) bool {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return false
	}
	switch s.data[s.pos] {
	case '"':
		_, ok := s.str()
		return ok
	case '{':
		return s.anyObject(depth)
	case '[':
		return s.array(depth)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		return s.number()
	}
}

// anyObject validates and skips an object whose members are not envelope
// fields; their keys may hold any escape or byte.
func (s *envelopeScanner) anyObject(depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	s.pos++ // '{'
	s.skipSpace()
	if s.consume('}') {
		return true
	}
	for {
		s.skipSpace()
		if _, ok := s.str(); !ok {
			return false
		}
		s.skipSpace()
		if !s.consume(':') || !s.value(depth+1) {
			return false
		}
		s.skipSpace()
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

func (s *envelopeScanner) array(depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	s.pos++ // '['
	s.skipSpace()
	if s.consume(']') {
		return true
	}
	for {
		if !s.value(depth + 1) {
			return false
		}
		s.skipSpace()
		if s.consume(']') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// str reads a string and returns its bytes between the quotes, escapes
// left as they are, and whether the string is valid: no control byte
// below 0x20 and only the escapes of RFC 8259.
func (s *envelopeScanner) str() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.pos
	data := s.data
	for {
		i := s.pos
		for i < len(data) && plainStringByte[data[i]] {
			i++
		}
		s.pos = i
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case '"':
			s.pos++
			return data[start:i], true
		case '\\':
			if !s.escape() {
				return nil, false
			}
		default: // a control byte
			return nil, false
		}
	}
}

// isPlain reports whether the bytes of a string hold no escape and no
// byte outside ASCII, so that they are the decoded string and match a
// field name the way encoding/json matches it.
func isPlain(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// escape reads one backslash escape.
func (s *envelopeScanner) escape() bool {
	s.pos++ // '\\'
	if s.pos >= len(s.data) {
		return false
	}
	switch s.data[s.pos] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos++
		return true
	case 'u':
		if s.pos+5 > len(s.data) {
			return false
		}
		for _, c := range s.data[s.pos+1 : s.pos+5] {
			if !isHex(c) {
				return false
			}
		}
		s.pos += 5
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *envelopeScanner) number() bool {
	s.consume('-')
	switch {
	case s.consume('0'):
	case s.pos < len(s.data) && '1' <= s.data[s.pos] && s.data[s.pos] <= '9':
		s.digits()
	default:
		return false
	}
	if s.consume('.') && !s.digits() {
		return false
	}
	if s.consume('e') || s.consume('E') {
		if !s.consume('+') {
			s.consume('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits reads [0-9]* and reports whether it read at least one.
func (s *envelopeScanner) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

func (s *envelopeScanner) literal(word string) bool {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		return false
	}
	s.pos += len(word)
	return true
}

func (s *envelopeScanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// skipSpace skips the four whitespace bytes of RFC 8259.
func (s *envelopeScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}
