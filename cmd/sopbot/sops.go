package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/sop"
)

func newSOPsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "sops", Short: "Check and render SOP documents"}
	cmd.AddCommand(newLintCommand(), newRenderCommand(), newDiffCommand())
	return cmd
}

func newLintCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lint PATH...",
		Short: "List every template field missing from each SOP and every other problem; exit 1 when any",
		Long: "Check SOP files: every template field present and filled in each SOP, and for a library\n" +
			"file (one that starts with \"---\" front matter) the binding checked as sopDir loads it.\n" +
			"A directory stands for the *.md files in it, as sopDir does, and its SOP ids must differ.\n" +
			"Every file is linted and every problem listed, the missing template fields first.",
		Example: "  sopbot sops lint my-sops/\n" +
			"  sopbot sops lint testdata/sop/mlops-sops.md sop/library/*.md",
		Args: minimumArgs("PATH: give one or more SOP files, or directories of them"),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			var summary lintSummary
			for _, path := range args {
				summary.add(out, lintPath(path))
			}
			if summary.missing+summary.problems > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d missing field(s) and %d other problem(s) in %d file(s)\n",
					summary.missing, summary.problems, summary.files)
				return exitError{code: 1}
			}
			fmt.Fprintf(out, "%d SOP(s) in %d file(s): every template field present\n", summary.sops, summary.files)
			return nil
		},
	}
}

// lintSummary counts what sops lint printed.
type lintSummary struct {
	files, sops, missing, problems int
}

// add prints the findings of results and counts them.
func (s *lintSummary) add(out io.Writer, results []lintResult) {
	for _, r := range results {
		if r.path != "" {
			s.files++
		}
		s.sops += len(r.sops)
		for _, m := range r.missing {
			fmt.Fprintln(out, m.String())
		}
		for _, p := range r.problems {
			fmt.Fprintln(out, p)
		}
		s.missing += len(r.missing)
		s.problems += len(r.problems)
	}
}

// lintResult is the findings of linting one file. A result with an empty
// path contains a problem of a directory argument itself.
type lintResult struct {
	path     string
	sops     []*sop.SOP
	missing  []sop.Missing
	problems []string
}

// lintPath lints a file, or each *.md file of a directory.
func lintPath(path string) []lintResult {
	info, err := os.Stat(path)
	if err != nil || !info.IsDir() {
		return []lintResult{lintFile(path)}
	}
	files, err := filepath.Glob(filepath.Join(path, "*.md"))
	if err != nil {
		return []lintResult{{problems: []string{fmt.Sprintf("%s: listing *.md files: %v", path, err)}}}
	}
	if len(files) == 0 {
		return []lintResult{{problems: []string{fmt.Sprintf("%s: no *.md files found; a directory of SOPs holds one .md file per SOP", path)}}}
	}
	sort.Strings(files)
	results := make([]lintResult, 0, len(files)+1)
	for _, file := range files {
		results = append(results, lintFile(file))
	}
	if duplicates := duplicateIDs(results); len(duplicates) > 0 {
		results = append(results, lintResult{problems: duplicates})
	}
	return results
}

// lintFile lints one file with sop.LintFile and, when the file is a
// library file with a valid binding, bot.ValidateLibraryFile.
func lintFile(path string) lintResult {
	r := lintResult{path: path}
	src, err := os.ReadFile(path)
	if err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		r.problems = []string{fmt.Sprintf("%s: cannot read the file: %v", path, err)}
		return r
	}
	doc, missing, err := sop.LintFile(path, src)
	r.missing = missing
	r.problems = errorLines(err)
	if doc == nil {
		return r
	}
	r.sops = doc.SOPs
	library := sop.HasFrontMatter(src)
	switch {
	case len(doc.SOPs) == 0 && !library:
		r.problems = append(r.problems, fmt.Sprintf("%s: no SOP found; an SOP starts with a heading such as \"## SOP-02: Model Approval\"", path))
	case library && err == nil:
		for _, line := range errorLines(bot.ValidateLibraryFile(doc.SOPs[0])) {
			r.problems = append(r.problems, path+": "+line)
		}
	}
	return r
}

// duplicateIDs reports each SOP id that a second file of one directory
// defines again, which LoadDir rejects.
func duplicateIDs(results []lintResult) []string {
	first := map[string]*sop.SOP{}
	var problems []string
	for _, r := range results {
		for _, s := range r.sops {
			if s.ID == "" {
				continue
			}
			key := strings.ToUpper(s.ID)
			if prev, ok := first[key]; ok {
				problems = append(problems, fmt.Sprintf("%s:%d: %s is already defined in %s:%d; give each SOP its own ID",
					s.Path, s.Line, s.ID, prev.Path, prev.Line))
				continue
			}
			first[key] = s
		}
	}
	return problems
}

// errorLines returns the message of each error that err joins.
func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var lines []string
		for _, e := range joined.Unwrap() {
			lines = append(lines, errorLines(e)...)
		}
		return lines
	}
	return strings.Split(err.Error(), "\n")
}

func newRenderCommand() *cobra.Command {
	var configPath, sopDir, requester, requestID string
	cmd := &cobra.Command{
		Use:   "render SOP-ID",
		Short: "Print the issue title and body the bot would open for a request",
		Long: "Print the issue title and body the bot would open for a request.\n" +
			"With --config, roles show the configured people and links point at the configured MLflow.",
		Example: "  sopbot sops render SOP-02 --param model=fraud-detector --param version=3",
	}
	params := &paramFlags{cmd: cmd}
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if err := params.check(args); err != nil {
			return err
		}
		return exactArgs("SOP-ID, the SOP to render, such as SOP-02")(cmd, args)
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := renderConfig(configPath)
		if err != nil {
			return err
		}
		if sopDir == "" {
			sopDir = cfg.SOPDir
		}
		lib, err := loadLibrary(sopDir)
		if err != nil {
			return err
		}
		s, ok := lib.Get(args[0])
		if !ok || s.Binding == nil {
			return fmt.Errorf("no SOP %q in the library: use one of %s", args[0], strings.Join(sopIDs(lib), ", "))
		}
		values, err := parseParamFlags(params.values)
		if err != nil {
			return err
		}
		checked, err := bot.ValidateParams(s, values)
		if err != nil {
			var names []string
			for _, p := range s.Binding.Params {
				names = append(names, p.Name)
			}
			return fmt.Errorf("%v Pass each as --param NAME=VALUE; %s takes: %s", err, s.ID, strings.Join(names, ", "))
		}
		req := store.Request{SOPID: s.ID, Params: checked, RequesterLogin: requester}
		title, body := bot.RenderIssue(s, req, requestID, nil, bot.NewDirectory(cfg, nil), modelURL(cfg))
		fmt.Fprintf(cmd.OutOrStdout(), "%s\n\n%s", title, body)
		return nil
	}
	cmd.Flags().Var(params, "param", "a parameter of the SOP; repeat for each")
	cmd.Flags().StringVar(&configPath, "config", "", "config file for role holders, MLflow links and the SOP directory")
	cmd.Flags().StringVar(&sopDir, "sop-dir", "", "directory of SOP files to use instead of the embedded library")
	cmd.Flags().StringVar(&requester, "requester", "requester", "GitHub login shown as the requester")
	cmd.Flags().StringVar(&requestID, "request", "R-1", "request id written into the hidden marker")
	return cmd
}

// paramFlags collects the values of a repeated --param flag. For each
// value it records how many positional arguments came before it, so a
// value given without "=", as in "--param model fraud-detector", can be
// shown joined to the argument that followed it.
type paramFlags struct {
	cmd        *cobra.Command
	values     []string
	argsBefore []int
}

func (p *paramFlags) String() string { return strings.Join(p.values, " ") }

// Type returns the value placeholder that the help text shows.
func (p *paramFlags) Type() string { return "NAME=VALUE" }

// Set adds one value. The flag set's NArg is the count of positional
// arguments parsed so far, because pflag collects them as it goes.
func (p *paramFlags) Set(value string) error {
	p.values = append(p.values, value)
	p.argsBefore = append(p.argsBefore, p.cmd.Flags().NArg())
	return nil
}

// check rejects a value without "=" and a name given twice. args are
// the positional arguments. When there are more than the SOP id, the one
// right after a value without "=" is taken as the value that was meant.
func (p *paramFlags) check(args []string) error {
	for i, v := range p.values {
		if name, _, ok := strings.Cut(v, "="); ok && name != "" {
			continue
		}
		next := ""
		if len(args) > 1 && p.argsBefore[i] < len(args) {
			next = args[p.argsBefore[i]]
		}
		return paramSyntaxError(v, next)
	}
	_, err := parseParamFlags(p.values)
	return err
}

// paramSyntaxError reports a --param value that is not NAME=VALUE, with
// the flag it should have been. next is the argument that followed it, or
// empty.
func paramSyntaxError(value, next string) error {
	name, rest, hasEquals := strings.Cut(value, "=")
	if name == "" {
		name = "NAME"
	}
	switch {
	case hasEquals:
		next = rest
	case next == "":
		next = "VALUE"
	}
	return fmt.Errorf("invalid --param %q: --param takes NAME=VALUE, such as --param %s=%s", value, name, next)
}

// renderConfig reads a config file without requiring the secrets that
// serving needs.
func renderConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Config{}, nil
	}
	cfg, err := config.Load(path, os.Getenv)
	var invalid interface{ Unwrap() []error }
	if err != nil && !errors.As(err, &invalid) && !strings.HasPrefix(err.Error(), "invalid configuration") {
		return cfg, err
	}
	return cfg, nil
}

func modelURL(cfg config.Config) func(name, version string) string {
	if cfg.MLflow.BaseURL == "" {
		return nil
	}
	return func(name, version string) string {
		return strings.TrimRight(cfg.MLflow.UIURL, "/") + "/#/models/" + name + "/versions/" + version
	}
}

// parseParamFlags maps each NAME=VALUE of a repeated --param flag and
// rejects a value without "=" or a name given twice.
func parseParamFlags(params []string) (map[string]string, error) {
	values := map[string]string{}
	for _, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, paramSyntaxError(p, "")
		}
		if previous, seen := values[name]; seen {
			return nil, fmt.Errorf("--param %s is given twice, as %q and %q; pass each parameter once", name, previous, value)
		}
		values[name] = value
	}
	return values, nil
}

func sopIDs(lib *sop.Library) []string {
	var ids []string
	for _, s := range lib.SOPs() {
		ids = append(ids, s.ID)
	}
	return ids
}
