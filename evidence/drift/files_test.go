package drift

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type expectedColumn struct {
	expectedResult
	Column       string `json:"column"`
	ReferenceNaN int    `json:"reference_nan"`
	ReferenceInf int    `json:"reference_inf"`
	CurrentNaN   int    `json:"current_nan"`
	CurrentInf   int    `json:"current_inf"`
	NReference   int    `json:"n_reference"`
	NCurrent     int    `json:"n_current"`
}

func loadExpectedColumns(t *testing.T) []expectedColumn {
	t.Helper()
	var file struct {
		Columns []expectedColumn `json:"columns"`
	}
	loadJSON(t, "expected_files.json", &file)
	require.NotEmpty(t, file.Columns)
	return file.Columns
}

func assertColumnMatches(t *testing.T, want expectedColumn, got ColumnResult) {
	t.Helper()
	assert.Equal(t, want.Column, got.Column, "column")
	assert.Equal(t, want.NReference, got.Reference.N, "n_ref")
	assert.Equal(t, want.NCurrent, got.Current.N, "n_cur")
	assert.Equal(t, want.ReferenceNaN, got.Reference.DroppedNaN, "reference NaN")
	assert.Equal(t, want.ReferenceInf, got.Reference.DroppedInf, "reference Inf")
	assert.Equal(t, want.CurrentNaN, got.Current.DroppedNaN, "current NaN")
	assert.Equal(t, want.CurrentInf, got.Current.DroppedInf, "current Inf")
	assert.Equal(t, want.D, got.KS.D, "D")
	assert.Equal(t, want.Mode, got.KS.Mode, "mode")
	assertClose(t, want.PValue, got.KS.PValue, exactRelTol, "p-value")
	assertClose(t, want.PSI, got.PSI, exactRelTol, "PSI")
	assertClose(t, want.KL, got.KL, exactRelTol, "KL")
	assert.Equal(t, want.Edges, got.Edges, "edges")
}

func TestCompareFilesCSVDefaultColumns(t *testing.T) {
	want := loadExpectedColumns(t)
	report, err := CompareFiles(filepath.Join(testdataDir, "reference.csv"), filepath.Join(testdataDir, "current.csv"), nil)
	require.NoError(t, err)
	require.Len(t, report.Columns, len(want), "the non-numeric model column is skipped")
	for i := range want {
		assertColumnMatches(t, want[i], report.Columns[i])
	}
}

func TestCompareFilesCSVChosenColumn(t *testing.T) {
	want := loadExpectedColumns(t)
	report, err := CompareFiles(filepath.Join(testdataDir, "reference.csv"), filepath.Join(testdataDir, "current.csv"), []string{"tokens"})
	require.NoError(t, err)
	require.Len(t, report.Columns, 1)
	assertColumnMatches(t, want[1], report.Columns[0])
}

// writeParquetFromCSV converts a testdata CSV to Parquet with a double
// latency column (NaN kept as NaN) and an int64 tokens column.
func writeParquetFromCSV(t *testing.T, csvName, path string) {
	t.Helper()
	f, err := os.Open(filepath.Join(testdataDir, csvName))
	require.NoError(t, err)
	defer f.Close()
	tbl, err := readCSV(f, csvName, []string{"latency_ms", "tokens"})
	require.NoError(t, err)

	type row struct {
		LatencyMS float64 `parquet:"latency_ms"`
		Tokens    int64   `parquet:"tokens"`
	}
	rows := make([]row, len(tbl.columns["tokens"]))
	for i := range rows {
		rows[i] = row{LatencyMS: tbl.columns["latency_ms"][i], Tokens: int64(tbl.columns["tokens"][i])}
	}
	require.NoError(t, parquet.WriteFile(path, rows))
}

func TestCompareFilesParquetMatchesCSV(t *testing.T) {
	want := loadExpectedColumns(t)
	dir := t.TempDir()
	refPath := filepath.Join(dir, "reference.parquet")
	// No extension: the format must come from the PAR1 magic bytes.
	curPath := filepath.Join(dir, "current-snapshot")
	writeParquetFromCSV(t, "reference.csv", refPath)
	writeParquetFromCSV(t, "current.csv", curPath)

	report, err := CompareFiles(refPath, curPath, nil)
	require.NoError(t, err)
	require.Len(t, report.Columns, len(want))
	for i := range want {
		assertColumnMatches(t, want[i], report.Columns[i])
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestCompareFilesErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "a,b\n1,2\n3,4\n")
	tests := []struct {
		name     string
		ref, cur string
		columns  []string
		contains []string
	}{
		{"missing file", filepath.Join(dir, "absent.csv"), good, nil, []string{"reading the reference data", "absent.csv", "no such file"}},
		{"missing column in reference", good, good, []string{"c"}, []string{"good.csv", `column "c" not found`}},
		{"missing column in current", good, writeFile(t, dir, "onlya.csv", "a\n1\n"), nil, []string{"onlya.csv", `column "b" not found`}},
		{"non-numeric cell", writeFile(t, dir, "bad.csv", "a,b\n1,2\n3,x7\n"), good, []string{"b"},
			[]string{"bad.csv", "line 3", `column "b"`, `"x7"`}},
		{"empty column in current", good, writeFile(t, dir, "nan.csv", "a,b\n1,NaN\n2,\n3,inf\n"), nil,
			[]string{"nan.csv", `column "b"`, "2 NaN and 1 Inf"}},
		{"no numeric columns", writeFile(t, dir, "text.csv", "name\nx\n"), good, nil, []string{"text.csv", "no numeric columns"}},
		{"empty file", writeFile(t, dir, "empty.csv", ""), good, nil, []string{"empty.csv", "empty CSV file"}},
		{"invalid parquet", writeFile(t, dir, "broken.parquet", "PAR1 not really"), good, nil, []string{"broken.parquet", "invalid Parquet file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CompareFiles(tc.ref, tc.cur, tc.columns)
			require.Error(t, err)
			for _, part := range tc.contains {
				assert.Contains(t, err.Error(), part)
			}
		})
	}
}

func TestCompareEmptySampleError(t *testing.T) {
	_, err := Compare([]float64{math.NaN(), math.Inf(1)}, []float64{1})
	require.ErrorIs(t, err, ErrEmptySample)
	var empty *EmptySampleError
	require.ErrorAs(t, err, &empty)
	assert.Equal(t, "reference", empty.Sample)
	assert.Equal(t, 1, empty.DroppedNaN)
	assert.Equal(t, 1, empty.DroppedInf)
}

func TestCompareDropsNonFinite(t *testing.T) {
	ref := []float64{1, math.NaN(), 2, math.Inf(-1), 3}
	cur := []float64{math.Inf(1), 1, 2, 3, math.NaN(), math.NaN()}
	got, err := Compare(ref, cur)
	require.NoError(t, err)
	assert.Equal(t, SampleSummary{N: 3, DroppedNaN: 1, DroppedInf: 1}, got.Reference)
	assert.Equal(t, SampleSummary{N: 3, DroppedNaN: 2, DroppedInf: 1}, got.Current)
	assert.Equal(t, 0.0, got.KS.D)
	assert.Equal(t, 1.0, got.KS.PValue)
	assert.Equal(t, 0.0, got.PSI)
	assert.True(t, math.IsNaN(ref[1]), "input slice is not modified")
}

func TestMermaidChart(t *testing.T) {
	got, err := Compare([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, []float64{5, 6, 7, 8, 9, 10, 11, 12})
	require.NoError(t, err)
	got.Column = "lat\"ency`<b>\n]"
	chart := got.MermaidChart()
	assert.True(t, strings.HasPrefix(chart, "```mermaid\nxychart-beta\n"), chart)
	assert.Contains(t, chart, `title "lat_ency__b___: reference (bars) vs current (line)"`)
	assert.Contains(t, chart, `x-axis ["(-∞, 1.9]", "(1.9, 2.8]"`)
	assert.Contains(t, chart, `"(9.1, ∞)"]`)
	assert.Contains(t, chart, "bar [10.00, 10.00,")
	assert.Contains(t, chart, "line [0.00, 0.00,")
	assert.Contains(t, chart, `y-axis "share of sample (%)" 0 --> 40`)
	assert.True(t, strings.HasSuffix(chart, "```\n"))
	assert.NotContains(t, chart, "<b>")
}

func TestBinJSONRoundTrip(t *testing.T) {
	in := Bin{Lower: math.Inf(-1), Upper: 2.5, ReferenceCount: 3, CurrentCount: 4, ReferenceProportion: 0.3, CurrentProportion: 0.4}
	data, err := in.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"lower":null,"upper":2.5,"reference_count":3,"current_count":4,"reference_proportion":0.3,"current_proportion":0.4}`, string(data))
	var out Bin
	require.NoError(t, out.UnmarshalJSON(data))
	assert.Equal(t, in, out)
}
