package scan

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// General purpose flag bits (APPNOTE 4.4.4).
const (
	flagEncrypted       = 1 << 0
	flagDescriptor      = 1 << 3
	flagStrongEncrypted = 1 << 6
	flagUTF8            = 1 << 11
	flagMaskedHeaders   = 1 << 13
	// knownFlags are the bits that plain archives use: encryption (reported
	// separately), the two deflate option bits, data descriptors and UTF-8.
	knownFlags = flagEncrypted | 1<<1 | 1<<2 | flagDescriptor | flagUTF8
)

// tensorStorageName matches PyTorch's tensor storage members, "<root>/data/<n>".
var tensorStorageName = regexp.MustCompile(`(^|/)data/[0-9]+$`)

// checkEntry reports flags, names and methods of one central directory entry.
func (j *artifactJob) checkEntry(e *zipEntry) {
	if e.flags&(flagEncrypted|flagStrongEncrypted|flagMaskedHeaders) != 0 {
		j.out.structure(Warning, KindZipEncrypted, e.dirAt,
			"member is encrypted (flags 0x%04x); its content cannot be checked", e.flags)
	}
	if unknown := e.flags &^ (knownFlags | flagStrongEncrypted | flagMaskedHeaders); unknown != 0 {
		j.out.structure(Warning, KindZipFlags, e.dirAt, "member sets unexpected general purpose flag bits 0x%04x", unknown)
	}
	if e.method != 0 && e.method != 8 {
		j.out.structure(Warning, KindZipUnsupportedMethod, e.dirAt,
			"compression method %d is not stored (0) or deflate (8); the member is scanned as raw bytes only", e.method)
	}
	if reason := unsafeName(e.name); reason != "" {
		j.out.structure(Warning, KindZipUnsafeName, e.dirAt, "member name %s", reason)
	}
}

// unsafeName explains why extracting a member name could escape the target
// folder, or returns "".
func unsafeName(name string) string {
	switch {
	case strings.ContainsRune(name, 0):
		return "contains a NUL byte"
	case strings.Contains(name, `\`):
		return "contains a backslash"
	case strings.HasPrefix(name, "/"):
		return "is an absolute path"
	case len(name) >= 2 && name[1] == ':' && ((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')):
		return "starts with a drive letter"
	}
	for _, segment := range strings.Split(name, "/") {
		if segment == ".." {
			return `contains a ".." segment`
		}
	}
	return ""
}

// checkDuplicates reports every entry whose name an earlier entry has, and
// adds the entry number to its display name so that findings tell them apart.
func (j *artifactJob) checkDuplicates(entries []zipEntry) {
	first := make(map[string]int)
	for i := range entries {
		e := &entries[i]
		if earlier, seen := first[e.name]; seen {
			e.display = fmt.Sprintf("%s (entry %d)", e.display, e.index)
			j.out.member = e.display
			j.out.structure(Warning, KindZipDuplicateName, e.dirAt,
				"central directory entry %d repeats the name of entry %d; extractors disagree on which one wins", e.index, earlier)
			j.out.member = ""
			continue
		}
		first[e.name] = e.index
	}
}

// readLocalHeader finds the member's local header and compares it with the
// central directory entry.
func (j *artifactJob) readLocalHeader(e *zipEntry) {
	header := make([]byte, localHeaderLen)
	if e.offset > uint64(j.size) || !j.readAt(header, int64(e.offset)) || binary.LittleEndian.Uint32(header) != sigLocalHeader {
		j.out.structure(Warning, KindZipCorruptMember, e.dirAt, "no local header at offset %d", e.offset)
		return
	}
	nameLen := int64(binary.LittleEndian.Uint16(header[26:]))
	extraLen := int64(binary.LittleEndian.Uint16(header[28:]))
	variable := make([]byte, nameLen+extraLen)
	if !j.readAt(variable, int64(e.offset)+localHeaderLen) {
		j.out.structure(Warning, KindZipCorruptMember, int64(e.offset), "local header runs past the end of the file")
		return
	}
	local := zipEntry{
		name:   string(variable[:nameLen]),
		flags:  binary.LittleEndian.Uint16(header[6:]),
		method: binary.LittleEndian.Uint16(header[8:]),
		crc:    binary.LittleEndian.Uint32(header[14:]),
		csize:  uint64(binary.LittleEndian.Uint32(header[18:])),
		usize:  uint64(binary.LittleEndian.Uint32(header[22:])),
	}
	local.applyZip64(variable[nameLen:], false)
	e.located = true
	e.dataStart = int64(e.offset) + localHeaderLen + nameLen + extraLen
	e.end = e.dataStart + int64(min(e.csize, uint64(j.size)))
	j.compareLocal(e, local)
	if e.flags&flagDescriptor != 0 {
		j.checkDescriptor(e, local.zip64 || e.zip64)
	}
}

func (j *artifactJob) compareLocal(e *zipEntry, local zipEntry) {
	at := int64(e.offset)
	if local.name != e.name {
		j.out.structure(Warning, KindZipNameMismatch, at,
			"local header names the member %q but the central directory names it %q", displayName(local), e.display)
	}
	if local.flags != e.flags {
		j.out.structure(Warning, KindZipHeaderMismatch, at, "local flags 0x%04x differ from central flags 0x%04x", local.flags, e.flags)
	}
	if local.method != e.method {
		j.out.structure(Warning, KindZipHeaderMismatch, at, "local method %d differs from central method %d", local.method, e.method)
	}
	if e.flags&flagDescriptor != 0 && local.flags&flagDescriptor != 0 {
		return // the local fields may be zero; the data descriptor carries them
	}
	if local.crc != e.crc || local.csize != e.csize || local.usize != e.usize {
		j.out.structure(Warning, KindZipHeaderMismatch, at,
			"local header (crc %08x, %d compressed, %d uncompressed bytes) differs from the central directory (crc %08x, %d, %d)",
			local.crc, local.csize, local.usize, e.crc, e.csize, e.usize)
	}
}

// checkDescriptor compares the data descriptor after the member data with the
// central directory entry (APPNOTE 4.3.9). The signature is optional.
func (j *artifactJob) checkDescriptor(e *zipEntry, zip64 bool) {
	at := e.dataStart + int64(e.csize)
	descriptor := make([]byte, 24)
	n := min(int64(len(descriptor)), j.size-at)
	if n < 12 || !j.readAt(descriptor[:n], at) {
		j.out.structure(Warning, KindZipDescriptor, at, "data descriptor is missing at the end of the file")
		return
	}
	descriptor = descriptor[:n]
	length := int64(12)
	if binary.LittleEndian.Uint32(descriptor) == sigDescriptor {
		descriptor = descriptor[4:]
		length += 4
	}
	crc := binary.LittleEndian.Uint32(descriptor)
	var csize, usize uint64
	if zip64 && len(descriptor) >= 20 {
		csize, usize = binary.LittleEndian.Uint64(descriptor[4:]), binary.LittleEndian.Uint64(descriptor[12:])
		length += 8
	} else {
		csize, usize = uint64(binary.LittleEndian.Uint32(descriptor[4:])), uint64(binary.LittleEndian.Uint32(descriptor[8:]))
	}
	e.end = at + length
	if crc != e.crc || csize != e.csize || usize != e.usize {
		j.out.structure(Warning, KindZipDescriptor, at,
			"data descriptor (crc %08x, %d, %d bytes) differs from the central directory (crc %08x, %d, %d)",
			crc, csize, usize, e.crc, e.csize, e.usize)
	}
}

// checkLayout reports members whose bytes overlap each other or the central
// directory, and bytes that belong to no member.
func (j *artifactJob) checkLayout(entries []zipEntry, dir centralDirectory) {
	located := make([]*zipEntry, 0, len(entries))
	for i := range entries {
		if entries[i].located {
			located = append(located, &entries[i])
		}
	}
	sort.SliceStable(located, func(a, b int) bool { return located[a].offset < located[b].offset })
	covered := int64(0)
	for _, e := range located {
		start := int64(e.offset)
		switch {
		case start < covered:
			j.out.member = e.display
			j.out.structure(Warning, KindZipOverlap, start, "member starts at offset %d, inside the previous member (ends at %d)", start, covered)
			j.out.member = ""
		case start > covered:
			j.out.structure(Warning, KindZipUnaccountedBytes, covered, "%d bytes before offset %d belong to no member", start-covered, start)
		}
		covered = max(covered, e.end)
	}
	switch {
	case covered > dir.start:
		j.out.structure(Warning, KindZipOverlap, dir.start, "member data runs to offset %d, into the central directory at %d", covered, dir.start)
	case covered < dir.start:
		j.out.structure(Warning, KindZipUnaccountedBytes, covered, "%d bytes before the central directory belong to no member", dir.start-covered)
	}
}

// checkTorchLayout reports a PyTorch-looking archive without data.pkl and
// returns whether some member is a data.pkl.
func (j *artifactJob) checkTorchLayout(entries []zipEntry) bool {
	torchLike := false
	for _, e := range entries {
		if e.name == "data.pkl" || strings.HasSuffix(e.name, "/data.pkl") {
			return true
		}
		if tensorStorageName.MatchString(e.name) || strings.HasSuffix(e.name, "/version") ||
			strings.HasSuffix(e.name, ".data/serialization_id") || strings.HasSuffix(e.name, ".pkl") {
			torchLike = true
		}
	}
	if torchLike {
		j.out.structure(Warning, KindZipMissingDataPickle, 0,
			"archive has PyTorch members but no data.pkl; torch.load would reject it, other loaders may not")
	}
	return false
}
