package scan

import "encoding/binary"

// Secret scanning works on runs of printable ASCII (0x20-0x7e, tab, newline,
// carriage return). Every credential pattern contains at least 15 printable
// bytes without control characters, so each one contains an 8-byte aligned
// word of such bytes. The scanner tests whole words with bit arithmetic and
// looks at single bytes only around a hit, which keeps the pass over tensor
// data cheap. Credentials in UTF-16 or behind non-ASCII bytes are not found.
const (
	minSecretRun = 16
	// maxMatchSpan is the longest stretch a detector reads from its anchor,
	// and the overlap kept when a very long run is scanned in parts.
	maxMatchSpan = 1024
	// maxPendingRun bounds the bytes of a run that continues into the next
	// write; longer runs are scanned in parts.
	maxPendingRun = 64 << 10
)

// printable marks the bytes that can be part of a credential run.
var printable = func() (table [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		table[c] = true
	}
	table['\t'], table['\n'], table['\r'] = true, true, true
	return table
}()

// secretScanner finds credentials in a stream written to it in pieces and
// reports each one with its stream offset, never with its value.
type secretScanner struct {
	report       func(m secretMatch, offset int64)
	offset       int64 // stream offset of the next byte written
	pending      []byte
	pendingStart int64
	reportFrom   int64 // matches before this offset were already reported
}

func newSecretScanner(report func(m secretMatch, offset int64)) *secretScanner {
	return &secretScanner{report: report}
}

// Write scans p as the next bytes of the stream. It never fails.
func (s *secretScanner) Write(p []byte) (int, error) {
	s.consume(p)
	s.offset += int64(len(p))
	return len(p), nil
}

// Close scans a run that reaches the end of the stream.
func (s *secretScanner) Close() error {
	s.flushPending()
	return nil
}

func (s *secretScanner) consume(p []byte) {
	base := s.offset
	i := 0
	if len(s.pending) > 0 {
		j := 0
		for j < len(p) && printable[p[j]] {
			j++
		}
		s.pending = append(s.pending, p[:j]...)
		if j == len(p) {
			s.trimPending()
			return
		}
		s.flushPending()
		i = j
	}
	for {
		start, end, found := nextRun(p, i)
		if !found {
			break
		}
		if end == len(p) {
			s.keepPending(p[start:], base+int64(start))
			return
		}
		if end-start >= minSecretRun {
			s.scanRun(p[start:end], base+int64(start), base+int64(end))
		}
		i = end
	}
	suffix := len(p)
	for suffix > i && printable[p[suffix-1]] {
		suffix--
	}
	if suffix < len(p) {
		s.keepPending(p[suffix:], base+int64(suffix))
	}
}

func (s *secretScanner) keepPending(run []byte, start int64) {
	s.pending = append(s.pending[:0], run...)
	s.pendingStart = start
	s.trimPending()
}

// trimPending scans the front of an over-long pending run and keeps only the
// last maxMatchSpan bytes, so a match that starts there is still complete in
// the next scan.
func (s *secretScanner) trimPending() {
	if len(s.pending) <= maxPendingRun {
		return
	}
	keepFrom := len(s.pending) - maxMatchSpan
	limit := s.pendingStart + int64(keepFrom)
	s.scanRun(s.pending, s.pendingStart, limit)
	s.reportFrom = limit
	s.pending = append(s.pending[:0], s.pending[keepFrom:]...)
	s.pendingStart = limit
}

func (s *secretScanner) flushPending() {
	if len(s.pending) >= minSecretRun {
		end := s.pendingStart + int64(len(s.pending))
		s.scanRun(s.pending, s.pendingStart, end)
	}
	s.pending = s.pending[:0]
}

// scanRun reports the matches in run that start in [reportFrom, limit).
func (s *secretScanner) scanRun(run []byte, runStart, limit int64) {
	for _, m := range findSecrets(run) {
		at := runStart + int64(m.start)
		if at >= s.reportFrom && at < limit {
			s.report(m, at)
		}
	}
}

// nextRun returns the next printable run in p[from:] that contains an 8-byte
// word of printable bytes aligned to the start of p.
func nextRun(p []byte, from int) (start, end int, found bool) {
	w := (from + 7) &^ 7
	for ; w+16 <= len(p); w += 16 {
		a := binary.LittleEndian.Uint64(p[w:])
		b := binary.LittleEndian.Uint64(p[w+8:])
		if printableWord(a) {
			return expandRun(p, from, w)
		}
		if printableWord(b) {
			return expandRun(p, from, w+8)
		}
	}
	for ; w+8 <= len(p); w += 8 {
		if printableWord(binary.LittleEndian.Uint64(p[w:])) {
			return expandRun(p, from, w)
		}
	}
	return 0, 0, false
}

func expandRun(p []byte, from, word int) (start, end int, found bool) {
	start = word
	for start > from && printable[p[start-1]] {
		start--
	}
	end = word + 8
	for end < len(p) && printable[p[end]] {
		end++
	}
	return start, end, true
}

// printableWord reports whether all eight bytes of x are in 0x20-0x7e. The
// expressions are the classic "has a byte less than n" tests: exact for
// bytes below 0x80, which the first test guarantees.
func printableWord(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	if x&highs != 0 {
		return false
	}
	if (x-0x20*ones)&^x&highs != 0 {
		return false
	}
	del := x ^ 0x7f*ones
	return (del-ones)&^del&highs == 0
}
