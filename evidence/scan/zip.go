package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Zip record signatures and sizes (PKWARE APPNOTE.TXT 6.3, sections 4.3.7 to
// 4.3.16).
const (
	sigLocalHeader   = 0x04034b50
	sigCentralHeader = 0x02014b50
	sigEndOfDir      = 0x06054b50
	sigZip64EndOfDir = 0x06064b50
	sigZip64Locator  = 0x07064b50
	sigDescriptor    = 0x08074b50

	localHeaderLen   = 30
	centralHeaderLen = 46
	endOfDirLen      = 22
	zip64EndLen      = 56
	zip64LocatorLen  = 20
	maxCommentLen    = 65535

	// maxCentralDirectory bounds the central directory read into memory.
	maxCentralDirectory = 64 << 20
)

// zipEntry is one central directory record and what its local header says.
type zipEntry struct {
	index   int
	name    string
	display string // name shown in findings; withheld when it contains a secret
	flags   uint16
	method  uint16
	crc     uint32
	csize   uint64
	usize   uint64
	offset  uint64 // of the local header
	zip64   bool
	dirAt   int64 // offset of the central directory record

	located   bool  // the local header was found
	dataStart int64 // first byte of the member data
	end       int64 // first byte after the data and its data descriptor
}

func isZipHead(head []byte) bool {
	return bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06"))
}

// centralDirectory is the location of the directory and its entries.
type centralDirectory struct {
	start, end int64
	entries    []zipEntry
}

// readAt reads exactly len(p) bytes at off and returns false past the end.
func (j *artifactJob) readAt(p []byte, off int64) bool {
	if off < 0 || off+int64(len(p)) > j.size {
		return false
	}
	n, _ := j.source.ReadAt(p, off)
	return n == len(p)
}

// readDirectory finds the end of central directory record, follows the
// zip64 records when present and parses every central directory entry.
func (j *artifactJob) readDirectory() (centralDirectory, bool) {
	eocd, record, ok := j.findEndOfDirectory()
	if !ok {
		j.out.structure(Warning, KindZipInvalid, 0, "no end of central directory record; the archive cannot be listed")
		return centralDirectory{}, false
	}
	count := uint64(binary.LittleEndian.Uint16(record[10:]))
	size := uint64(binary.LittleEndian.Uint32(record[12:]))
	start := uint64(binary.LittleEndian.Uint32(record[16:]))
	limit := eocd
	if count == 0xffff || size == 0xffffffff || start == 0xffffffff {
		var zip64At int64
		count, size, start, zip64At, ok = j.readZip64End(eocd)
		if !ok {
			return centralDirectory{}, false
		}
		limit = zip64At
	}
	if start > uint64(limit) || size > uint64(limit)-start {
		j.out.structure(Warning, KindZipInvalid, eocd,
			"central directory (offset %d, %d bytes) does not end before the end record at offset %d", start, size, limit)
		return centralDirectory{}, false
	}
	if size > maxCentralDirectory {
		j.out.structure(Warning, KindZipInvalid, int64(start), "central directory is larger than %d bytes", maxCentralDirectory)
		return centralDirectory{}, false
	}
	dir := centralDirectory{start: int64(start), end: int64(start + size)}
	dir.entries = j.parseDirectory(dir.start, int(size))
	if uint64(len(dir.entries)) != count {
		j.out.structure(Warning, KindZipHeaderMismatch, eocd,
			"end record declares %d entries but the central directory has %d", count, len(dir.entries))
	}
	return dir, true
}

// findEndOfDirectory returns the offset and bytes of the end of central
// directory record whose comment reaches exactly to the end of the file, or
// failing that the last record found.
func (j *artifactJob) findEndOfDirectory() (int64, []byte, bool) {
	tailLen := min(j.size, endOfDirLen+maxCommentLen)
	tail := make([]byte, tailLen)
	if !j.readAt(tail, j.size-tailLen) {
		return 0, nil, false
	}
	signature := []byte("PK\x05\x06")
	fallback := -1
	for i := len(tail) - endOfDirLen; i >= 0; i-- {
		if !bytes.Equal(tail[i:i+4], signature) {
			continue
		}
		comment := int(binary.LittleEndian.Uint16(tail[i+20:]))
		if i+endOfDirLen+comment == len(tail) {
			return j.size - tailLen + int64(i), tail[i : i+endOfDirLen], true
		}
		if fallback < 0 {
			fallback = i
		}
	}
	if fallback < 0 {
		return 0, nil, false
	}
	at := j.size - tailLen + int64(fallback)
	j.out.structure(Warning, KindZipInvalid, at, "end record's comment length does not match the bytes after it")
	return at, tail[fallback : fallback+endOfDirLen], true
}

func (j *artifactJob) readZip64End(eocd int64) (count, size, start uint64, at int64, ok bool) {
	locator := make([]byte, zip64LocatorLen)
	if !j.readAt(locator, eocd-zip64LocatorLen) || binary.LittleEndian.Uint32(locator) != sigZip64Locator {
		j.out.structure(Warning, KindZipInvalid, eocd, "end record needs zip64 values but has no zip64 locator")
		return 0, 0, 0, 0, false
	}
	at = int64(binary.LittleEndian.Uint64(locator[8:]))
	record := make([]byte, zip64EndLen)
	if at < 0 || at > eocd || !j.readAt(record, at) || binary.LittleEndian.Uint32(record) != sigZip64EndOfDir {
		j.out.structure(Warning, KindZipInvalid, eocd, "zip64 locator points to offset %d, where no zip64 end record is", at)
		return 0, 0, 0, 0, false
	}
	count = binary.LittleEndian.Uint64(record[32:])
	size = binary.LittleEndian.Uint64(record[40:])
	start = binary.LittleEndian.Uint64(record[48:])
	return count, size, start, at, true
}

// parseDirectory parses the central directory records in size bytes at start.
func (j *artifactJob) parseDirectory(start int64, size int) []zipEntry {
	dir := make([]byte, size)
	if !j.readAt(dir, start) {
		return nil
	}
	var entries []zipEntry
	for pos := 0; pos < len(dir); {
		if len(dir)-pos < centralHeaderLen || binary.LittleEndian.Uint32(dir[pos:]) != sigCentralHeader {
			j.out.structure(Warning, KindZipInvalid, start+int64(pos), "central directory record %d is malformed", len(entries))
			return entries
		}
		record := dir[pos:]
		nameLen := int(binary.LittleEndian.Uint16(record[28:]))
		extraLen := int(binary.LittleEndian.Uint16(record[30:]))
		commentLen := int(binary.LittleEndian.Uint16(record[32:]))
		total := centralHeaderLen + nameLen + extraLen + commentLen
		if total > len(record) {
			j.out.structure(Warning, KindZipInvalid, start+int64(pos), "central directory record %d runs past the directory", len(entries))
			return entries
		}
		entry := zipEntry{
			index: len(entries), dirAt: start + int64(pos),
			name:   string(record[centralHeaderLen : centralHeaderLen+nameLen]),
			flags:  binary.LittleEndian.Uint16(record[8:]),
			method: binary.LittleEndian.Uint16(record[10:]),
			crc:    binary.LittleEndian.Uint32(record[16:]),
			csize:  uint64(binary.LittleEndian.Uint32(record[20:])),
			usize:  uint64(binary.LittleEndian.Uint32(record[24:])),
			offset: uint64(binary.LittleEndian.Uint32(record[42:])),
		}
		entry.applyZip64(record[centralHeaderLen+nameLen:centralHeaderLen+nameLen+extraLen], true)
		entry.display = displayName(entry)
		entries = append(entries, entry)
		pos += total
	}
	return entries
}

// applyZip64 replaces 0xffffffff sizes (and, in the central directory, the
// offset) with the values of the zip64 extra field (APPNOTE 4.5.3).
func (e *zipEntry) applyZip64(extra []byte, central bool) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+size > len(extra) {
			return
		}
		if id == 0x0001 {
			e.zip64 = true
			field := extra[4 : 4+size]
			take := func(target *uint64) {
				if *target == 0xffffffff && len(field) >= 8 {
					*target = binary.LittleEndian.Uint64(field)
					field = field[8:]
				}
			}
			take(&e.usize)
			take(&e.csize)
			if central {
				take(&e.offset)
			}
		}
		extra = extra[4+size:]
	}
}

// displayName returns the member name for findings, or a placeholder when
// the name itself contains a credential.
func displayName(e zipEntry) string {
	if len(findSecrets([]byte(e.name))) > 0 {
		return fmt.Sprintf("member %d (name withheld: it contains a secret)", e.index)
	}
	return e.name
}

// sectionOf returns the bytes [start, start+n) of the artifact.
func (j *artifactJob) sectionOf(start, n int64) io.Reader {
	return io.NewSectionReader(j.source, start, n)
}
