package scan

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Limits of the symbolic decoder. Past either one the decoder stops tracking
// values and keeps only reading opcodes, so GLOBAL and INST are still
// resolved, while STACK_GLOBAL and OBJ become unresolved warnings.
const (
	maxStackDepth  = 1 << 20
	maxMemoEntries = 1 << 20
	// maxNestedPickles bounds recursion into joblib object arrays, which are
	// complete pickles embedded in the stream.
	maxNestedPickles = 4
)

// pickleResult describes how one pickle stream ended.
type pickleResult struct {
	stopped bool  // a STOP opcode was reached
	top     value // the value that STOP popped
	joblib  bool  // the stream contained a NumpyArrayWrapper
}

// textScanner scans decoded string arguments for secrets. offset is the
// offset of the opcode that carries the string.
type textScanner func(text []byte, offset int64)

// decoder walks one pickle opcode stream without executing it.
type decoder struct {
	r        *byteReader
	out      *collector
	scanText textScanner
	depth    int

	start    int64
	stack    []value
	marks    []int
	memo     map[uint64]value
	tracking bool
	inFrame  bool
	frameEnd int64
	result   pickleResult
}

// decodePickle decodes one pickle from r, starting at r's offset, and reports
// findings to out. It stops after STOP or at the first error that leaves the
// next opcode boundary unknown.
func decodePickle(r *byteReader, out *collector, scanText textScanner, depth int) pickleResult {
	d := &decoder{
		r: r, out: out, scanText: scanText, depth: depth,
		start: r.offset(), memo: make(map[uint64]value), tracking: true,
	}
	stack := stackBuffers.Get().(*[]value)
	d.stack = (*stack)[:0]
	d.run()
	if cap(d.stack) <= 1<<16 {
		clear(d.stack[:cap(d.stack)]) // drop references before pooling
		*stack = d.stack[:0]
		stackBuffers.Put(stack)
	}
	return d.result
}

// stackBuffers recycles decoder stacks between pickles.
var stackBuffers = sync.Pool{New: func() any {
	stack := make([]value, 0, 256)
	return &stack
}}

func (d *decoder) run() {
	for {
		opStart := d.r.offset()
		op, ok := d.r.readByte()
		if !ok {
			d.endOfStream(opStart)
			return
		}
		if d.inFrame && opStart >= d.frameEnd {
			d.inFrame = false
		}
		if d.step(op, opStart) {
			return
		}
		if d.inFrame && d.r.offset() > d.frameEnd {
			d.out.structure(Warning, KindPickleFrameMismatch, opStart,
				"%s at offset %d extends past the end of its frame at offset %d", opcodeName(op), opStart, d.frameEnd)
			d.inFrame = false
		}
	}
}

func (d *decoder) endOfStream(offset int64) {
	if d.inFrame && d.frameEnd > offset {
		d.out.structure(Warning, KindPickleFrameMismatch, offset,
			"FRAME declares data up to offset %d but the stream ends at offset %d", d.frameEnd, offset)
	}
	if offset == d.start {
		d.out.structure(Warning, KindPickleMissingStop, offset, "empty pickle stream")
		return
	}
	d.out.structure(Warning, KindPickleMissingStop, offset, "pickle stream ends without a STOP opcode")
}

// truncated reports an opcode whose argument runs past the end of the stream
// and returns true so that the caller stops.
func (d *decoder) truncated(op byte, opStart int64) bool {
	d.out.structure(Warning, KindPickleTruncated, opStart,
		"%s argument runs past the end of the stream at offset %d", opcodeName(op), d.r.offset())
	return true
}

func opcodeName(op byte) string {
	if name, ok := opcodeNames[op]; ok {
		return name
	}
	return fmt.Sprintf("opcode 0x%02x", op)
}

// push adds v to the stack, or switches to untracked decoding at the limit.
func (d *decoder) push(v value) {
	if !d.tracking {
		return
	}
	if len(d.stack)+len(d.marks) >= maxStackDepth {
		d.stopTracking(d.r.offset(), fmt.Sprintf("stack deeper than %d entries", maxStackDepth))
		return
	}
	d.stack = append(d.stack, v)
}

func (d *decoder) stopTracking(offset int64, reason string) {
	d.out.structure(Warning, KindPickleLimit, offset,
		"%s: later STACK_GLOBAL and OBJ opcodes cannot be resolved", reason)
	d.tracking = false
	d.stack, d.marks, d.memo = nil, nil, nil
}

// floor returns the stack index above the innermost mark.
func (d *decoder) floor() int {
	if len(d.marks) == 0 {
		return 0
	}
	return d.marks[len(d.marks)-1]
}

// pop removes the top value. Popping past the innermost mark is reported as
// an underflow, as CPython raises there.
func (d *decoder) pop(op byte, opStart int64) value {
	if !d.tracking {
		return value{}
	}
	if len(d.stack) <= d.floor() {
		d.underflow(op, opStart, "stack is empty")
		return value{}
	}
	v := d.stack[len(d.stack)-1]
	d.stack = d.stack[:len(d.stack)-1]
	return v
}

// peek returns the top value without removing it.
func (d *decoder) peek(op byte, opStart int64) value {
	if !d.tracking {
		return value{}
	}
	if len(d.stack) <= d.floor() {
		d.underflow(op, opStart, "stack is empty")
		return value{}
	}
	return d.stack[len(d.stack)-1]
}

// popMark removes and returns the values above the innermost mark. The
// returned slice shares the stack's array, so it is valid only until the
// next push: callers copy what they keep (newContainer and addItems do).
func (d *decoder) popMark(op byte, opStart int64) ([]value, bool) {
	if !d.tracking {
		return nil, false
	}
	if len(d.marks) == 0 {
		d.underflow(op, opStart, "no MARK on the stack")
		return nil, false
	}
	mark := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := d.stack[mark:]
	d.stack = d.stack[:mark]
	return items, true
}

func (d *decoder) underflow(op byte, opStart int64, reason string) {
	d.out.structure(Warning, KindPickleStackUnderflow, opStart, "%s: %s", opcodeName(op), reason)
}

// memoStore binds the top of the stack to a memo index.
func (d *decoder) memoStore(op byte, opStart int64, index uint64) {
	if !d.tracking {
		return
	}
	v := d.peek(op, opStart)
	if _, exists := d.memo[index]; !exists && len(d.memo) >= maxMemoEntries {
		d.stopTracking(opStart, fmt.Sprintf("memo larger than %d entries", maxMemoEntries))
		return
	}
	d.memo[index] = v
}

// memoFetch pushes the value stored at a memo index.
func (d *decoder) memoFetch(op byte, opStart int64, index uint64) {
	if !d.tracking {
		return
	}
	v, ok := d.memo[index]
	if !ok {
		d.out.structure(Warning, KindPickleMemoMissing, opStart,
			"%s reads memo index %d, which was never stored", opcodeName(op), index)
	}
	d.push(v)
}

func uintLE(p []byte) uint64 {
	var full [8]byte
	copy(full[:], p)
	return binary.LittleEndian.Uint64(full[:])
}
