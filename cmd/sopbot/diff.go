package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

func newDiffCommand() *cobra.Command {
	var database, only string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what changed between two revisions of SOPs; exit 1 when anything did",
		Long: "Show what changed between two revisions of SOPs, item by item.\n" +
			"OLD and NEW are each an SOP file, \"embedded\" for the built-in library, or, with --database,\n" +
			"the revision (or its first characters) an open or past request was opened under.",
		Example: "  sopbot sops diff embedded my-sops/sop-02-model-promotion.md\n" +
			"  sopbot sops diff --database sopbot.db 72fc026e embedded",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			old, err := resolveRevision(cmd.Context(), args[0], database)
			if err != nil {
				return err
			}
			current, err := resolveRevision(cmd.Context(), args[1], database)
			if err != nil {
				return err
			}
			changed := printDiff(cmd, old, current, only)
			if changed {
				return exitError{code: 1}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "no changes")
			return nil
		},
	}
	cmd.Flags().StringVar(&database, "database", "", "the bot's database, to name a revision that requests were opened under")
	cmd.Flags().StringVar(&only, "sop", "", "compare only this SOP id")
	return cmd
}

var revisionPrefix = regexp.MustCompile(`^[0-9a-f]{6,64}$`)

// resolveRevision loads the SOPs one argument names, by id.
func resolveRevision(ctx context.Context, arg, database string) (map[string]*sop.SOP, error) {
	if arg == "embedded" {
		lib, err := sop.Embedded()
		if err != nil {
			return nil, err
		}
		return byID(lib.SOPs()), nil
	}
	if _, err := os.Stat(arg); err == nil {
		doc, err := lintDocument(arg)
		if err != nil {
			return nil, err
		}
		return byID(doc.SOPs), nil
	}
	if database == "" || !revisionPrefix.MatchString(arg) {
		return nil, fmt.Errorf("%q is not a file, \"embedded\" or, with --database, a revision", arg)
	}
	return storedRevision(ctx, arg, database)
}

func storedRevision(ctx context.Context, prefix, database string) (map[string]*sop.SOP, error) {
	db, err := store.OpenExisting(ctx, database)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var id, source string
	err = db.SQL.QueryRowContext(ctx, `SELECT sop_id, sop_source FROM requests WHERE sop_revision LIKE ? AND sop_source != '' ORDER BY id DESC LIMIT 1`,
		prefix+"%").Scan(&id, &source)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("no request in %s was opened under revision %s", database, prefix), err)
	}
	s, err := sop.LoadFile(id+"@"+prefix+".md", []byte(source))
	if err != nil {
		return nil, err
	}
	return byID([]*sop.SOP{s}), nil
}

func byID(sops []*sop.SOP) map[string]*sop.SOP {
	out := map[string]*sop.SOP{}
	for _, s := range sops {
		out[s.ID] = s
	}
	return out
}

// printDiff prints the changes of every SOP and reports whether any.
func printDiff(cmd *cobra.Command, old, current map[string]*sop.SOP, only string) bool {
	ids := map[string]bool{}
	for id := range old {
		ids[id] = true
	}
	for id := range current {
		ids[id] = true
	}
	var sorted []string
	for id := range ids {
		if only == "" || strings.EqualFold(id, only) {
			sorted = append(sorted, id)
		}
	}
	sort.Strings(sorted)
	out := cmd.OutOrStdout()
	changed := false
	for _, id := range sorted {
		a, b := old[id], current[id]
		switch {
		case a == nil:
			fmt.Fprintf(out, "%s: only in the new revision\n", id)
			changed = true
		case b == nil:
			fmt.Fprintf(out, "%s: only in the old revision\n", id)
			changed = true
		default:
			changes := sop.Diff(a, b)
			if len(changes) == 0 {
				continue
			}
			changed = true
			fmt.Fprintf(out, "%s (%s → %s):\n", id, shortRevision(a.Revision), shortRevision(b.Revision))
			for _, c := range changes {
				fmt.Fprintf(out, "  %s\n", c)
			}
		}
	}
	return changed
}

func shortRevision(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
