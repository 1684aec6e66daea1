package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
)

// secretColumns names the fields of the secrets list output. The table
// shows them upper-cased.
var secretColumns = []string{"namespace", "name", "kind", "current", "service", "deployment", "last_rotated", "due", "status", "last_request"}

// Rotation states of a secret in the secrets list output.
const (
	secretNeverRotated = "never-rotated"
	secretNoPeriod     = "no-period"
	secretOverdue      = "overdue"
	secretCurrent      = "ok"
)

// checkSecretsFormat rejects a --format that writeSecrets cannot write.
func checkSecretsFormat(format string) error {
	switch format {
	case "table", "csv", "json":
		return nil
	}
	return fmt.Errorf("invalid --format %q: use table, csv or json", format)
}

// writeSecrets writes the secret inventory as a plain-text table, CSV or
// JSON: names, places, kinds and rotation dates, never a value. maxAge
// gives the rotation period in days by kind, as for bot.SecretDue.
func writeSecrets(w io.Writer, format string, secrets []store.Secret, maxAge func(kind string) int, now time.Time) error {
	if err := checkSecretsFormat(format); err != nil {
		return err
	}
	rows := make([][]string, len(secrets))
	for i, s := range secrets {
		rows[i] = secretRow(s, maxAge, now)
	}
	switch format {
	case "csv":
		return writeSecretsCSV(w, rows)
	case "json":
		return writeSecretsJSON(w, rows)
	}
	return writeSecretsTable(w, rows)
}

func secretRow(s store.Secret, maxAge func(kind string) int, now time.Time) []string {
	lastRotated, dueText, status := "", "", secretNeverRotated
	if !s.LastRotated.IsZero() {
		lastRotated = s.LastRotated.Format(time.DateOnly)
		due, ok := bot.SecretDue(s, maxAge)
		switch {
		case !ok:
			status = secretNoPeriod
		case due.Before(now):
			dueText, status = due.Format(time.DateOnly), secretOverdue
		default:
			dueText, status = due.Format(time.DateOnly), secretCurrent
		}
	}
	request := ""
	if s.LastRequest != 0 {
		request = "R-" + strconv.FormatInt(s.LastRequest, 10)
	}
	return []string{s.Namespace, s.Name, s.Kind, s.Current, s.Service, s.Deployment, lastRotated, dueText, status, request}
}

func writeSecretsTable(w io.Writer, rows [][]string) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "The secret inventory is empty. List the secrets under rotation.secrets in the sopbot config.")
		return err
	}
	table := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := make([]string, len(secretColumns))
	for i, c := range secretColumns {
		header[i] = strings.ToUpper(strings.ReplaceAll(c, "_", " "))
	}
	fmt.Fprintln(table, strings.Join(header, "\t"))
	status, overdue := slices.Index(secretColumns, "status"), 0
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, cell := range row {
			cells[i] = dash(cell)
		}
		fmt.Fprintln(table, strings.Join(cells, "\t"))
		if row[status] == secretOverdue {
			overdue++
		}
	}
	if err := table.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s, %d overdue\n", countNoun(len(rows), "secret"), overdue)
	return err
}

func writeSecretsCSV(w io.Writer, rows [][]string) error {
	out := csv.NewWriter(w)
	if err := out.Write(secretColumns); err != nil {
		return err
	}
	if err := out.WriteAll(rows); err != nil {
		return err
	}
	return out.Error()
}

func writeSecretsJSON(w io.Writer, rows [][]string) error {
	objects := make([]map[string]string, len(rows))
	for i, row := range rows {
		objects[i] = map[string]string{}
		for j, cell := range row {
			objects[i][secretColumns[j]] = cell
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(objects)
}

// countNoun returns "1 secret" or "n secrets".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
