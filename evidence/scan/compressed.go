package scan

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// compressionOf names the compression format of a stream from its magic
// bytes: the formats joblib writes with compress= (zlib, gzip, bz2, lzma,
// xz, lz4) and zstd. It returns "" for anything else.
func compressionOf(head []byte) string {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip"
	case len(head) >= 4 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h' && head[3] >= '1' && head[3] <= '9':
		return "bzip2"
	case len(head) >= 2 && head[0] == 0x78 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0:
		return "zlib"
	case len(head) >= 6 && string(head[:6]) == "\xfd7zXZ\x00":
		return "xz"
	case len(head) >= 4 && string(head[:4]) == "\x04\x22\x4d\x18":
		return "lz4"
	case len(head) >= 4 && string(head[:4]) == "\x28\xb5\x2f\xfd":
		return "zstd"
	case len(head) >= 3 && head[0] == 0x5d && head[1] == 0x00 && head[2] == 0x00:
		return "lzma"
	}
	return ""
}

// scanCompressed inflates a gzip, zlib or bzip2 stream within the inflation
// limits and scans its content like a file. Other formats have no decoder in
// the Go standard library and are scanned for secrets as they are.
func (j *artifactJob) scanCompressed(method string, src io.Reader) Format {
	var inflated io.Reader
	var err error
	switch method {
	case "gzip":
		inflated, err = gzip.NewReader(src)
	case "zlib":
		inflated, err = zlib.NewReader(src)
	case "bzip2":
		inflated = bzip2.NewReader(src)
	default:
		j.out.structure(Warning, KindCompressed, 0,
			"%s-compressed stream: this scanner cannot inflate it, so its pickle content is not checked", method)
		j.scanSecretsOnly(src)
		return FormatData
	}
	if err != nil {
		j.out.structure(Warning, KindCompressed, 0, "invalid %s header: %v", method, err)
		j.scanSecretsOnly(io.NewSectionReader(j.source, 0, j.size))
		return FormatData
	}
	j.out.structure(Info, KindCompressed, 0, "%s-compressed stream; offsets count inflated bytes", method)
	capped := j.newInflateLimit(inflated, 0, method+" stream")
	format := j.scanInflated(capped)
	capped.finish(j.out)
	return format
}

// scanInflated detects the format of inflated content and scans it.
func (j *artifactJob) scanInflated(content io.Reader) Format {
	buffered := bufio.NewReaderSize(content, 1<<16)
	head, _ := buffered.Peek(16)
	if len(head) > 0 && isOpcode(head[0]) && (head[0] != opProto || (len(head) > 1 && head[1] <= highestProtocol)) {
		return j.scanPickleStream(buffered)
	}
	j.scanSecretsOnly(buffered)
	return FormatData
}

// inflateLimit passes at most limit inflated bytes and records why reading
// stopped: the cap, a corrupt stream or the end.
type inflateLimit struct {
	r       io.Reader
	limit   int64
	read    int64
	hitCap  bool
	corrupt error
	job     *artifactJob
	offset  int64
	what    string
}

func (j *artifactJob) newInflateLimit(r io.Reader, offset int64, what string) *inflateLimit {
	limit := min(j.scanner.maxInflatedMember(), j.inflateBudget)
	return &inflateLimit{r: r, limit: limit, job: j, offset: offset, what: what}
}

func (l *inflateLimit) Read(p []byte) (int, error) {
	if l.read >= l.limit {
		l.hitCap = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.limit-l.read {
		p = p[:l.limit-l.read]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	l.job.inflateBudget -= int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		l.corrupt = err
		return n, io.EOF
	}
	return n, err
}

// finish reports a cap hit or a corrupt stream.
func (l *inflateLimit) finish(out *collector) {
	if l.hitCap {
		if probe, _ := l.r.Read(make([]byte, 1)); probe > 0 {
			out.structure(Warning, KindInflationLimit, l.offset,
				"%s inflates to more than %d bytes; the rest was not scanned", l.what, l.limit)
		}
	}
	if l.corrupt != nil {
		out.structure(Warning, KindCompressed, l.offset, "%s is corrupt after %d inflated bytes: %s", l.what, l.read, safeError(l.corrupt))
	}
}

// safeError returns the message of a decompressor error. The standard
// library's messages name offsets and checksums, never content.
func safeError(err error) string { return fmt.Sprint(err) }
