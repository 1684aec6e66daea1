package drift

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// table holds the numeric columns read from one file, in file order.
type table struct {
	names   []string
	columns map[string][]float64
}

// csvColumn accumulates one CSV column and remembers its first cell that
// is not a number.
type csvColumn struct {
	name     string
	values   []float64
	badLine  int
	badValue string
}

// readCSV reads a CSV stream with a header row. With columns nil it keeps
// every column whose cells all parse as numbers. Otherwise it keeps exactly
// the named columns and rejects a missing column or a non-numeric cell.
// Empty cells and NaN spellings count as NaN. name is used in errors.
func readCSV(r io.Reader, name string, columns []string) (*table, error) {
	reader := csv.NewReader(r)
	reader.ReuseRecord = true
	header, err := reader.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: empty CSV file: the first row must name the columns", name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: reading CSV header: %w", name, err)
	}
	all := make([]*csvColumn, len(header))
	for i, h := range header {
		all[i] = &csvColumn{name: strings.TrimSpace(h)}
	}
	if err := readCSVRows(reader, all); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return selectCSVColumns(all, name, columns)
}

func readCSVRows(reader *csv.Reader, all []*csvColumn) error {
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading CSV: %w", err)
		}
		line, _ := reader.FieldPos(0)
		for i, col := range all {
			cell := ""
			if i < len(record) {
				cell = record[i]
			}
			v, ok := parseCell(cell)
			if !ok && col.badLine == 0 {
				col.badLine, col.badValue = line, cell
			}
			col.values = append(col.values, v)
		}
	}
}

// parseCell parses one cell. An empty cell is NaN.
func parseCell(cell string) (float64, bool) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
			// Out-of-range numbers parse to ±Inf or 0, as numpy reads them.
			return v, true
		}
		return math.NaN(), false
	}
	return v, true
}

func selectCSVColumns(all []*csvColumn, name string, columns []string) (*table, error) {
	byName := make(map[string]*csvColumn, len(all))
	for _, col := range all {
		if _, dup := byName[col.name]; !dup {
			byName[col.name] = col
		}
	}
	t := &table{columns: make(map[string][]float64)}
	if columns == nil {
		for _, col := range all {
			if _, seen := t.columns[col.name]; col.badLine == 0 && !seen {
				t.names = append(t.names, col.name)
				t.columns[col.name] = col.values
			}
		}
		return t, nil
	}
	for _, c := range columns {
		col, ok := byName[c]
		if !ok {
			return nil, fmt.Errorf("%s: column %q not found: the header has %s", name, c, quoteList(all))
		}
		if col.badLine != 0 {
			return nil, fmt.Errorf("%s: line %d, column %q: invalid number %q: use a decimal number, or leave the cell empty or NaN for a missing value",
				name, col.badLine, c, col.badValue)
		}
		t.names = append(t.names, c)
		t.columns[c] = col.values
	}
	return t, nil
}

func quoteList(all []*csvColumn) string {
	names := make([]string, len(all))
	for i, col := range all {
		names[i] = strconv.Quote(col.name)
	}
	return strings.Join(names, ", ")
}
