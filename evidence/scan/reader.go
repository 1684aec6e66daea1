package scan

import (
	"bytes"
	"io"
	"sync"
)

// readerBufferSize is the window that byteReader keeps. Every slice that
// byteReader returns is at most maxKeptBytes long and stays valid only until
// the next call.
const (
	readerBufferSize = 64 << 10
	maxKeptBytes     = 4 << 10
)

// byteReader is a forward-only buffered reader that tracks the absolute
// offset of the next unread byte. The pickle decoder reads through it so that
// arguments of any declared length are skipped without being held in memory.
type byteReader struct {
	src  io.Reader
	buf  []byte
	pos  int
	end  int
	base int64 // offset of buf[0] in the stream
	err  error // first error from src, io.EOF at the end
}

// readerBuffers recycles byteReader windows: scanning many small pickles
// would otherwise allocate a 64 KiB window per file.
var readerBuffers = sync.Pool{New: func() any {
	buf := make([]byte, readerBufferSize)
	return &buf
}}

func newByteReader(src io.Reader) *byteReader {
	return &byteReader{src: src, buf: *readerBuffers.Get().(*[]byte)}
}

// release returns the window to the pool. The reader must not be used after.
func (b *byteReader) release() {
	buf := b.buf
	b.buf = nil
	readerBuffers.Put(&buf)
}

// offset returns the stream offset of the next unread byte.
func (b *byteReader) offset() int64 { return b.base + int64(b.pos) }

// fill makes at least n bytes available unless the source ends first, and
// returns whether it succeeded. n must not exceed readerBufferSize.
func (b *byteReader) fill(n int) bool {
	for b.end-b.pos < n {
		if b.err != nil {
			return false
		}
		if b.pos > 0 {
			copy(b.buf, b.buf[b.pos:b.end])
			b.base += int64(b.pos)
			b.end -= b.pos
			b.pos = 0
		}
		read, err := b.src.Read(b.buf[b.end:])
		b.end += read
		if err != nil {
			b.err = err
		}
	}
	return true
}

// readByte returns the next byte and false at the end of the stream.
func (b *byteReader) readByte() (byte, bool) {
	if !b.fill(1) {
		return 0, false
	}
	c := b.buf[b.pos]
	b.pos++
	return c, true
}

// next returns the next n bytes, n ≤ maxKeptBytes, and false when fewer remain.
// In that case the remaining bytes are consumed.
func (b *byteReader) next(n int) ([]byte, bool) {
	if !b.fill(n) {
		b.pos = b.end
		return nil, false
	}
	p := b.buf[b.pos : b.pos+n]
	b.pos += n
	return p, true
}

// skip discards n bytes and returns false when the stream ends first.
func (b *byteReader) skip(n uint64) bool {
	for n > 0 {
		if b.pos == b.end && !b.fill(1) {
			return false
		}
		step := uint64(b.end - b.pos)
		if step > n {
			step = n
		}
		b.pos += int(step)
		n -= step
	}
	return true
}

// line reads up to and including the next '\n' and returns the bytes before
// it. A line longer than maxKeptBytes is consumed but returned as nil with
// long set. ok is false when the stream ends before the newline.
func (b *byteReader) line() (text []byte, long bool, ok bool) {
	scanned := 0
	for {
		if i := bytes.IndexByte(b.buf[b.pos+scanned:b.end], '\n'); i >= 0 {
			end := b.pos + scanned + i
			text = b.buf[b.pos:end]
			b.pos = end + 1
			return text, false, true
		}
		scanned = b.end - b.pos
		if scanned >= maxKeptBytes {
			return nil, true, b.skipLine()
		}
		if !b.fill(scanned + 1) {
			b.pos = b.end
			return nil, false, false
		}
	}
}

// skipLine discards bytes through the next '\n'.
func (b *byteReader) skipLine() bool {
	for {
		if i := bytes.IndexByte(b.buf[b.pos:b.end], '\n'); i >= 0 {
			b.pos += i + 1
			return true
		}
		b.pos = b.end
		if !b.fill(1) {
			return false
		}
	}
}

// atEOF reports whether no byte remains.
func (b *byteReader) atEOF() bool { return !b.fill(1) }

// peek returns up to n buffered bytes without consuming them.
func (b *byteReader) peek(n int) []byte {
	b.fill(n)
	return b.buf[b.pos:min(b.end, b.pos+n)]
}

// drain consumes the rest of the stream and returns the number of bytes.
func (b *byteReader) drain() int64 {
	n := int64(b.end - b.pos)
	b.pos = b.end
	if b.err == nil {
		copied, err := io.Copy(io.Discard, b.src)
		n += copied
		b.err = err
		if err == nil {
			b.err = io.EOF
		}
	}
	return n
}
