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

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

func newDiffCommand() *cobra.Command {
	var database, only string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show what changed between two revisions of SOPs; exit 1 when anything did",
		Long: "Show what changed between two revisions of SOPs, item by item.\n" +
			"OLD and NEW are each an SOP file, a directory of SOP files, \"embedded\" for the built-in\n" +
			"library, or, with --database, the revision (or its first characters) an open or past\n" +
			"request was opened under. When one side is a file or a request's revision and the other\n" +
			"a whole library, only the SOPs of the file or revision are compared.",
		Example: "  sopbot sops diff embedded my-sops/sop-02-model-promotion.md\n" +
			"  sopbot sops diff --database sopbot.db 72fc026e embedded",
		Args: exactArgs("OLD, the revision to compare from", "NEW, the revision to compare to"),
		RunE: func(cmd *cobra.Command, args []string) error {
			old, err := resolveRevision(cmd.Context(), args[0], database)
			if err != nil {
				return err
			}
			current, err := resolveRevision(cmd.Context(), args[1], database)
			if err != nil {
				return err
			}
			ids, err := comparedIDs(old, current, only)
			if err != nil {
				return err
			}
			if printDiff(cmd, old.sops, current.sops, ids) {
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

// sopRevision is one side of a diff: its SOPs by id, and whether they are
// a whole library or only part of one, such as one file.
type sopRevision struct {
	sops    map[string]*sop.SOP
	library bool
}

var revisionPrefix = regexp.MustCompile(`^[0-9a-f]{6,64}$`)

// resolveRevision loads the SOPs one argument names.
func resolveRevision(ctx context.Context, arg, database string) (sopRevision, error) {
	if arg == "embedded" {
		lib, err := sop.Embedded()
		if err != nil {
			return sopRevision{}, err
		}
		return sopRevision{sops: byID(lib.SOPs()), library: true}, nil
	}
	if info, err := os.Stat(arg); err == nil {
		if info.IsDir() {
			lib, err := sop.LoadDir(arg)
			if err != nil {
				return sopRevision{}, err
			}
			return sopRevision{sops: byID(lib.SOPs()), library: true}, nil
		}
		doc, err := loadDocument(arg)
		if err != nil {
			return sopRevision{}, err
		}
		return sopRevision{sops: byID(doc.SOPs)}, nil
	}
	if database == "" || !revisionPrefix.MatchString(arg) {
		return sopRevision{}, fmt.Errorf("%q is not a file, a directory, \"embedded\" or, with --database, a revision", arg)
	}
	sops, err := storedRevision(ctx, arg, database)
	return sopRevision{sops: sops}, err
}

// loadDocument parses an SOP file. A file with front matter is a library
// file, so it is loaded the way sopDir loads it: its binding is decoded
// strictly and checked against the SOP.
func loadDocument(path string) (*sop.Document, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !sop.HasFrontMatter(src) {
		return sop.Parse(path, src)
	}
	s, err := sop.LoadFile(path, src)
	if err != nil {
		return nil, err
	}
	if err := bot.ValidateLibraryFile(s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &sop.Document{Path: path, SOPs: []*sop.SOP{s}}, nil
}

// comparedIDs returns the sorted SOP ids a diff compares. When exactly one
// side is a whole library, only the ids of the other side count, since an
// SOP that a single file lacks was not removed. only, when set, must be
// one of those ids.
func comparedIDs(old, current sopRevision, only string) ([]string, error) {
	ids := map[string]bool{}
	for _, side := range []sopRevision{old, current} {
		if side.library && old.library != current.library {
			continue
		}
		for id := range side.sops {
			ids[id] = true
		}
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	if only == "" {
		return sorted, nil
	}
	for _, id := range sorted {
		if strings.EqualFold(id, only) {
			return []string{id}, nil
		}
	}
	return nil, fmt.Errorf("invalid --sop %q: the revisions compared hold no such SOP; use one of %s", only, strings.Join(sorted, ", "))
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

// printDiff prints the changes of each SOP of ids and reports whether
// any.
func printDiff(cmd *cobra.Command, old, current map[string]*sop.SOP, ids []string) bool {
	out := cmd.OutOrStdout()
	changed := false
	for _, id := range ids {
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
