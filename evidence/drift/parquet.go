package drift

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/parquet-go/parquet-go"
)

// readParquet reads float, double, int32 and int64 columns of a Parquet
// file. With columns nil it keeps every top-level column of those types;
// otherwise it rejects a missing column or one of another type. Null values
// count as NaN.
func readParquet(path string, columns []string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: invalid Parquet file: %w", path, err)
	}
	names, err := parquetColumnNames(pf, path, columns)
	if err != nil {
		return nil, err
	}
	t := &table{names: names, columns: make(map[string][]float64, len(names))}
	for _, name := range names {
		leaf, _ := pf.Schema().Lookup(name)
		values, err := readParquetColumn(pf, leaf.ColumnIndex)
		if err != nil {
			return nil, fmt.Errorf("%s: reading column %q: %w", path, name, err)
		}
		t.columns[name] = values
	}
	return t, nil
}

func parquetColumnNames(pf *parquet.File, path string, columns []string) ([]string, error) {
	if columns == nil {
		var names []string
		for _, field := range pf.Schema().Fields() {
			if field.Leaf() && !field.Repeated() && numericKind(field.Type().Kind()) {
				names = append(names, field.Name())
			}
		}
		return names, nil
	}
	for _, name := range columns {
		leaf, ok := pf.Schema().Lookup(name)
		if !ok {
			return nil, fmt.Errorf("%s: column %q not found in the Parquet schema", path, name)
		}
		if leaf.MaxRepetitionLevel > 0 || !numericKind(leaf.Node.Type().Kind()) {
			return nil, fmt.Errorf("%s: column %q has type %s: only non-repeated float, double, int32 and int64 columns are supported",
				path, name, leaf.Node.Type())
		}
	}
	return columns, nil
}

func numericKind(kind parquet.Kind) bool {
	switch kind {
	case parquet.Float, parquet.Double, parquet.Int32, parquet.Int64:
		return true
	}
	return false
}

func readParquetColumn(pf *parquet.File, columnIndex int) ([]float64, error) {
	var out []float64
	buf := make([]parquet.Value, 4096)
	for _, rg := range pf.RowGroups() {
		pages := rg.ColumnChunks()[columnIndex].Pages()
		err := readPages(pages, buf, &out)
		closeErr := pages.Close()
		if err != nil {
			return nil, err
		}
		if closeErr != nil {
			return nil, closeErr
		}
	}
	return out, nil
}

func readPages(pages parquet.Pages, buf []parquet.Value, out *[]float64) error {
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = readPageValues(page.Values(), buf, out)
		parquet.Release(page)
		if err != nil {
			return err
		}
	}
}

func readPageValues(reader parquet.ValueReader, buf []parquet.Value, out *[]float64) error {
	for {
		n, err := reader.ReadValues(buf)
		for _, v := range buf[:n] {
			*out = append(*out, parquetFloat(v))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func parquetFloat(v parquet.Value) float64 {
	if v.IsNull() {
		return math.NaN()
	}
	switch v.Kind() {
	case parquet.Float:
		return float64(v.Float())
	case parquet.Double:
		return v.Double()
	case parquet.Int32:
		return float64(v.Int32())
	case parquet.Int64:
		return float64(v.Int64())
	}
	return math.NaN()
}
