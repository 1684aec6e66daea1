package scan

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func scanPickleBytes(t *testing.T, data []byte) *Report {
	t.Helper()
	report, err := ScanBytes("test.pkl", data)
	require.NoError(t, err)
	return report
}

func kinds(r *Report) []Kind {
	out := []Kind{}
	for _, f := range r.Findings {
		out = append(out, f.Kind)
	}
	return out
}

func le64(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }

func le32(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeGlobals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		data   []byte
		target string
		offset int64
		sev    Severity
	}{
		{"global protocol 0", []byte("cos\nsystem\n."), "os.system", 0, Error},
		{"global nt", []byte("\x80\x02cnt\nsystem\n."), "nt.system", 2, Error},
		{"stack global via LONG_BINGET", cat([]byte("\x80\x04\x8c\x0asubprocess\x94\x8c\x05Popen"),
			[]byte("r"), le32(7), []byte("0j"), le32(0), []byte("j"), le32(7), []byte("\x93.")), "subprocess.Popen", 38, Error},
		{"stack global via GET", []byte("\x80\x04\x8c\x08builtins\x8c\x04eval\x93p0\n0g0\n."), "builtins.eval", 18, Error},
		{"stack global from BINUNICODE8", cat([]byte("\x80\x04\x8d"), le64(2), []byte("os\x8d"), le64(5), []byte("popen\x93.")),
			"os.popen", 27, Error},
		{"stack global from STRING", []byte("S'runpy'\nS'run_path'\n\x93."), "runpy.run_path", 21, Error},
		{"inst protocol 0", []byte("(S'x'\nibuiltins\nexec\n."), "builtins.exec", 6, Error},
		{"unknown global", []byte("\x80\x02cmypkg.model\nNet\n."), "mypkg.model.Net", 2, Warning},
		{"allowed global", []byte("\x80\x02ctorch._utils\n_rebuild_tensor_v2\n."), "torch._utils._rebuild_tensor_v2", 2, Info},
		{"load from bytes", []byte("\x80\x02ctorch.storage\n_load_from_bytes\n."), "torch.storage._load_from_bytes", 2, Error},
		{"getattr builtin py2", []byte("c__builtin__\ngetattr\n."), "__builtin__.getattr", 0, Error},
		{"operator attrgetter", []byte("\x80\x02coperator\nattrgetter\n."), "operator.attrgetter", 2, Error},
		{"pip internal", []byte("\x80\x02cpip._internal\nmain\n."), "pip._internal.main", 2, Error},
		{"functools partial", []byte("\x80\x02cfunctools\npartial\n."), "functools.partial", 2, Warning},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			report := scanPickleBytes(t, tc.data)
			require.NotEmpty(t, report.Findings)
			f := report.Findings[0]
			assert.Equal(t, KindGlobal, f.Kind)
			assert.Equal(t, tc.target, f.Target())
			assert.Equal(t, tc.offset, f.Offset)
			assert.Equal(t, tc.sev, f.Severity)
		})
	}
}

func TestDecodeStructure(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		data []byte
		want []Kind
	}{
		{"every protocol 2 opcode", []byte("\x80\x02(K\x01M\x02\x00J\x03\x00\x00\x00\x8a\x01\x05\x8b\x01\x00\x00\x00\x06G\x00\x00\x00\x00\x00\x00\x00\x00" +
			"NI01\nI7\nL8L\nF1.5\n\x88\x89U\x01aT\x01\x00\x00\x00bX\x01\x00\x00\x00cV\\u0064\nS'e'\nt\x85)\x86NN\x87]Na" +
			"(e}(u(d(l2\x8f(\x90(\x91(1N0."), []Kind{}},
		{"protocol 3 bytes", []byte("\x80\x03C\x02hiB\x01\x00\x00\x00x\x86."), []Kind{}},
		{"protocol 5 buffers", cat([]byte("\x80\x05\x97\x98\x96"), le64(1), []byte("z\x86.")), []Kind{}},
		{"persistent ids", []byte("\x80\x02Pabc\n(X\x01\x00\x00\x00atQ\x86."), []Kind{}},
		{"empty stream", []byte{}, nil},
		{"unsupported protocol", []byte("\x80\x06N."), []Kind{KindPickleUnsupportedProtocol}},
		{"pop mark without mark", []byte("\x80\x021."), []Kind{KindPickleStackUnderflow, KindPickleStackUnderflow}},
		{"dict odd items", []byte("(Nd."), []Kind{KindPickleStackUnderflow}},
		{"stop on empty stack", []byte("\x80\x02."), []Kind{KindPickleStackUnderflow}},
		{"negative binstring", []byte("\x80\x02T\xff\xff\xff\xff."), []Kind{KindPickleInvalidArgument}},
		{"huge binbytes8", cat([]byte("\x80\x04\x8e"), le64(1<<62)), []Kind{KindPickleTruncated}},
		{"unquoted string", []byte("Sabc\n."), []Kind{KindPickleInvalidArgument}},
		{"bad get index", []byte("(gx\n."), []Kind{KindPickleInvalidArgument, KindPickleMemoMissing}},
		{"extension code", []byte("\x80\x02\x82\x07)R."), []Kind{KindPickleExtensionCode, KindPickleUnresolvedCallable}},
		{"stack global of ints", []byte("\x80\x04K\x01K\x02\x93."), []Kind{KindPickleUnresolvedGlobal}},
		{"frame overrun", cat([]byte("\x80\x04\x95"), le64(2), []byte("\x8c\x03abc."), []byte{}), []Kind{KindPickleFrameMismatch}},
		{"frame declares too much", cat([]byte("\x80\x04\x95"), le64(100), []byte("N")), []Kind{KindPickleFrameMismatch, KindPickleMissingStop}},
		{"nested frame", cat([]byte("\x80\x04\x95"), le64(20), []byte("\x95"), le64(1), []byte("N.")), []Kind{KindPickleFrameMismatch}},
		{"reduce of call result", []byte("\x80\x02cmath\nsqrt\n)R)R."), []Kind{KindGlobal, KindPickleUnresolvedCallable}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			report := scanPickleBytes(t, tc.data)
			if tc.want == nil {
				assert.Equal(t, FormatData, report.Format)
				assert.Empty(t, report.Findings)
				return
			}
			assert.Equal(t, FormatPickle, report.Format)
			assert.Equal(t, tc.want, kinds(report))
		})
	}
}

func TestDecodeDeepStackStopsTracking(t *testing.T) {
	t.Parallel()
	data := append([]byte("\x80\x02"), bytes.Repeat([]byte("N"), maxStackDepth+10)...)
	data = append(data, []byte("\x8c\x02os\x8c\x06system\x93cos\nsystem\n.")...)
	report := scanPickleBytes(t, data)
	assert.Equal(t, []Kind{KindPickleLimit, KindPickleUnresolvedGlobal, KindGlobal}, kinds(report))
}

func TestJoblibWithoutAlignment(t *testing.T) {
	t.Parallel()
	// joblib before 1.2 writes no padding byte; the wrapper state has no
	// numpy_array_alignment_bytes key. 2 int32 values follow the BUILD.
	dtype := "cnumpy\ndtype\nX\x02\x00\x00\x00i4\x89\x88\x87R(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
	data := []byte("\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(X\x05\x00\x00\x00shapeK\x02\x85X\x05\x00\x00\x00dtype" +
		dtype + "ub" + "cos\nsyst" + ".")
	report := scanPickleBytes(t, data)
	assert.Equal(t, FormatJoblib, report.Format)
	assert.Equal(t, []Kind{KindGlobal, KindGlobal}, kinds(report))
}

func TestJoblibUnsizedArray(t *testing.T) {
	t.Parallel()
	data := []byte("\x80\x02cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}b\x00\x00.")
	report := scanPickleBytes(t, data)
	assert.Equal(t, []Kind{KindGlobal, KindJoblibArray}, kinds(report))
}

func TestUnescapePython(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`plain`:      "plain",
		`a\nb\tc`:    "a\nb\tc",
		`\x41\x4b`:   "AK",
		`\101\113IA`: "AKIA",
		`\'\"\\`:     `'"\`,
		`\q`:         `\q`,
		`\x4`:        `\x4`,
		"trailing\\": "trailing\\",
	}
	for raw, decoded := range cases {
		assert.Equal(t, decoded, string(unescapePython([]byte(raw))), raw)
	}
}

func TestDecodeRawUnicodeEscape(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "AKIA", string(decodeRawUnicodeEscape([]byte(`\u0041\u004bIA`))))
	assert.Equal(t, "é", string(decodeRawUnicodeEscape([]byte{0xe9})))
	assert.Equal(t, "\U0001F600", string(decodeRawUnicodeEscape([]byte(`\U0001f600`))))
	assert.Equal(t, `\uZZZZ`, string(decodeRawUnicodeEscape([]byte(`\uZZZZ`))))
}

func TestClassifyGlobal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		module, name string
		want         Severity
	}{
		{"os", "system", Error}, {"os.path", "join", Error}, {"posix", "execv", Error},
		{"subprocess", "check_output", Error}, {"pty", "spawn", Error}, {"commands", "getoutput", Error},
		{"builtins", "compile", Error}, {"__builtin__", "eval", Error}, {"builtins", "globals", Error},
		{"builtins", "breakpoint", Error}, {"importlib", "import_module", Error}, {"imp", "load_source", Error},
		{"runpy", "_run_code", Error}, {"pkgutil", "resolve_name", Error}, {"types", "CodeType", Error},
		{"marshal", "loads", Error}, {"_pickle", "loads", Error}, {"dill", "loads", Error},
		{"ctypes", "CDLL", Error}, {"code", "InteractiveInterpreter", Error}, {"socket", "socket", Error},
		{"http.client", "HTTPSConnection", Error}, {"urllib.request", "urlopen", Error},
		{"requests", "get", Error}, {"ftplib", "FTP", Error}, {"smtplib", "SMTP", Error},
		{"webbrowser", "open", Error}, {"pip", "main", Error}, {"setuptools", "setup", Error},
		{"ensurepip", "bootstrap", Error}, {"distutils.core", "run_setup", Error}, {"shutil", "rmtree", Error},
		{"operator", "methodcaller", Error}, {"torch.storage", "_load_from_bytes", Error},
		{"torch", "load", Error}, {"numpy", "load", Error}, {"torch", "_utils.os.system", Error},
		{"builtins", "set", Info}, {"__builtin__", "frozenset", Info}, {"builtins", "slice", Info},
		{"builtins", "complex", Info}, {"builtins", "bytearray", Info}, {"collections", "OrderedDict", Info},
		{"torch", "FloatStorage", Info}, {"torch", "bfloat16", Info}, {"numpy.core.multiarray", "_reconstruct", Info},
		{"numpy._core.multiarray", "_reconstruct", Info}, {"numpy", "dtype", Info}, {"_codecs", "encode", Info},
		{"copyreg", "_reconstructor", Info}, {"datetime", "datetime", Info},
		{"joblib.numpy_pickle", "NumpyArrayWrapper", Info}, {"sklearn.tree._classes", "DecisionTreeClassifier", Info},
		{"sklearn.tree._classes", "Unlisted", Warning}, {"numpy._core.records", "fromarrays", Warning},
		{"builtins", "print", Warning}, {"functools", "partial", Warning}, {"torch.nn.modules.linear", "Linear", Warning},
		{"collections", "deque.__init__", Error}, {"collections", "abc.Mapping", Warning},
	}
	for _, tc := range cases {
		got, reason := classifyGlobal(tc.module, tc.name)
		assert.Equal(t, tc.want, got, "%s.%s: %s", tc.module, tc.name, reason)
	}
}

func TestLooksLikePickle(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"\x80\x02N.":                true,
		"\x80\x09N.":                true,
		"(lp0\nI1\na.":              true,
		"Some text file\n":          false,
		"cos\nsystem\nNOT A PICKLE": true,
		"":                          false,
		"]q\x00(K\x01K\x02e.":       true,
		"no opcode here":            false,
	}
	for text, want := range cases {
		data := []byte(text)
		head := data[:min(16, len(data))]
		assert.Equal(t, want, looksLikePickle(head, bytes.NewReader(data)), "%q", text)
	}
}
