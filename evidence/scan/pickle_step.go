package scan

import (
	"encoding/binary"
	"math"
)

// step decodes one opcode whose byte was already read and returns true when
// decoding of this stream must stop.
func (d *decoder) step(op byte, opStart int64) bool {
	switch op {
	case opStop:
		d.result.stopped = true
		d.result.top = d.pop(op, opStart)
		if d.inFrame && d.r.offset() < d.frameEnd {
			d.out.structure(Warning, KindPickleFrameMismatch, opStart,
				"STOP ends the pickle inside a frame that declares data up to offset %d", d.frameEnd)
		}
		return true
	case opProto:
		return d.proto(opStart)
	case opFrame:
		return d.frame(opStart)
	}
	if done, handled := d.stepScalar(op, opStart); handled {
		return done
	}
	if done, handled := d.stepString(op, opStart); handled {
		return done
	}
	if d.stepContainer(op, opStart) {
		return false
	}
	if done, handled := d.stepMemo(op, opStart); handled {
		return done
	}
	if done, handled := d.stepCall(op, opStart); handled {
		return done
	}
	d.out.structure(Warning, KindPickleUnknownOpcode, opStart,
		"byte 0x%02x is not a pickle opcode of protocols 0 to %d", op, highestProtocol)
	return true
}

func (d *decoder) proto(opStart int64) bool {
	version, ok := d.r.readByte()
	if !ok {
		return d.truncated(opProto, opStart)
	}
	if version > highestProtocol {
		d.out.structure(Warning, KindPickleUnsupportedProtocol, opStart,
			"PROTO %d is newer than protocol %d", version, highestProtocol)
		return true
	}
	if opStart != d.start {
		d.out.structure(Warning, KindPickleProtocolBump, opStart,
			"PROTO %d in the middle of the stream (picklers write it only as the first opcode)", version)
	}
	return false
}

func (d *decoder) frame(opStart int64) bool {
	p, ok := d.r.next(8)
	if !ok {
		return d.truncated(opFrame, opStart)
	}
	length := binary.LittleEndian.Uint64(p)
	if d.inFrame && opStart < d.frameEnd {
		d.out.structure(Warning, KindPickleFrameMismatch, opStart,
			"FRAME starts before the previous frame ends at offset %d", d.frameEnd)
	}
	d.inFrame = true
	d.frameEnd = d.r.offset() + int64(min(length, math.MaxInt64/2))
	return false
}

// stepScalar handles opcodes that push numbers, booleans, None and stack
// manipulation.
func (d *decoder) stepScalar(op byte, opStart int64) (done, handled bool) {
	switch op {
	case opMark:
		if d.tracking && len(d.stack)+len(d.marks) >= maxStackDepth {
			d.stopTracking(opStart, "too many MARK opcodes")
		}
		if d.tracking {
			d.marks = append(d.marks, len(d.stack))
		}
	case opPop:
		if d.tracking && len(d.stack) <= d.floor() && len(d.marks) > 0 {
			d.popMark(op, opStart) // CPython's POP discards an empty mark frame
		} else {
			d.pop(op, opStart)
		}
	case opPopMark:
		d.popMark(op, opStart)
	case opDup:
		d.push(d.peek(op, opStart))
	case opNone:
		d.push(value{kind: kindNone})
	case opNewTrue, opNewFalse:
		d.push(value{kind: kindBool, num: int64(op - opNewFalse)})
	case opBinInt, opBinInt1, opBinInt2, opBinFloat:
		return d.fixedNumber(op, opStart), true
	case opLong1, opLong4:
		return d.longInt(op, opStart), true
	case opInt, opLong, opFloat:
		return d.textNumber(op, opStart), true
	default:
		return false, false
	}
	return false, true
}

func (d *decoder) fixedNumber(op byte, opStart int64) bool {
	size := 4
	switch op {
	case opBinInt1:
		size = 1
	case opBinInt2:
		size = 2
	case opBinFloat:
		size = 8
	}
	p, ok := d.r.next(size)
	if !ok {
		return d.truncated(op, opStart)
	}
	switch op {
	case opBinInt:
		d.push(value{kind: kindInt, num: int64(int32(binary.LittleEndian.Uint32(p)))})
	case opBinFloat:
		d.push(value{kind: kindFloat})
	default:
		d.push(value{kind: kindInt, num: int64(uintLE(p))})
	}
	return false
}

// longInt decodes LONG1 and LONG4: a little-endian two's complement integer.
// Values wider than 8 bytes keep their raw bytes in text (up to maxKeptBytes).
func (d *decoder) longInt(op byte, opStart int64) bool {
	var n uint64
	if op == opLong1 {
		c, ok := d.r.readByte()
		if !ok {
			return d.truncated(op, opStart)
		}
		n = uint64(c)
	} else {
		p, ok := d.r.next(4)
		if !ok {
			return d.truncated(op, opStart)
		}
		signed := int32(binary.LittleEndian.Uint32(p))
		if signed < 0 {
			d.out.structure(Warning, KindPickleInvalidArgument, opStart, "LONG4 has a negative byte count")
			return true
		}
		n = uint64(signed)
	}
	raw, long, ok := d.counted(n)
	if !ok {
		return d.truncated(op, opStart)
	}
	d.push(intFromBytes(raw, long))
	return false
}

func intFromBytes(raw []byte, long bool) value {
	if long || len(raw) > 8 {
		return value{kind: kindBigInt, long: long, text: string(raw)}
	}
	if len(raw) == 0 {
		return value{kind: kindInt}
	}
	n := uintLE(raw)
	if raw[len(raw)-1]&0x80 != 0 && len(raw) < 8 {
		n |= ^uint64(0) << (8 * len(raw)) // sign-extend
	}
	return value{kind: kindInt, num: int64(n)}
}

// counted reads an argument of n bytes. Arguments longer than maxKeptBytes
// are skipped and reported as long.
func (d *decoder) counted(n uint64) (raw []byte, long, ok bool) {
	if n > maxKeptBytes {
		return nil, true, d.r.skip(n)
	}
	raw, ok = d.r.next(int(n))
	return raw, false, ok
}

// textNumber decodes INT, LONG and FLOAT, whose argument is a decimal line.
func (d *decoder) textNumber(op byte, opStart int64) bool {
	line, long, ok := d.r.line()
	if !ok {
		return d.truncated(op, opStart)
	}
	if long {
		d.out.structure(Warning, KindPickleInvalidArgument, opStart, "%s argument is longer than %d bytes", opcodeName(op), maxKeptBytes)
		d.push(value{kind: kindBigInt, long: true})
		return false
	}
	switch {
	case op == opFloat:
		d.push(value{kind: kindFloat})
	case op == opInt && string(line) == "00":
		d.push(value{kind: kindBool, num: 0})
	case op == opInt && string(line) == "01":
		d.push(value{kind: kindBool, num: 1})
	default:
		n, valid := parseDecimal(line, op == opLong)
		if !valid {
			d.out.structure(Warning, KindPickleInvalidArgument, opStart, "%s argument is not a decimal integer", opcodeName(op))
		}
		d.push(value{kind: kindInt, num: n})
	}
	return false
}

// parseDecimal parses an optionally signed decimal integer as written by
// protocol 0, with an optional trailing 'L' for LONG. Values that overflow
// int64 are clamped but still valid.
func parseDecimal(text []byte, allowL bool) (int64, bool) {
	if allowL && len(text) > 0 && text[len(text)-1] == 'L' {
		text = text[:len(text)-1]
	}
	negative := false
	if len(text) > 0 && (text[0] == '-' || text[0] == '+') {
		negative = text[0] == '-'
		text = text[1:]
	}
	if len(text) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range text {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < math.MaxInt64/10 {
			n = n*10 + int64(c-'0')
		}
	}
	if negative {
		n = -n
	}
	return n, true
}
