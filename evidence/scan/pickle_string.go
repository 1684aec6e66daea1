package scan

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// stepString handles the opcodes that push str and bytes values.
func (d *decoder) stepString(op byte, opStart int64) (done, handled bool) {
	switch op {
	case opString:
		return d.quotedString(opStart), true
	case opUnicode:
		return d.unicodeLine(opStart), true
	case opShortBinString, opShortBinBytes, opShortBinUnicode:
		return d.lengthPrefixed(op, opStart, 1), true
	case opBinString, opBinBytes, opBinUnicode:
		return d.lengthPrefixed(op, opStart, 4), true
	case opBinUnicode8, opBinBytes8, opByteArray8:
		return d.lengthPrefixed(op, opStart, 8), true
	}
	return false, false
}

// stringKind returns the Python type an opcode pushes. STRING and BINSTRING
// push str because Python 3's Unpickler decodes them with its default
// encoding, ASCII.
func stringKind(op byte) valueKind {
	switch op {
	case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		return kindBytes
	}
	return kindStr
}

func (d *decoder) lengthPrefixed(op byte, opStart int64, width int) bool {
	p, ok := d.r.next(width)
	if !ok {
		return d.truncated(op, opStart)
	}
	n := uintLE(p)
	if op == opBinString && int32(binary.LittleEndian.Uint32(p)) < 0 {
		d.out.structure(Warning, KindPickleInvalidArgument, opStart, "BINSTRING has a negative byte count")
		return true
	}
	raw, long, ok := d.counted(n)
	if !ok {
		return d.truncated(op, opStart)
	}
	d.push(stringValue(stringKind(op), raw, long, n))
	return false
}

func stringValue(kind valueKind, raw []byte, long bool, n uint64) value {
	if long {
		return value{kind: kind, long: true, num: int64(min(n, 1<<62))}
	}
	return value{kind: kind, text: string(raw), num: int64(len(raw))}
}

// quotedString decodes STRING: a quoted line with Python string escapes.
func (d *decoder) quotedString(opStart int64) bool {
	line, long, ok := d.r.line()
	if !ok {
		return d.truncated(opString, opStart)
	}
	if long {
		d.push(value{kind: kindStr, long: true})
		return false
	}
	if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '\'' && line[0] != '"') {
		d.out.structure(Warning, KindPickleInvalidArgument, opStart, "STRING argument is not quoted")
		d.push(value{kind: kindStr})
		return false
	}
	raw := line[1 : len(line)-1]
	text := raw
	if bytes.IndexByte(raw, '\\') >= 0 {
		text = unescapePython(raw)
		d.scanText(text, opStart)
	}
	d.push(stringValue(kindStr, text, false, 0))
	return false
}

// unicodeLine decodes UNICODE: a line in raw-unicode-escape encoding.
func (d *decoder) unicodeLine(opStart int64) bool {
	line, long, ok := d.r.line()
	if !ok {
		return d.truncated(opUnicode, opStart)
	}
	if long {
		d.push(value{kind: kindStr, long: true})
		return false
	}
	text := decodeRawUnicodeEscape(line)
	if !bytes.Equal(text, line) {
		d.scanText(text, opStart)
	}
	d.push(stringValue(kindStr, text, false, 0))
	return false
}

// unescapePython decodes the escapes of a Python 2 str literal: \\, \', \",
// \a \b \f \n \r \t \v, \xhh, octal \ooo and an escaped newline. Unknown
// escapes stay as written, as codecs.escape_decode leaves them.
func unescapePython(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch e := raw[i]; e {
		case '\\', '\'', '"':
			out = append(out, e)
		case 'a', 'b', 'f', 'n', 'r', 't', 'v':
			out = append(out, controlEscapes[e])
		case '\n':
		case 'x':
			if i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
				v, _ := strconv.ParseUint(string(raw[i+1:i+3]), 16, 8)
				out = append(out, byte(v))
				i += 2
			} else {
				out = append(out, '\\', e)
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i
			for j < len(raw) && j < i+3 && raw[j] >= '0' && raw[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(string(raw[i:j]), 8, 16)
			out = append(out, byte(v))
			i = j - 1
		default:
			out = append(out, '\\', e)
		}
	}
	return out
}

// decodeRawUnicodeEscape decodes \uXXXX and \UXXXXXXXX escapes and maps every
// other byte to the code point of the same value, as Python's
// raw_unicode_escape codec does. The result is UTF-8.
func decodeRawUnicodeEscape(raw []byte) []byte {
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' && i+1 < len(raw) && (raw[i+1] == 'u' || raw[i+1] == 'U') {
			width := 4
			if raw[i+1] == 'U' {
				width = 8
			}
			if i+2+width <= len(raw) {
				if v, err := strconv.ParseUint(string(raw[i+2:i+2+width]), 16, 32); err == nil && v <= utf8.MaxRune {
					out = utf8.AppendRune(out, rune(v))
					i += 1 + width
					continue
				}
			}
		}
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// controlEscapes maps the letter of a control-character escape to its byte.
var controlEscapes = [256]byte{'a': 7, 'b': 8, 'f': 12, 'n': 10, 'r': 13, 't': 9, 'v': 11}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
