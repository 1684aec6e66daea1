package scan

import (
	"compress/flate"
	"hash"
	"hash/crc32"
	"io"
	"sort"
	"strings"
)

// scanZip checks the archive structure, scans every member's content and
// then scans the bytes that no stored member covers (headers, the central
// directory, deflated data and gaps) for secrets.
func (j *artifactJob) scanZip() Format {
	dir, ok := j.readDirectory()
	if !ok {
		j.scanSecretsOnly(j.sectionOf(0, j.size))
		return FormatZip
	}
	for i := range dir.entries {
		e := &dir.entries[i]
		j.out.member = e.display
		j.checkEntry(e)
		j.readLocalHeader(e)
		j.out.member = ""
	}
	j.checkDuplicates(dir.entries)
	j.checkLayout(dir.entries, dir)
	torch := j.checkTorchLayout(dir.entries)
	var covered []span
	for i := range dir.entries {
		if s, ok := j.scanMember(&dir.entries[i]); ok {
			covered = append(covered, s)
		}
	}
	j.scanUncovered(covered)
	if torch {
		return FormatTorchZip
	}
	return FormatZip
}

// span is a byte range [start, end) of the artifact.
type span struct{ start, end int64 }

// scanMember reads one member's content, verifies its size and CRC-32 and
// scans it. It returns the raw range it scanned when the member is stored,
// so that the raw pass can skip it.
func (j *artifactJob) scanMember(e *zipEntry) (span, bool) {
	if !e.located || e.flags&(flagEncrypted|flagStrongEncrypted) != 0 || (e.method != 0 && e.method != 8) {
		return span{}, false
	}
	j.out.member = e.display
	defer func() { j.out.member = "" }()

	available := max(0, j.size-e.dataStart)
	compressed := int64(min(e.csize, uint64(available)))
	if uint64(compressed) < e.csize {
		j.out.structure(Warning, KindZipCorruptMember, e.dataStart,
			"member data (%d bytes) runs past the end of the file; %d bytes are present", e.csize, compressed)
	}
	raw := j.sectionOf(e.dataStart, compressed)

	if e.method == 0 {
		if e.usize != e.csize {
			j.out.structure(Warning, KindZipSizeMismatch, 0,
				"stored member declares %d compressed but %d uncompressed bytes", e.csize, e.usize)
		}
		j.verifyContent(e, raw, nil)
		return span{e.dataStart, e.dataStart + compressed}, true
	}

	inflater := flate.NewReader(raw)
	defer inflater.Close()
	limit := j.newInflateLimit(inflater, 0, "deflated member")
	capped := limit.limit
	limit.limit = min(capped, int64(min(e.usize, 1<<62))+1)
	j.verifyContent(e, limit, limit)
	if limit.corrupt == nil && limit.hitCap && limit.read == capped && uint64(capped) < e.usize {
		j.out.structure(Warning, KindInflationLimit, capped,
			"member declares %d bytes; scanning stopped at the inflation limit of %d bytes, so its CRC-32 is not verified", e.usize, capped)
	}
	return span{}, false
}

// verifyContent scans content, then compares its length and CRC-32 with the
// central directory. limit is the inflation limit of a deflated member.
func (j *artifactJob) verifyContent(e *zipEntry, content io.Reader, limit *inflateLimit) {
	counter := &countingHash{hash: crc32.NewIEEE()}
	tee := io.TeeReader(content, counter)
	if j.isPickleMember(e, content) {
		j.scanPickleStream(tee)
	} else {
		j.scanSecretsOnly(tee)
	}
	if limit != nil {
		if limit.corrupt != nil {
			j.out.structure(Warning, KindZipCorruptMember, limit.read,
				"deflate data is corrupt after %d inflated bytes: %s", limit.read, safeError(limit.corrupt))
			return
		}
		if limit.hitCap && uint64(limit.read) < e.usize {
			return // stopped at the inflation limit; scanMember reports it
		}
	}
	switch {
	case uint64(counter.n) > e.usize:
		j.out.structure(Warning, KindZipSizeMismatch, int64(e.usize),
			"member inflates to more than the %d bytes the central directory declares", e.usize)
	case uint64(counter.n) < e.usize:
		j.out.structure(Warning, KindZipSizeMismatch, counter.n,
			"member has %d bytes but the central directory declares %d", counter.n, e.usize)
	case counter.hash.Sum32() != e.crc:
		j.out.structure(Warning, KindZipBadCRC, 0,
			"CRC-32 of the content is %08x but the central directory declares %08x", counter.hash.Sum32(), e.crc)
	}
}

// isPickleMember decides whether a member is decoded as a pickle: every .pkl
// member, and any stored member outside the tensor storage folder whose
// content starts with PROTO 2-5. Tensor storages are raw numbers that may start with
// 0x80 by chance, so their content is never decoded.
func (j *artifactJob) isPickleMember(e *zipEntry, content io.Reader) bool {
	if strings.HasSuffix(strings.ToLower(e.name), ".pkl") {
		return true
	}
	if tensorStorageName.MatchString(e.name) {
		return false
	}
	section, ok := content.(*io.SectionReader)
	if !ok {
		return false // deflated members other than .pkl are scanned for secrets only
	}
	head := make([]byte, 2)
	n, _ := section.ReadAt(head, 0)
	return n == 2 && head[0] == opProto && head[1] >= 2 && head[1] <= highestProtocol
}

// countingHash counts and hashes the bytes written to it.
type countingHash struct {
	hash hash.Hash32
	n    int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.hash.Write(p)
}

// scanUncovered scans for secrets every byte of the artifact outside the
// stored members already scanned.
func (j *artifactJob) scanUncovered(covered []span) {
	sort.Slice(covered, func(a, b int) bool { return covered[a].start < covered[b].start })
	position := int64(0)
	for _, s := range covered {
		if s.start > position {
			j.scanRawRange(position, s.start)
		}
		position = max(position, s.end)
	}
	if position < j.size {
		j.scanRawRange(position, j.size)
	}
}

// scanRawRange scans [start, end) for secrets with file offsets.
func (j *artifactJob) scanRawRange(start, end int64) {
	secrets := j.newSecretScanner()
	secrets.offset, secrets.reportFrom = start, start
	buf := copyBuffers.Get().(*[]byte)
	_, _ = io.CopyBuffer(secrets, j.sectionOf(start, end-start), *buf)
	copyBuffers.Put(buf)
	_ = secrets.Close()
}
