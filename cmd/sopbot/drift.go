package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/evidence/drift"
)

// driftInputExitCode is the exit status for unreadable input, a missing
// column or invalid flags.
const driftInputExitCode = 2

func newDriftCommand() *cobra.Command {
	var reference, current, format string
	var columns []string
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Compute KS, PSI and KL drift between a reference and a current file",
		Long: "Compute per column the two-sample Kolmogorov-Smirnov test (as scipy.stats.ks_2samp),\n" +
			"the population stability index and the KL divergence over the reference deciles.\n" +
			"Files are CSV with a header row, or Parquet (by .parquet/.pq extension or PAR1 magic).\n" +
			"NaN and Inf values are dropped and counted. Exit status 2 means invalid input.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return driftInputError(cmd, fmt.Errorf("invalid --format %q: use table or json", format))
			}
			if err := checkDriftFiles(reference, current); err != nil {
				return driftInputError(cmd, err)
			}
			report, err := drift.CompareFiles(reference, current, columns)
			if err != nil {
				return driftInputError(cmd, err)
			}
			if format == "json" {
				return writeDriftJSON(cmd.OutOrStdout(), report)
			}
			return writeDriftTable(cmd.OutOrStdout(), report)
		},
	}
	cmd.Flags().StringVar(&reference, "reference", "", "path of the reference CSV or Parquet file")
	cmd.Flags().StringVar(&current, "current", "", "path of the current CSV or Parquet file")
	cmd.Flags().StringArrayVar(&columns, "column", nil, "column to compare (repeatable; default: every numeric column of the reference)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// checkDriftFiles names the file flags that are missing.
func checkDriftFiles(reference, current string) error {
	switch {
	case reference == "" && current == "":
		return fmt.Errorf("missing --reference and --current: give the reference and the current CSV or Parquet file")
	case reference == "":
		return fmt.Errorf("missing --reference: give the reference CSV or Parquet file that --current is compared with")
	case current == "":
		return fmt.Errorf("missing --current: give the current CSV or Parquet file to compare with --reference")
	}
	return nil
}

// driftInputError prints err and returns the input-error exit status, which
// main turns into the process exit code without printing again.
func driftInputError(cmd *cobra.Command, err error) error {
	fmt.Fprintln(cmd.ErrOrStderr(), "sopbot drift:", err)
	return exitError{code: driftInputExitCode}
}

func writeDriftJSON(w io.Writer, report drift.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(report)
}

func writeDriftTable(w io.Writer, report drift.Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "column\tn_ref\tn_cur\tnan_ref\tinf_ref\tnan_cur\tinf_cur\tD\tp_value\tmode\tPSI\tKL\t")
	for _, c := range report.Columns {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%.6g\t%.6g\t%s\t%.6g\t%.6g\t\n",
			c.Column, c.Reference.N, c.Current.N,
			c.Reference.DroppedNaN, c.Reference.DroppedInf, c.Current.DroppedNaN, c.Current.DroppedInf,
			c.KS.D, c.KS.PValue, c.KS.Mode, c.PSI, c.KL)
	}
	return tw.Flush()
}
