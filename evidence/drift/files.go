package drift

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Report is the drift of every compared column between two files.
type Report struct {
	// Reference is the path of the reference file.
	Reference string `json:"reference"`
	// Current is the path of the current file.
	Current string `json:"current"`
	// Columns holds one result per column, in the order compared.
	Columns []ColumnResult `json:"columns"`
}

// parquetMagic starts and ends every Parquet file.
var parquetMagic = []byte("PAR1")

// CompareFiles compares the named columns of two CSV or Parquet files. With
// columns empty it compares every numeric column of the reference file, all
// of which must then exist in the current file. A file is Parquet when its
// name ends in .parquet or .pq, or when it starts with "PAR1". Any other file
// is read as CSV with a header row. Every error it returns concerns the
// input: an unreadable file, a missing column, an invalid cell or a column
// with no finite values.
func CompareFiles(refPath, curPath string, columns []string) (Report, error) {
	if len(columns) == 0 {
		columns = nil
	}
	ref, err := readTable(refPath, columns)
	if err != nil {
		return Report{}, fmt.Errorf("reading the reference data: %w", err)
	}
	if len(ref.names) == 0 {
		return Report{}, fmt.Errorf("%s: no numeric columns found: name one with --column", refPath)
	}
	cur, err := readTable(curPath, ref.names)
	if err != nil {
		return Report{}, fmt.Errorf("reading the current data: %w", err)
	}
	report := Report{Reference: refPath, Current: curPath}
	for _, name := range ref.names {
		result, err := Compare(ref.columns[name], cur.columns[name])
		if err != nil {
			return Report{}, emptyColumnError(err, name, refPath, curPath)
		}
		result.Column = name
		report.Columns = append(report.Columns, result)
	}
	return report, nil
}

func emptyColumnError(err error, column, refPath, curPath string) error {
	var empty *EmptySampleError
	if !errors.As(err, &empty) {
		return fmt.Errorf("column %q: %w", column, err)
	}
	path := curPath
	if empty.Sample == "reference" {
		path = refPath
	}
	return fmt.Errorf("%s: column %q is empty after dropping %d NaN and %d Inf values: %w",
		path, column, empty.DroppedNaN, empty.DroppedInf, ErrEmptySample)
}

func readTable(path string, columns []string) (*table, error) {
	isParquet, err := detectParquet(path)
	if err != nil {
		return nil, err
	}
	if isParquet {
		return readParquet(path, columns)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCSV(f, path, columns)
}

// detectParquet decides the format by extension first and by the magic
// bytes otherwise.
func detectParquet(path string) (bool, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet", ".pq":
		return true, nil
	case ".csv":
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(parquetMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		return false, nil
	}
	return bytes.Equal(head, parquetMagic), nil
}
