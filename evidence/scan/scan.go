package scan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Default inflation limits of a zero [Scanner]. PyTorch stores tensor
// members uncompressed, so the limits apply only to deflated zip members and
// compressed joblib streams, where a small input can expand without bound.
const (
	DefaultMaxInflatedMember = 1 << 30
	DefaultMaxInflatedTotal  = 4 << 30
)

// Scanner scans artifacts with configurable limits. The zero value uses the
// default limits and is safe for concurrent use.
type Scanner struct {
	// MaxInflatedMember caps the bytes inflated from one deflated zip member
	// or compressed stream. Zero means DefaultMaxInflatedMember.
	MaxInflatedMember int64
	// MaxInflatedTotal caps the bytes inflated from one artifact. Zero means
	// DefaultMaxInflatedTotal.
	MaxInflatedTotal int64
}

// File scans the artifact at path with the default limits.
func File(path string) (*Report, error) { return (&Scanner{}).File(path) }

// Reader scans size bytes of r, naming the artifact name in findings, with
// the default limits.
func Reader(name string, r io.ReaderAt, size int64) (*Report, error) {
	return (&Scanner{}).Reader(name, r, size)
}

// ScanBytes scans an artifact held in memory, such as one downloaded through
// MLflow's artifact API, with the default limits.
func ScanBytes(name string, data []byte) (*Report, error) {
	return (&Scanner{}).ScanBytes(name, data)
}

// File scans the artifact at path. It returns an error only when the file
// cannot be opened or read.
func (s *Scanner) File(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("reading %s: not a regular file", path)
	}
	if info.Size() <= smallFileSize {
		return s.smallFile(path, f, info.Size())
	}
	return s.Reader(path, f, info.Size())
}

// smallFileSize is the size up to which File reads a file with one read call
// instead of several positioned reads, which halves the system calls when
// scanning folders of small pickles.
const smallFileSize = 1 << 20

func (s *Scanner) smallFile(path string, f *os.File, size int64) (*Report, error) {
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	data := (*buf)[:size]
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return s.Reader(path, bytes.NewReader(data), size)
}

// ScanBytes scans an artifact held in memory. It never returns an error for
// in-memory data, but keeps the signature of [Scanner.Reader].
func (s *Scanner) ScanBytes(name string, data []byte) (*Report, error) {
	return s.Reader(name, bytes.NewReader(data), int64(len(data)))
}

// Reader scans size bytes of r. Corrupt or deceptive content becomes
// findings; the error is non-nil only when reading r failed.
func (s *Scanner) Reader(name string, r io.ReaderAt, size int64) (*Report, error) {
	source := &recordingReaderAt{r: r}
	job := &artifactJob{
		scanner: s, source: source, size: size, out: newCollector(name),
		inflateBudget: s.maxInflatedTotal(),
	}
	format := job.run()
	if source.err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, source.err)
	}
	return &Report{File: name, Format: format, Size: size, Findings: job.out.findings}, nil
}

func (s *Scanner) maxInflatedMember() int64 {
	if s.MaxInflatedMember > 0 {
		return s.MaxInflatedMember
	}
	return DefaultMaxInflatedMember
}

func (s *Scanner) maxInflatedTotal() int64 {
	if s.MaxInflatedTotal > 0 {
		return s.MaxInflatedTotal
	}
	return DefaultMaxInflatedTotal
}

// recordingReaderAt keeps the first read error other than io.EOF, which
// distinguishes an I/O failure from a format error found while decoding.
type recordingReaderAt struct {
	r   io.ReaderAt
	err error
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) && r.err == nil {
		r.err = err
	}
	return n, err
}

// artifactJob is the state of one Reader call.
type artifactJob struct {
	scanner       *Scanner
	source        *recordingReaderAt
	size          int64
	out           *collector
	inflateBudget int64
}

func (j *artifactJob) run() Format {
	head := make([]byte, 16)
	n, _ := j.source.ReadAt(head, 0)
	head = head[:n]
	if j.source.err != nil {
		return FormatData
	}
	section := io.NewSectionReader(j.source, 0, j.size)
	switch {
	case isZipHead(head):
		return j.scanZip()
	case compressionOf(head) != "":
		return j.scanCompressed(compressionOf(head), section)
	case looksLikePickle(head, section):
		return j.scanPickleStream(io.NewSectionReader(j.source, 0, j.size))
	}
	j.scanSecretsOnly(section)
	return FormatData
}

// reportSecret records a credential at offset without its value.
func (j *artifactJob) reportSecret(m secretMatch, offset int64) {
	j.out.add(Finding{Severity: Error, Kind: KindSecret, Secret: m.secret, Offset: offset,
		Detail: m.detail + "; value withheld"})
}

// scanText scans a decoded pickle string argument for secrets and reports
// them at the offset of its opcode.
func (j *artifactJob) scanText(text []byte, offset int64) {
	for _, m := range findSecrets(text) {
		j.reportSecret(m, offset)
	}
}

func (j *artifactJob) newSecretScanner() *secretScanner {
	return newSecretScanner(j.reportSecret)
}

// scanSecretsOnly scans a stream for secrets and nothing else.
func (j *artifactJob) scanSecretsOnly(src io.Reader) {
	secrets := j.newSecretScanner()
	buf := copyBuffers.Get().(*[]byte)
	_, _ = io.CopyBuffer(secrets, src, *buf)
	copyBuffers.Put(buf)
	_ = secrets.Close()
}

// copyBuffers recycles the chunk buffers of scanSecretsOnly.
var copyBuffers = sync.Pool{New: func() any {
	buf := make([]byte, copyBufferSize)
	return &buf
}}

// copyBufferSize is the chunk size for CRC and secret passes over large
// data. It must be at least smallFileSize.
const copyBufferSize = 1 << 20
