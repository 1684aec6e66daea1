package scan

import (
	"compress/zlib"
	"io"
	"math"
)

func zlibWriter(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }

func float32Bits(v float64) uint32 { return math.Float32bits(float32(v)) }
