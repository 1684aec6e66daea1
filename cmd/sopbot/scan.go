package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/evidence/scan"
)

// Exit codes of the scan command.
const (
	scanExitFindings = 1
	scanExitFailed   = 2
)

func newScanCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Scan model artifacts for pickle exploits and embedded secrets",
		Long: "Scan model artifacts (pickle, joblib, PyTorch zip and legacy files) without loading them.\n" +
			"Directories are scanned recursively. The format is detected from each file's content.\n\n" +
			"Every finding is listed, including info findings for allowed globals, but info findings\n" +
			"never change the exit code. Secret findings name the kind and position, never the value.\n\n" +
			"Exit status: 0 when no file has a warning or error finding, 1 when one has,\n" +
			"2 when a path could not be read (the other paths are still scanned and listed).",
		Args: minimumArgs("PATH: give one or more artifact files or directories to scan"),
		RunE: func(cmd *cobra.Command, paths []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("invalid --format %q: use table or json", format)
			}
			return runScan(cmd.OutOrStdout(), cmd.ErrOrStderr(), paths, format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// scanOutput is the JSON document of one scan run. Both lists are
// encoded as [] when empty, never as null.
type scanOutput struct {
	Reports []*scan.Report `json:"reports"`
	Errors  []string       `json:"errors"`
}

func runScan(stdout, stderr io.Writer, paths []string, format string) error {
	files, walkErrors := collectFiles(paths)
	output := scanOutput{Reports: []*scan.Report{}, Errors: append([]string{}, walkErrors...)}
	for _, result := range scanFiles(files) {
		if result.err != nil {
			output.Errors = append(output.Errors, result.err.Error())
			continue
		}
		output.Reports = append(output.Reports, result.report)
	}
	if err := writeScanOutput(stdout, output, format); err != nil {
		return err
	}
	for _, message := range output.Errors {
		fmt.Fprintln(stderr, "sopbot scan:", message)
	}
	return scanExit(output)
}

func scanExit(output scanOutput) error {
	if len(output.Errors) > 0 {
		return exitError{code: scanExitFailed}
	}
	for _, report := range output.Reports {
		if report.Flagged() {
			return exitError{code: scanExitFindings}
		}
	}
	return nil
}

type scanResult struct {
	report *scan.Report
	err    error
}

// scanFiles scans the files on one worker per CPU and returns the results in
// the order of files.
func scanFiles(files []string) []scanResult {
	results := make([]scanResult, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(files))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				report, err := scan.File(files[i])
				results[i] = scanResult{report: report, err: err}
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// collectFiles expands directories into the regular files below them, in
// lexical order, and returns the paths that could not be read as messages.
func collectFiles(paths []string) ([]string, []string) {
	var files, failures []string
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
			if err != nil {
				failures = append(failures, fmt.Sprintf("reading %s: %v", path, err))
				return nil
			}
			if entry.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			failures = append(failures, fmt.Sprintf("reading %s: %v", root, err))
		}
	}
	sort.Strings(files)
	return files, failures
}

func writeScanOutput(w io.Writer, output scanOutput, format string) error {
	if format == "json" {
		encoder := json.NewEncoder(w)
		encoder.SetIndent("", "  ")
		if err := encoder.Encode(output); err != nil {
			return fmt.Errorf("writing scan output: %w", err)
		}
		return nil
	}
	return writeScanTable(w, output.Reports)
}

func writeScanTable(w io.Writer, reports []*scan.Report) error {
	table := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(table, "SEVERITY\tKIND\tTARGET\tFILE\tMEMBER\tOFFSET\tDETAIL")
	count := 0
	for _, report := range reports {
		for _, f := range report.Findings {
			count++
			fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Kind, dash(f.Target()),
				f.File, dash(f.Member), strconv.FormatInt(f.Offset, 10), f.Detail)
		}
	}
	if err := table.Flush(); err != nil {
		return fmt.Errorf("writing scan output: %w", err)
	}
	_, err := fmt.Fprintf(w, "%d file(s) scanned, %d finding(s)\n", len(reports), count)
	if err != nil {
		return errors.Join(fmt.Errorf("writing scan output: %w", err))
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
