package scan

import "strings"

// dangerousModules lists modules whose every global is dangerous to load:
// each can run commands, load code, reach the network, install packages or
// change files. A module also matches its submodules ("os" matches "os.path").
var dangerousModules = map[string]string{
	"os": "process execution and file access", "posix": "process execution", "nt": "process execution",
	"subprocess": "process execution", "_posixsubprocess": "process execution", "pty": "process execution",
	"commands": "process execution", "popen2": "process execution", "multiprocessing": "process execution",
	"asyncio": "process execution", "signal": "process control", "sys": "interpreter state access",
	"importlib": "import machinery", "imp": "import machinery", "runpy": "runs modules as code",
	"pkgutil": "import machinery", "zipimport": "import machinery", "ctypes": "native code execution",
	"_ctypes": "native code execution", "cffi": "native code execution", "code": "runs code",
	"codeop": "compiles code", "marshal": "loads code objects", "pickle": "nested unpickling",
	"_pickle": "nested unpickling", "cPickle": "nested unpickling", "dill": "nested unpickling",
	"cloudpickle": "nested unpickling", "shelve": "nested unpickling", "pdb": "runs code", "bdb": "runs code",
	"timeit": "runs code strings", "cProfile": "runs code strings", "profile": "runs code strings",
	"trace": "runs code", "pydoc": "imports by name", "socket": "network access", "_socket": "network access",
	"ssl": "network access", "http": "network access", "httplib": "network access", "urllib": "network access",
	"urllib2": "network access", "urllib3": "network access", "requests": "network access",
	"httpx": "network access", "aiohttp": "network access", "ftplib": "network access",
	"smtplib": "network access", "poplib": "network access", "imaplib": "network access",
	"telnetlib": "network access", "xmlrpc": "network access", "webbrowser": "opens URLs",
	"pip": "package installation", "setuptools": "package installation", "ensurepip": "package installation",
	"distutils": "package installation", "pkg_resources": "package installation", "venv": "package installation",
	"shutil": "file removal and copying", "tempfile": "file creation", "fileinput": "file access",
}

// dangerousGlobals lists single globals that are dangerous although their
// module is not.
var dangerousGlobals = map[string]string{
	"types.FunctionType": "builds functions from code objects", "types.CodeType": "builds code objects",
	"types.LambdaType": "builds functions from code objects", "types.MethodType": "binds arbitrary callables",
	"operator.attrgetter": "attribute access chains", "operator.methodcaller": "calls arbitrary methods",
	"operator.itemgetter": "item access on modules and dicts", "operator.getitem": "item access on modules and dicts",
	"_operator.attrgetter": "attribute access chains", "_operator.methodcaller": "calls arbitrary methods",
	"_operator.itemgetter": "item access on modules and dicts",
	"io.open":              "file access", "io.FileIO": "file access", "_io.open": "file access", "_io.FileIO": "file access",
	"numpy.load": "nested unpickling", "numpy.testing._private.utils.runstring": "runs code strings",
	"pandas.read_pickle": "nested unpickling", "joblib.load": "nested unpickling",
	"torch.load": "nested unpickling", "torch.serialization.load": "nested unpickling",
	"torch.jit.load": "loads TorchScript code", "torch.hub.load": "downloads and runs code",
	// torch.storage._load_from_bytes calls torch.load(io.BytesIO(b), weights_only=False) on bytes
	// embedded in the pickle (torch/storage.py, PyTorch 2.x), an unrestricted nested unpickling of
	// content this scanner does not decode.
	"torch.storage._load_from_bytes": "nested torch.load of embedded bytes",
}

// cautionGlobals are unknown globals with a known reason for caution. The
// callable they wrap is imported by its own opcode and classified there.
var cautionGlobals = map[string]string{
	"functools.partial": "wraps any callable; the wrapped target is reported where it is imported",
	"functools.reduce":  "calls any callable repeatedly",
	"builtins.type":     "creates classes at load time",
}

// dangerousBuiltins lists builtins that evaluate code, import modules, reach
// files or walk attributes. Other builtins not in allowedGlobals are unknown.
var dangerousBuiltins = map[string]bool{
	"eval": true, "exec": true, "execfile": true, "compile": true, "open": true, "file": true,
	"__import__": true, "getattr": true, "setattr": true, "delattr": true, "globals": true,
	"locals": true, "vars": true, "breakpoint": true, "input": true, "raw_input": true,
	"exit": true, "quit": true, "help": true, "reload": true, "__loader__": true, "__builtins__": true,
}

// builtinModules are the names under which the builtins can be imported.
var builtinModules = map[string]bool{"builtins": true, "__builtin__": true, "__builtins__": true}

// allowedGlobals lists the globals that plain PyTorch, numpy, scikit-learn and
// joblib artifacts import and that only construct data. The list is exact:
// a module prefix is never enough, because any module can hold a gadget.
var allowedGlobals = map[string]bool{
	"collections.OrderedDict": true, "collections.defaultdict": true, "collections.Counter": true,
	"collections.deque": true, "copyreg._reconstructor": true, "copy_reg._reconstructor": true,
	"copyreg.__newobj__": true, "_codecs.encode": true,
	"datetime.datetime": true, "datetime.date": true, "datetime.time": true, "datetime.timedelta": true,
	"datetime.timezone": true, "decimal.Decimal": true, "fractions.Fraction": true, "uuid.UUID": true,

	"torch._utils._rebuild_tensor": true, "torch._utils._rebuild_tensor_v2": true,
	"torch._utils._rebuild_tensor_v3": true, "torch._utils._rebuild_parameter": true,
	"torch._utils._rebuild_parameter_with_state": true, "torch._utils._rebuild_qtensor": true,
	"torch._utils._rebuild_sparse_tensor": true, "torch._utils._rebuild_device_tensor_from_numpy": true,
	"torch._tensor._rebuild_from_type_v2": true, "torch.nn.parameter.Parameter": true,
	"torch.Size": true, "torch.device": true, "torch.strided": true, "torch.sparse_coo": true,
	"torch.contiguous_format": true, "torch.channels_last": true, "torch.preserve_format": true,
	"torch.storage.UntypedStorage": true, "torch.storage.TypedStorage": true,
	"torch.serialization._get_layout": true,

	"numpy.core.multiarray._reconstruct": true, "numpy._core.multiarray._reconstruct": true,
	"numpy.core.multiarray.scalar": true, "numpy._core.multiarray.scalar": true,
	"numpy.core.numeric._frombuffer": true, "numpy._core.numeric._frombuffer": true,
	"numpy.dtype": true, "numpy.ndarray": true,
	"numpy.random._pickle.__randomstate_ctor": true, "numpy.random._pickle.__bit_generator_ctor": true,
	"numpy.random._pickle.__generator_ctor": true, "numpy.random.mtrand.RandomState": true,
	"numpy.random._mt19937.MT19937": true, "numpy.random._pcg64.PCG64": true,

	"joblib.numpy_pickle.NumpyArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper": true,

	"sklearn.linear_model._base.LinearRegression":            true,
	"sklearn.linear_model._logistic.LogisticRegression":      true,
	"sklearn.linear_model._ridge.Ridge":                      true,
	"sklearn.tree._classes.DecisionTreeClassifier":           true,
	"sklearn.tree._classes.DecisionTreeRegressor":            true,
	"sklearn.tree._tree.Tree":                                true,
	"sklearn.ensemble._forest.RandomForestClassifier":        true,
	"sklearn.ensemble._forest.RandomForestRegressor":         true,
	"sklearn.ensemble._gb.GradientBoostingClassifier":        true,
	"sklearn.ensemble._gb.GradientBoostingRegressor":         true,
	"sklearn.preprocessing._data.StandardScaler":             true,
	"sklearn.preprocessing._data.MinMaxScaler":               true,
	"sklearn.preprocessing._label.LabelEncoder":              true,
	"sklearn.preprocessing._encoders.OneHotEncoder":          true,
	"sklearn.decomposition._pca.PCA":                         true,
	"sklearn.cluster._kmeans.KMeans":                         true,
	"sklearn.svm._classes.SVC":                               true,
	"sklearn.neighbors._classification.KNeighborsClassifier": true,
	"sklearn.pipeline.Pipeline":                              true,
}

// allowedTorchAttributes are torch attributes that are dtypes or storage
// classes, such as torch.float32 and torch.FloatStorage.
var allowedTorchAttributes = map[string]bool{
	"FloatStorage": true, "DoubleStorage": true, "HalfStorage": true, "BFloat16Storage": true,
	"LongStorage": true, "IntStorage": true, "ShortStorage": true, "CharStorage": true,
	"ByteStorage": true, "BoolStorage": true, "ComplexFloatStorage": true, "ComplexDoubleStorage": true,
	"QInt8Storage": true, "QUInt8Storage": true, "QInt32Storage": true,
	"float32": true, "float": true, "float64": true, "double": true, "float16": true, "half": true,
	"bfloat16": true, "int64": true, "long": true, "int32": true, "int": true, "int16": true,
	"short": true, "int8": true, "uint8": true, "bool": true, "complex64": true, "complex128": true,
}

// allowedBuiltins are builtins that only construct plain data.
var allowedBuiltins = map[string]bool{
	"set": true, "frozenset": true, "slice": true, "complex": true, "bytearray": true, "bytes": true,
	"int": true, "float": true, "bool": true, "str": true, "list": true, "dict": true, "tuple": true,
	"range": true, "object": true, "unicode": true, "long": true,
}

// dangerousSegments are attribute names that make a dotted global name, which
// protocol 4 resolves attribute by attribute, reach dangerous objects.
var dangerousSegments = map[string]bool{
	"os": true, "sys": true, "subprocess": true, "builtins": true, "__builtins__": true,
	"__builtin__": true, "posix": true, "nt": true, "importlib": true, "eval": true, "exec": true,
	"system": true, "popen": true, "__import__": true, "getattr": true, "ctypes": true, "socket": true,
	"shutil": true, "runpy": true, "pty": true, "marshal": true, "pickle": true, "code": true,
	"__globals__": true, "__class__": true, "__subclasses__": true, "__dict__": true,
	"__getattribute__": true, "__code__": true, "__reduce__": true, "__reduce_ex__": true,
	"__init__": true, "__base__": true, "__bases__": true, "__mro__": true, "modules": true,
}

// classifyGlobal returns the severity of importing module.name and the reason.
func classifyGlobal(module, name string) (Severity, string) {
	full := module + "." + name
	if strings.Contains(name, ".") {
		for _, segment := range strings.Split(full, ".") {
			if dangerousSegments[segment] {
				return Error, "dotted name walks attributes to " + segment
			}
		}
	}
	if reason, ok := cautionGlobals[full]; ok {
		return Warning, reason
	}
	if builtinModules[module] {
		return classifyBuiltin(name)
	}
	if reason, ok := dangerousGlobals[full]; ok {
		return Error, reason
	}
	for prefix := module; prefix != ""; prefix = parentModule(prefix) {
		if reason, ok := dangerousModules[prefix]; ok {
			return Error, reason
		}
	}
	if allowedGlobals[full] || (module == "torch" && allowedTorchAttributes[name]) {
		return Info, "allowed global"
	}
	if strings.Contains(name, ".") {
		return Warning, "unknown global with a dotted name, resolved attribute by attribute"
	}
	return Warning, "unknown global"
}

func classifyBuiltin(name string) (Severity, string) {
	switch {
	case dangerousBuiltins[name]:
		return Error, "builtin that runs code, imports modules or walks attributes"
	case allowedBuiltins[name]:
		return Info, "allowed builtin"
	}
	return Warning, "unknown builtin"
}

func parentModule(module string) string {
	if i := strings.LastIndexByte(module, '.'); i >= 0 {
		return module[:i]
	}
	return ""
}
