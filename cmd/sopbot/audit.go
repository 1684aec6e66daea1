package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot/store"
)

func newAuditCommand() *cobra.Command {
	var database string
	cmd := &cobra.Command{Use: "audit", Short: "Export and verify the audit trail"}
	cmd.PersistentFlags().StringVar(&database, "database", "sopbot.db", "path of the SQLite database")

	var request, expectHead string
	var format string
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the audit trail as CSV or JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "csv" && format != "json" {
				return fmt.Errorf("invalid --format %q: use csv or json", format)
			}
			db, err := store.OpenExisting(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			id, err := parseRequestID(request)
			if err != nil {
				return err
			}
			entries, err := db.Audit(cmd.Context(), id)
			if err != nil {
				return err
			}
			if id != 0 && len(entries) == 0 {
				return fmt.Errorf("request R-%d has no audit rows in %s", id, database)
			}
			if format == "json" {
				return writeAuditJSON(cmd.OutOrStdout(), entries)
			}
			return writeAuditCSV(cmd.OutOrStdout(), entries)
		},
	}
	export.Flags().StringVar(&request, "request", "", "only the rows of this request, as R-7 or 7")
	export.Flags().StringVar(&format, "format", "csv", "output format: csv or json")

	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the audit trail's hash chain and report the first altered row",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := store.OpenExisting(cmd.Context(), database)
			if err != nil {
				return err
			}
			defer db.Close()
			n, head, err := db.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if expectHead != "" {
				if len(expectHead) < 12 {
					return fmt.Errorf("--expect-head %q is too short: give at least 12 characters of the hash an earlier verify printed", expectHead)
				}
				// The bot appends rows after every verify, so the head an
				// earlier run printed must still be in the chain, at or
				// before today's head; only its absence means rows were
				// removed.
				if _, err := db.AuditRowByHash(cmd.Context(), expectHead); errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("the chain is intact up to row %d, but no row has the hash %s that an earlier verify printed: the rows from that one on were removed, or the hash is mistyped", head.ID, expectHead)
				} else if err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d row(s); head row %d, hash %s\n", n, head.ID, head.Hash)
			fmt.Fprintln(cmd.OutOrStdout(), "Keep the head hash elsewhere and pass it as --expect-head next time: removing the newest rows leaves a valid chain.")
			return nil
		},
	}
	verify.Flags().StringVar(&expectHead, "expect-head", "", "head hash printed by an earlier verify (at least 12 characters); that row must still be in the chain")
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
	PrevHash   string    `json:"prev_hash"`
	Hash       string    `json:"hash"`
}

func writeAuditJSON(w io.Writer, entries []store.AuditEntry) error {
	rows := make([]auditRow, 0, len(entries))
	for _, e := range entries {
		rows = append(rows, auditRow{e.ID, e.RequestID, e.At, e.Actor, e.Action, e.Detail, e.DeliveryID, e.PrevHash, e.Hash})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

func writeAuditCSV(w io.Writer, entries []store.AuditEntry) error {
	out := csv.NewWriter(w)
	_ = out.Write([]string{"id", "request_id", "at", "actor", "action", "detail", "delivery_id", "prev_hash", "hash"})
	for _, e := range entries {
		_ = out.Write([]string{strconv.FormatInt(e.ID, 10), strconv.FormatInt(e.RequestID, 10),
			e.At.Format(time.RFC3339Nano), e.Actor, e.Action, e.Detail, e.DeliveryID, e.PrevHash, e.Hash})
	}
	out.Flush()
	return out.Error()
}

// parseRequestID accepts a request id as "R-7" or "7"; empty means all.
func parseRequestID(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimPrefix(s, "R-"), "r-"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("invalid --request %q: use a request id such as R-7", s)
	}
	return id, nil
}
