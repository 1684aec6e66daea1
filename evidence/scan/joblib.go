package scan

import (
	"math"
	"math/bits"
	"strconv"
)

// isNumpyArrayWrapper reports whether class is joblib's NumpyArrayWrapper,
// also under its old home in sklearn.externals.joblib.
func isNumpyArrayWrapper(class value) bool {
	return class.isGlobal("joblib.numpy_pickle", "NumpyArrayWrapper") ||
		class.isGlobal("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper")
}

// skipJoblibArray skips the array data that joblib writes right after a
// NumpyArrayWrapper (joblib/numpy_pickle.py, NumpyArrayWrapper.write_array).
// For an object dtype that data is a complete protocol 2 pickle, which is
// decoded. Otherwise it is the product of the shape times the itemsize in
// bytes. When the state contains numpy_array_alignment_bytes (joblib 1.2 and
// later), one byte with a padding length and that many padding bytes come
// first. It returns true when decoding must stop.
func (d *decoder) skipJoblibArray(state value, opStart int64) bool {
	dtype, _ := state.dictLookup("dtype")
	itemsize, hasObject, ok := dtypeItemsize(dtype)
	if !ok {
		d.out.structure(Warning, KindJoblibArray, opStart,
			"NumpyArrayWrapper state has no dtype this scanner can size; the array data that follows cannot be skipped")
		return true
	}
	if hasObject {
		return d.nestedArrayPickle(opStart)
	}
	count, ok := shapeCount(state)
	if !ok {
		d.out.structure(Warning, KindJoblibArray, opStart,
			"NumpyArrayWrapper state has no integer shape; the array data that follows cannot be skipped")
		return true
	}
	if alignment, found := state.dictLookup("numpy_array_alignment_bytes"); found && alignment.kind != kindNone {
		padding, ok := d.r.readByte()
		if !ok || !d.r.skip(uint64(padding)) {
			return d.joblibTruncated(opStart)
		}
	}
	high, size := bits.Mul64(count, itemsize)
	if high != 0 || size > math.MaxInt64 {
		d.out.structure(Warning, KindJoblibArray, opStart, "NumpyArrayWrapper declares more than 2^63 bytes of array data")
		return true
	}
	if !d.r.skip(size) {
		return d.joblibTruncated(opStart)
	}
	return false
}

func (d *decoder) joblibTruncated(opStart int64) bool {
	d.out.structure(Warning, KindJoblibArray, opStart, "the stream ends inside the array data of a NumpyArrayWrapper")
	return true
}

// nestedArrayPickle decodes the pickle that joblib writes for an object array
// and continues with the outer stream.
func (d *decoder) nestedArrayPickle(opStart int64) bool {
	if d.depth >= maxNestedPickles {
		d.out.structure(Warning, KindJoblibArray, opStart, "object arrays nested deeper than %d pickles", maxNestedPickles)
		return true
	}
	inner := decodePickle(d.r, d.out, d.scanText, d.depth+1)
	return !inner.stopped
}

// shapeCount multiplies the shape tuple of a wrapper's state. An empty shape
// is a scalar with one element.
func shapeCount(state value) (uint64, bool) {
	shape, found := state.dictLookup("shape")
	if !found {
		return 0, false
	}
	dims, ok := shape.tupleItems()
	if !ok {
		return 0, false
	}
	count := uint64(1)
	for _, dim := range dims {
		if dim.kind != kindInt || dim.num < 0 {
			return 0, false
		}
		high, low := bits.Mul64(count, uint64(dim.num))
		if high != 0 {
			return math.MaxUint64, true
		}
		count = low
	}
	return count, true
}

// dtypeItemsize returns the element size of a pickled numpy.dtype. numpy
// pickles a dtype as REDUCE numpy.dtype(("f8", False, True)) and then BUILD
// with a state tuple. The sixth item of that tuple is the element size of a
// flexible type and -1 for a fixed-size one. The size comes from there, or
// else from the digits of the type string.
func dtypeItemsize(dtype value) (size uint64, hasObject, ok bool) {
	if dtype.kind != kindObject {
		return 0, false, false
	}
	args, ok := dtype.node.args.tupleItems()
	if !ok || len(args) == 0 || !args[0].isString() || args[0].text == "" {
		return 0, false, false
	}
	code := args[0].text
	if code[0] == 'O' {
		return 0, true, true
	}
	// NOTE: a structured dtype whose fields include objects is sized as raw
	// data here, although joblib writes a nested pickle for it.
	if state, ok := dtype.node.state.tupleItems(); ok && len(state) >= 6 && state[5].kind == kindInt && state[5].num > 0 {
		return uint64(state[5].num), false, true
	}
	digits := code[1:]
	if len(code) > 1 && (code[0] == '<' || code[0] == '>' || code[0] == '|' || code[0] == '=') {
		digits = code[2:]
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n == 0 {
		return 0, false, false
	}
	return n, false, true
}
