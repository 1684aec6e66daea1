package scan

import (
	"bytes"
	"io"
	"strings"
	"unicode"
)

// Content detection limits.
const (
	// pickleProbeBytes is how much of a file without a PROTO opcode the
	// detector decodes to decide whether it is a protocol 0 or 1 pickle.
	pickleProbeBytes = 64 << 10
	// maxPicklesPerFile bounds the concatenated pickles decoded after the
	// first one.
	maxPicklesPerFile = 16
)

// legacyTorchMagic is the LONG1 payload of the first pickle of a legacy
// (pre-zip) PyTorch file: 0x1950a86a20f9469cfc6c little-endian
// (MAGIC_NUMBER in torch/serialization.py).
var legacyTorchMagic = []byte{0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// legacyTorchPickles names the pickles of a legacy PyTorch file in order.
var legacyTorchPickles = []string{"magic number", "protocol version", "system info", "main object", "storage keys"}

// looksLikePickle reports whether the content is a pickle: it starts with
// PROTO, or it starts with another opcode and decoding its first
// pickleProbeBytes meets no unknown opcode, or meets a global or STOP first.
func looksLikePickle(head []byte, content io.ReaderAt) bool {
	if len(head) == 0 || !isOpcode(head[0]) {
		return false
	}
	if head[0] == opProto {
		return true // an unsupported version is reported by the decoder
	}
	probe := newCollector("")
	r := newByteReader(io.NewSectionReader(content, 0, pickleProbeBytes))
	result := decodePickle(r, probe, func([]byte, int64) {}, 0)
	r.release()
	if result.stopped {
		return true
	}
	// Text such as an MLmodel file or requirements.txt decodes as a few
	// opcodes too. Python's unpickler fails on an empty stack, a missing
	// memo entry, an unknown opcode or a malformed name before it imports
	// anything, so content that hits one of those before its first valid
	// global cannot run code and is scanned as data.
	for _, f := range probe.findings {
		switch f.Kind {
		case KindGlobal:
			return isDottedName(f.Module) && isDottedName(f.Name)
		case KindPickleUnknownOpcode, KindPickleInvalidArgument, KindPickleStackUnderflow, KindPickleMemoMissing:
			return false
		}
	}
	return true
}

// isDottedName reports whether s is a Python identifier or a dotted path
// of identifiers, the only names an unpickler can import.
func isDottedName(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for i, r := range part {
			if r != '_' && !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

// scanPickleStream decodes the pickles of a raw pickle, joblib or legacy
// PyTorch stream and scans all of its bytes for secrets.
func (j *artifactJob) scanPickleStream(src io.Reader) Format {
	secrets := j.newSecretScanner()
	r := newByteReader(io.TeeReader(src, secrets))
	format := j.decodePickles(r)
	r.drain()
	r.release()
	_ = secrets.Close()
	return format
}

// decodePickles decodes the first pickle of r and whatever follows it.
func (j *artifactJob) decodePickles(r *byteReader) Format {
	first := decodePickle(r, j.out, j.scanText, 0)
	format := FormatPickle
	if first.joblib {
		format = FormatJoblib
	}
	if !first.stopped {
		return format
	}
	if first.top.kind == kindBigInt && bytes.Equal([]byte(first.top.text), legacyTorchMagic) {
		j.decodeLegacyTorch(r)
		return FormatTorchLegacy
	}
	if j.decodeTrailing(r) {
		format = FormatJoblib
	}
	return format
}

// decodeTrailing reports data after the final STOP. When the data starts
// with a PROTO opcode it is decoded as one more pickle, because a loader that
// calls pickle.load repeatedly would run it. It returns whether a later
// pickle contained a joblib array.
func (j *artifactJob) decodeTrailing(r *byteReader) bool {
	joblib := false
	for count := 0; !r.atEOF(); count++ {
		offset := r.offset()
		next := r.peek(2)
		if count < maxPicklesPerFile && len(next) == 2 && next[0] == opProto && next[1] <= highestProtocol {
			j.out.structure(Warning, KindPickleTrailingData, offset, "another pickle starts after STOP; it is decoded too")
			result := decodePickle(r, j.out, j.scanText, 0)
			joblib = joblib || result.joblib
			if !result.stopped {
				return joblib
			}
			continue
		}
		n := r.drain()
		j.out.structure(Warning, KindPickleTrailingData, offset,
			"%d bytes after STOP are not part of the pickle (a loader can read them; they are scanned for secrets only)", n)
	}
	return joblib
}

// decodeLegacyTorch decodes the four pickles that follow the magic number of
// a legacy PyTorch file. The raw storage bytes after them are left to the
// secret scan.
func (j *artifactJob) decodeLegacyTorch(r *byteReader) {
	for _, name := range legacyTorchPickles[1:] {
		if r.atEOF() {
			j.out.structure(Warning, KindLegacyTorch, r.offset(), "legacy PyTorch file ends before its %s pickle", name)
			return
		}
		if result := decodePickle(r, j.out, j.scanText, 0); !result.stopped {
			return
		}
	}
}
