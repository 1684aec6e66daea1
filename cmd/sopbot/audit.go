package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot/store"
)

func newAuditCommand() *cobra.Command {
	var database string
	cmd := &cobra.Command{Use: "audit", Short: "Export and verify the audit trail"}
	cmd.PersistentFlags().StringVar(&database, "database", "sopbot.db", "path of the SQLite database")

	var requestID int64
	var format string
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the audit trail as CSV or JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return fmt.Errorf("invalid --format %q: use csv or json", format)
			}
			db, err := store.Open(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			entries, err := db.Audit(cmd.Context(), requestID)
			if err != nil {
				return err
			}
			if format == "json" {
				return writeAuditJSON(cmd.OutOrStdout(), entries)
			}
			return writeAuditCSV(cmd.OutOrStdout(), entries)
		},
	}
	export.Flags().Int64Var(&requestID, "request", 0, "only the rows of this request id")
	export.Flags().StringVar(&format, "format", "csv", "output format: csv or json")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit trail's hash chain and report the first altered row",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := store.Open(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := db.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d row(s)\n", n)
			return nil
		},
	}
	cmd.AddCommand(export, verify)
	return cmd
}

type auditRow struct {
	ID         int64     `json:"id"`
	RequestID  int64     `json:"request_id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	Detail     string    `json:"detail"`
	DeliveryID string    `json:"delivery_id"`
	Hash       string    `json:"hash"`
}

func writeAuditJSON(w io.Writer, entries []store.AuditEntry) error {
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, auditRow{e.ID, e.RequestID, e.At, e.Actor, e.Action, e.Detail, e.DeliveryID, e.Hash})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func writeAuditCSV(w io.Writer, entries []store.AuditEntry) error {
	out := csv.NewWriter(w)
	_ = out.Write([]string{"id", "request_id", "at", "actor", "action", "detail", "delivery_id", "hash"})
	for _, e := range entries {
		_ = out.Write([]string{strconv.FormatInt(e.ID, 10), strconv.FormatInt(e.RequestID, 10),
			e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Detail, e.DeliveryID, e.Hash})
	}
	out.Flush()
	return out.Error()
}
