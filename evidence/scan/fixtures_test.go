package scan

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fixtureDir = "../../testdata/scan"

// want is the part of a finding that the fixture table checks; the detail
// text is free to change.
type want struct {
	severity Severity
	kind     Kind
	target   string
	member   string
	offset   int64
}

// fixtureScanner uses a 1 MiB inflation cap so that zip_bomb.zip, which
// inflates to 4 MiB, hits it.
var fixtureScanner = &Scanner{MaxInflatedMember: 1 << 20}

var fixtureCases = []struct {
	name     string
	format   Format
	findings []want
}{
	{"benign_proto0.pkl", FormatPickle, []want{
		{Info, "global", "collections.OrderedDict", "", 0},
		{Info, "global", "__builtin__.set", "", 116},
		{Info, "global", "_codecs.encode", "", 172},
	}},
	{"benign_proto1.pkl", FormatPickle, []want{
		{Info, "global", "collections.OrderedDict", "", 0},
		{Info, "global", "__builtin__.set", "", 123},
		{Info, "global", "_codecs.encode", "", 172},
	}},
	{"benign_proto2.pkl", FormatPickle, []want{
		{Info, "global", "collections.OrderedDict", "", 2},
		{Info, "global", "__builtin__.set", "", 124},
		{Info, "global", "_codecs.encode", "", 172},
	}},
	{"benign_proto3.pkl", FormatPickle, []want{
		{Info, "global", "collections.OrderedDict", "", 2},
		{Info, "global", "builtins.set", "", 124},
	}},
	{"benign_proto4.pkl", FormatPickle, []want{
		{Info, "global", "collections.OrderedDict", "", 39},
	}},
	{"benign_proto5.pkl", FormatPickle, []want{
		{Info, "global", "collections.OrderedDict", "", 39},
	}},
	{"data_after_stop.pkl", FormatPickle, []want{
		{Warning, "pickle-trailing-data", "", "", 12},
	}},
	{"evil_dotted_name.pkl", FormatPickle, []want{
		{Error, "global", "collections.os.system", "", 35},
	}},
	{"evil_global_proto0.pkl", FormatPickle, []want{
		{Error, "global", "os.system", "", 0},
	}},
	{"evil_global_proto2.pkl", FormatPickle, []want{
		{Error, "global", "os.system", "", 2},
	}},
	{"evil_inst_subprocess.pkl", FormatPickle, []want{
		{Error, "global", "subprocess.Popen", "", 7},
	}},
	{"evil_obj_eval.pkl", FormatPickle, []want{
		{Error, "global", "builtins.eval", "", 1},
	}},
	{"evil_protocol_bump.pkl", FormatPickle, []want{
		{Warning, "pickle-protocol-bump", "", "", 4},
		{Error, "global", "posix.system", "", 6},
	}},
	{"evil_stack_global_memo.pkl", FormatPickle, []want{
		{Error, "global", "os.system", "", 31},
	}},
	{"evil_stack_global_proto5.pkl", FormatPickle, []want{
		{Error, "global", "builtins.exec", "", 42},
	}},
	{"frame_mismatch.pkl", FormatPickle, []want{
		{Warning, "pickle-frame-mismatch", "", "", 16},
		{Warning, "pickle-trailing-data", "", "", 17},
	}},
	{"joblib_like.joblib", FormatJoblib, []want{
		{Info, "global", "joblib.numpy_pickle.NumpyArrayWrapper", "", 12},
		{Info, "global", "numpy.ndarray", "", 68},
		{Info, "global", "numpy.dtype", "", 124},
	}},
	{"legacy_torch.pt", FormatTorchLegacy, []want{
		{Info, "global", "torch._utils._rebuild_tensor_v2", "", 139},
		{Info, "global", "torch.FloatStorage", "", 186},
		{Info, "global", "collections.OrderedDict", "", 233},
	}},
	{"memo_missing.pkl", FormatPickle, []want{
		{Warning, "pickle-memo-missing", "", "", 2},
	}},
	{"missing_stop.pkl", FormatPickle, []want{
		{Warning, "pickle-missing-stop", "", "", 13},
	}},
	{"plain_data.bin", FormatData, nil},
	{"second_pickle.pkl", FormatPickle, []want{
		{Warning, "pickle-trailing-data", "", "", 9},
		{Error, "global", "os.system", "", 11},
	}},
	{"secret_dict_entry.pkl", FormatPickle, []want{
		{Error, "secret", "high-entropy-assignment", "", 53},
	}},
	{"secret_escaped_proto0.pkl", FormatPickle, []want{
		{Error, "secret", "aws-access-key-id", "", 0},
	}},
	{"secret_github_token.pkl", FormatPickle, []want{
		{Error, "secret", "github-token", "", 34},
	}},
	{"secrets.txt", FormatData, []want{
		{Error, "secret", "aws-access-key-id", "", 44},
		{Error, "secret", "private-key", "", 111},
		{Error, "secret", "slack-webhook", "", 218},
		{Error, "secret", "high-entropy-assignment", "", 65},
	}},
	{"stack_underflow.pkl", FormatPickle, []want{
		{Warning, "pickle-stack-underflow", "", "", 2},
		{Warning, "pickle-unresolved-callable", "", "", 2},
	}},
	{"torch_benign.pt", FormatTorchZip, []want{
		{Info, "global", "collections.OrderedDict", "archive/data.pkl", 2},
		{Info, "global", "torch._utils._rebuild_tensor_v2", "archive/data.pkl", 47},
		{Info, "global", "torch.FloatStorage", "archive/data.pkl", 98},
	}},
	{"torch_evil.pt", FormatTorchZip, []want{
		{Error, "global", "posix.system", "archive/data.pkl", 2},
	}},
	{"truncated.pkl", FormatPickle, []want{
		{Warning, "pickle-truncated", "", "", 2},
	}},
	{"unknown_opcode.pkl", FormatPickle, []want{
		{Warning, "pickle-unknown-opcode", "", "", 3},
	}},
	{"zip_bad_crc.pt", FormatTorchZip, []want{
		{Info, "global", "collections.OrderedDict", "archive/data.pkl", 2},
		{Info, "global", "torch._utils._rebuild_tensor_v2", "archive/data.pkl", 41},
		{Info, "global", "torch.FloatStorage", "archive/data.pkl", 92},
		{Warning, "zip-bad-crc", "", "archive/data/0", 0},
	}},
	{"zip_bomb.zip", FormatZip, []want{
		{Warning, "inflation-limit", "", "zeros.bin", 1048576},
	}},
	{"zip_deflated_aws_key.zip", FormatZip, []want{
		{Error, "secret", "aws-access-key-id", "notes/config.txt", 58},
		{Error, "secret", "aws-access-key-id", "notes/config.txt", 137},
		{Error, "secret", "aws-access-key-id", "notes/config.txt", 216},
	}},
	{"zip_duplicate_names.pt", FormatTorchZip, []want{
		{Warning, "zip-duplicate-name", "", "archive/data.pkl (entry 5)", 867},
		{Info, "global", "collections.OrderedDict", "archive/data.pkl", 2},
		{Info, "global", "torch._utils._rebuild_tensor_v2", "archive/data.pkl", 41},
		{Info, "global", "torch.FloatStorage", "archive/data.pkl", 92},
		{Error, "global", "posix.system", "archive/data.pkl (entry 5)", 2},
	}},
	{"zip_encrypted_flag.pt", FormatTorchZip, []want{
		{Warning, "zip-encrypted", "", "archive/byteorder", 533},
		{Info, "global", "collections.OrderedDict", "archive/data.pkl", 2},
		{Info, "global", "torch._utils._rebuild_tensor_v2", "archive/data.pkl", 41},
		{Info, "global", "torch.FloatStorage", "archive/data.pkl", 92},
	}},
	{"zip_missing_data_pkl.pt", FormatZip, []want{
		{Warning, "zip-missing-data-pkl", "", "", 0},
	}},
	{"zip_multiple_pkl.pt", FormatTorchZip, []want{
		{Info, "global", "collections.OrderedDict", "archive/data.pkl", 2},
		{Info, "global", "torch._utils._rebuild_tensor_v2", "archive/data.pkl", 41},
		{Info, "global", "torch.FloatStorage", "archive/data.pkl", 92},
		{Error, "global", "builtins.exec", "archive/extra.pkl", 2},
	}},
	{"zip_name_mismatch.pt", FormatTorchZip, []want{
		{Warning, "zip-name-mismatch", "", "archive/data.pkl", 0},
		{Info, "global", "collections.OrderedDict", "archive/data.pkl", 2},
		{Info, "global", "torch._utils._rebuild_tensor_v2", "archive/data.pkl", 41},
		{Info, "global", "torch.FloatStorage", "archive/data.pkl", 92},
	}},
	{"zip_overlap.zip", FormatZip, []want{
		{Warning, "zip-name-mismatch", "", "b.txt", 0},
		{Warning, "zip-overlap", "", "b.txt", 0},
	}},
	{"zip_unsafe_names.zip", FormatZip, []want{
		{Warning, "zip-unsafe-name", "", "../escape.txt", 126},
		{Warning, "zip-unsafe-name", "", "dir\\file.txt", 185},
		{Warning, "zip-unsafe-name", "", "/abs.txt", 243},
	}},
}

func TestFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range fixtureCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			report, err := fixtureScanner.File(filepath.Join(fixtureDir, tc.name))
			require.NoError(t, err)
			assert.Equal(t, tc.format, report.Format, "format")
			got := make([]want, 0, len(report.Findings))
			for _, f := range report.Findings {
				got = append(got, want{f.Severity, f.Kind, f.Target(), f.Member, f.Offset})
			}
			if tc.findings == nil {
				tc.findings = []want{}
			}
			assert.Equal(t, tc.findings, got)
		})
	}
}

func TestFixtureTableCoversEveryFixture(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(fixtureDir)
	require.NoError(t, err)
	listed := make(map[string]bool)
	for _, tc := range fixtureCases {
		listed[tc.name] = true
	}
	for _, entry := range entries {
		if entry.Name() != "README.md" {
			assert.True(t, listed[entry.Name()], "fixture %s has no row in fixtureCases", entry.Name())
		}
	}
}

func TestScanBytesMatchesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(fixtureDir, "torch_evil.pt")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	fromFile, err := File(path)
	require.NoError(t, err)
	fromBytes, err := ScanBytes(path, data)
	require.NoError(t, err)
	assert.Equal(t, fromFile, fromBytes)
}

func TestTextArtifactsAreData(t *testing.T) {
	cases := map[string]string{
		"MLmodel":          "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n",
		"requirements.txt": "scikit-learn==1.5.2\n",
		"conda.yaml":       "channels:\n- conda-forge\ndependencies:\n- python=3.11\n",
		"README.md":        "# Model\n\nThe fraud model.\n",
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			report, err := ScanBytes(name, []byte(text))
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			if report.Format != FormatData {
				t.Errorf("format: got %s, want %s", report.Format, FormatData)
			}
			if len(report.Findings) != 0 {
				t.Errorf("findings: got %v, want none", report.Findings)
			}
		})
	}
}

func TestProtocolZeroGlobalStillDetected(t *testing.T) {
	// A protocol 0 pickle without STOP whose first opcode is GLOBAL is still
	// decoded as a pickle, so the import is reported.
	report, err := ScanBytes("evil.txt", []byte("cos\nsystem\n(S'id'\ntR"))
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if report.Format != FormatPickle {
		t.Fatalf("format: got %s, want %s", report.Format, FormatPickle)
	}
	found := false
	for _, f := range report.Findings {
		found = found || (f.Kind == KindGlobal && f.Module == "os" && f.Name == "system" && f.Severity == Error)
	}
	if !found {
		t.Errorf("os.system not reported: %v", report.Findings)
	}
}

// binUnicodeOp encodes s as a BINUNICODE opcode.
func binUnicodeOp(s string) []byte {
	out := []byte{'X', 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(out[1:], uint32(len(s)))
	return append(out, s...)
}

// A REDUCE that calls numpy.memmap with mode "w+" creates or truncates any
// file the loading process can write, so it is no plain data construction.
func TestScanMemmapFileWriteGadget(t *testing.T) {
	p := []byte{0x80, 0x02}
	p = append(p, "cnumpy\nmemmap\n"...)
	p = append(p, '(')
	p = append(p, binUnicodeOp("/home/ml/.ssh/authorized_keys")...)
	p = append(p, binUnicodeOp("uint8")...)
	p = append(p, binUnicodeOp("w+")...)
	p = append(p, 'K', 0)
	p = append(p, 'K', 1, 0x85)
	p = append(p, 't', 'R', '.')

	report, err := ScanBytes("model.pkl", p)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if worst, _ := report.MaxSeverity(); worst < Warning {
		t.Errorf("a pickle that calls numpy.memmap(path, mode='w+') passed with %v", report.Findings)
	}
}
