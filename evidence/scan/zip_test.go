package scan

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildZip writes members with archive/zip, which always uses data
// descriptors (flag bit 3).
func buildZip(t *testing.T, method uint16, members map[string][]byte, order ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range order {
		f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		require.NoError(t, err)
		_, err = f.Write(members[name])
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestZipWithDescriptorsIsClean(t *testing.T) {
	t.Parallel()
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		data := buildZip(t, method, map[string][]byte{
			"m/data.pkl": []byte("\x80\x02ccollections\nOrderedDict\n)R."), "m/data/0": bytes.Repeat([]byte{1, 2, 3}, 100),
		}, "m/data.pkl", "m/data/0")
		report, err := ScanBytes("descriptor.pt", data)
		require.NoError(t, err)
		assert.Equal(t, FormatTorchZip, report.Format)
		assert.Equal(t, []Kind{KindGlobal}, kinds(report), "method %d", method)
	}
}

func TestZipDescriptorMismatch(t *testing.T) {
	t.Parallel()
	data := buildZip(t, zip.Store, map[string][]byte{"a.txt": []byte("hello world")}, "a.txt")
	at := bytes.Index(data, []byte("PK\x07\x08"))
	require.Positive(t, at)
	binary.LittleEndian.PutUint32(data[at+4:], 0xdeadbeef)
	report, err := ScanBytes("descriptor.zip", data)
	require.NoError(t, err)
	assert.Equal(t, []Kind{KindZipDescriptor}, kinds(report))
}

func TestZipDeflatedSizeMismatch(t *testing.T) {
	t.Parallel()
	data := buildZip(t, zip.Deflate, map[string][]byte{"a.txt": bytes.Repeat([]byte("abc"), 1000)}, "a.txt")
	central := bytes.Index(data, []byte("PK\x01\x02"))
	binary.LittleEndian.PutUint32(data[central+24:], 100) // declared uncompressed size
	report, err := ScanBytes("size.zip", data)
	require.NoError(t, err)
	assert.Equal(t, []Kind{KindZipDescriptor, KindZipSizeMismatch}, kinds(report))
}

func TestZipInflationTotalLimit(t *testing.T) {
	t.Parallel()
	zeros := make([]byte, 1<<20)
	data := buildZip(t, zip.Deflate, map[string][]byte{"a": zeros, "b": zeros}, "a", "b")
	report, err := (&Scanner{MaxInflatedTotal: 1<<20 + 1000}).ScanBytes("bomb.zip", data)
	require.NoError(t, err)
	assert.Equal(t, []Kind{KindInflationLimit}, kinds(report))
	assert.Equal(t, "b", report.Findings[0].Member)
}

func TestZipTruncatedArchive(t *testing.T) {
	t.Parallel()
	data := buildZip(t, zip.Store, map[string][]byte{"a.txt": []byte("hello")}, "a.txt")
	report, err := ScanBytes("cut.zip", data[:len(data)-30])
	require.NoError(t, err)
	assert.Equal(t, FormatZip, report.Format)
	assert.Equal(t, []Kind{KindZipInvalid}, kinds(report))
}

func TestZipCorruptDeflate(t *testing.T) {
	t.Parallel()
	data := buildZip(t, zip.Deflate, map[string][]byte{"a.txt": bytes.Repeat([]byte("xyz"), 500)}, "a.txt")
	start := bytes.Index(data, []byte("a.txt")) + len("a.txt")
	for i := start; i < start+8; i++ {
		data[i] = 0xff
	}
	report, err := ScanBytes("corrupt.zip", data)
	require.NoError(t, err)
	assert.Contains(t, kinds(report), KindZipCorruptMember)
}

func TestZipMemberNameWithSecretIsWithheld(t *testing.T) {
	t.Parallel()
	data := buildZip(t, zip.Store, map[string][]byte{testAWSKeyID + ".txt": []byte("x")}, testAWSKeyID+".txt")
	report, err := ScanBytes("names.zip", data)
	require.NoError(t, err)
	require.NotEmpty(t, report.Findings)
	for _, f := range report.Findings {
		assert.NotContains(t, f.Member, testAWSKeyID)
		assert.NotContains(t, f.Detail, testAWSKeyID)
	}
}

func TestCompressedJoblib(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := zlibWriter(&buf)
	_, err := w.Write([]byte("\x80\x04cos\nsystem\n."))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	report, err := ScanBytes("model.joblib", buf.Bytes())
	require.NoError(t, err)
	assert.Equal(t, FormatPickle, report.Format)
	assert.Equal(t, []Kind{KindCompressed, KindGlobal}, kinds(report))
}
