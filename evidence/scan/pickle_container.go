package scan

import (
	"encoding/binary"
	"fmt"
)

// stepContainer handles the opcodes that build tuples, lists, dicts and sets.
func (d *decoder) stepContainer(op byte, opStart int64) bool {
	switch op {
	case opEmptyTuple:
		d.push(newContainer(kindTuple, nil))
	case opEmptyList:
		d.push(newContainer(kindList, nil))
	case opEmptyDict:
		d.push(newContainer(kindDict, nil))
	case opEmptySet:
		d.push(newContainer(kindSet, nil))
	case opTuple1, opTuple2, opTuple3:
		d.smallTuple(op, opStart, int(op-opTuple1)+1)
	case opTuple, opList, opFrozenSet:
		if items, ok := d.popMark(op, opStart); ok {
			d.push(newContainer(markedKind(op), items))
		} else {
			d.push(value{})
		}
	case opDict:
		d.markDict(opStart)
	case opAppend:
		item := d.pop(op, opStart)
		d.peek(op, opStart).addItems(item)
	case opAppends, opAddItems:
		if items, ok := d.popMark(op, opStart); ok {
			d.peek(op, opStart).addItems(items...)
		}
	case opSetItem:
		val := d.pop(op, opStart)
		key := d.pop(op, opStart)
		d.checkPair(key, val, opStart)
		d.peek(op, opStart).addItems(key, val)
	case opSetItems:
		d.setItems(opStart)
	default:
		return false
	}
	return true
}

func markedKind(op byte) valueKind {
	switch op {
	case opList:
		return kindList
	case opFrozenSet:
		return kindSet
	}
	return kindTuple
}

func (d *decoder) smallTuple(op byte, opStart int64, n int) {
	if !d.tracking {
		return
	}
	items := make([]value, n)
	for i := n - 1; i >= 0; i-- {
		items[i] = d.pop(op, opStart)
	}
	d.push(newContainer(kindTuple, items))
}

func (d *decoder) markDict(opStart int64) {
	items, ok := d.popMark(opDict, opStart)
	if !ok {
		d.push(value{})
		return
	}
	if len(items)%2 != 0 {
		d.out.structure(Warning, KindPickleStackUnderflow, opStart, "DICT has an odd number of items (%d)", len(items))
		items = items[:len(items)-1]
	}
	d.checkPairs(items, opStart)
	d.push(newContainer(kindDict, items))
}

func (d *decoder) setItems(opStart int64) {
	items, ok := d.popMark(opSetItems, opStart)
	if !ok {
		return
	}
	if len(items)%2 != 0 {
		d.out.structure(Warning, KindPickleStackUnderflow, opStart, "SETITEMS has an odd number of items (%d)", len(items))
		items = items[:len(items)-1]
	}
	d.checkPairs(items, opStart)
	d.peek(opSetItems, opStart).addItems(items...)
}

func (d *decoder) checkPairs(items []value, opStart int64) {
	for i := 0; i+1 < len(items); i += 2 {
		d.checkPair(items[i], items[i+1], opStart)
	}
}

// checkPair reports a dict entry whose key names a credential and whose str
// value passes the high-entropy test, such as {"api_key": "..."}.
func (d *decoder) checkPair(key, val value, opStart int64) {
	if !key.isString() || !val.isString() {
		return
	}
	if secret, ok := classifyAssignment([]byte(key.text), []byte(val.text)); ok {
		d.out.add(Finding{Severity: Error, Kind: KindSecret, Secret: secret, Offset: opStart,
			Detail: fmt.Sprintf("dict entry %q holds a %d-character high-entropy value", key.text, len(val.text))})
	}
}

// stepMemo handles PUT, GET, MEMOIZE and the persistent-id and buffer opcodes.
func (d *decoder) stepMemo(op byte, opStart int64) (done, handled bool) {
	switch op {
	case opMemoize:
		d.memoStore(op, opStart, uint64(len(d.memo)))
	case opPut, opGet:
		line, long, ok := d.r.line()
		if !ok {
			return d.truncated(op, opStart), true
		}
		index, valid := parseDecimal(line, false)
		if long || !valid || index < 0 {
			d.out.structure(Warning, KindPickleInvalidArgument, opStart, "%s index is not a decimal integer", opcodeName(op))
			index = -1
		}
		d.memoAccess(op, opStart, uint64(index))
	case opBinPut, opBinGet, opLongBinPut, opLongBinGet:
		width := 1
		if op == opLongBinPut || op == opLongBinGet {
			width = 4
		}
		p, ok := d.r.next(width)
		if !ok {
			return d.truncated(op, opStart), true
		}
		d.memoAccess(op, opStart, uintLE(p))
	case opPersID:
		if _, _, ok := d.r.line(); !ok {
			return d.truncated(op, opStart), true
		}
		d.push(value{kind: kindPersistent})
	case opBinPersID:
		d.pop(op, opStart)
		d.push(value{kind: kindPersistent})
	case opNextBuffer:
		d.push(value{kind: kindBuffer})
	case opReadOnlyBuffer:
		d.peek(op, opStart)
	default:
		return false, false
	}
	return false, true
}

func (d *decoder) memoAccess(op byte, opStart int64, index uint64) {
	switch op {
	case opPut, opBinPut, opLongBinPut:
		d.memoStore(op, opStart, index)
	default:
		d.memoFetch(op, opStart, index)
	}
}

// ext reads the code of EXT1, EXT2 or EXT4, which fetches a global from
// copyreg's extension registry. The registry is empty unless the loading
// program fills it, so the global cannot be resolved from the pickle alone.
func (d *decoder) ext(op byte, opStart int64) bool {
	width := 1 << (op - opExt1) // EXT1, EXT2, EXT4
	p, ok := d.r.next(width)
	if !ok {
		return d.truncated(op, opStart)
	}
	code := uintLE(p)
	if op == opExt4 {
		code = uint64(int32(binary.LittleEndian.Uint32(p)))
	}
	d.out.structure(Warning, KindPickleExtensionCode, opStart,
		"%s imports the global registered under extension code %d, which cannot be resolved from the file", opcodeName(op), code)
	d.push(value{})
	return false
}
