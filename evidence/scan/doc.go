// Package scan inspects model artifacts for code that would run when they are
// loaded and for credentials stored inside them, without ever unpickling.
//
// The format is detected from the content, never from the file extension:
//
//   - a raw pickle (the usual .pkl, .pickle and .joblib files) is decoded opcode
//     by opcode. joblib array data that follows a NumpyArrayWrapper is skipped
//     by the exact byte count that the wrapper's state gives (shape times
//     itemsize, plus the alignment padding byte that joblib 1.2 and later
//     write). Bytes after the final STOP are reported as trailing data.
//   - a zlib, gzip or bzip2 stream (compressed joblib files) is inflated, within
//     the inflation limits, and its content is scanned like a file.
//   - a zip archive (PyTorch .pt, .pth and .bin files) has its local headers
//     checked against the central directory and every member's CRC-32
//     computed. Every .pkl member is decoded, and so is a stored member outside
//     the tensor storage folder whose content starts with PROTO 2 to 5.
//   - a legacy PyTorch file (a pickle of the magic number 0x1950a86a20f9469cfc6c,
//     then the protocol version, system info, main object and storage keys, then
//     raw storage bytes) has all five pickles decoded.
//   - anything else is scanned for secrets only.
//
// The pickle decoder keeps a symbolic stack and memo that are just deep enough to
// resolve the module and name of every GLOBAL, STACK_GLOBAL and INST opcode and
// the class that OBJ, NEWOBJ, REDUCE and BUILD act on. Each import becomes a
// [Finding] whose severity comes from explicit lists of dangerous and allowed
// globals: dangerous ones are errors, unknown ones warnings and allowed ones
// info. Corrupt or deceptive structure (truncated streams, unknown opcodes,
// stack underflow, mismatched zip headers, bad CRCs) is a warning finding, never
// a returned error. Errors are returned only when the artifact could not be read.
//
// Secret findings carry the kind and position of a credential, never its value.
package scan
