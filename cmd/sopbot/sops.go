package main

import (
	"errors"
	"fmt"
	"os"
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
		Use:   "lint FILE...",
		Short: "List every template field missing from each SOP; exit 1 when any is missing",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			missing, sops := 0, 0
			for _, path := range args {
				doc, err := lintDocument(path)
				if err != nil {
					return err
				}
				if len(doc.SOPs) == 0 {
					return fmt.Errorf("%s: no SOP found; an SOP starts with a heading such as \"## SOP-02: Model Approval\"", path)
				}
				sops += len(doc.SOPs)
				for _, m := range sop.Lint(doc) {
					fmt.Fprintln(out, m.String())
					missing++
				}
			}
			if missing > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%d missing field(s) in %d SOP(s)\n", missing, sops)
				return exitError{code: 1}
			}
			fmt.Fprintf(out, "%d SOP(s): every template field present\n", sops)
			return nil
		},
	}
}

func newRenderCommand() *cobra.Command {
	var params []string
	var configPath, sopDir, requester, requestID string
	cmd := &cobra.Command{
		Use:   "render SOP-ID",
		Short: "Print the issue title and body the bot would open for a request",
		Long: "Print the issue title and body the bot would open for a request.\n" +
			"With --config, roles show the configured people and links point at the configured MLflow.",
		Example: "  sopbot sops render SOP-02 --param model=fraud-detector --param version=3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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
			values, err := parseParamFlags(params)
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
		},
	}
	cmd.Flags().StringArrayVar(&params, "param", nil, "a parameter as name=value; repeat for each")
	cmd.Flags().StringVar(&configPath, "config", "", "config file for role holders, MLflow links and the SOP directory")
	cmd.Flags().StringVar(&sopDir, "sop-dir", "", "directory of SOP files to use instead of the embedded library")
	cmd.Flags().StringVar(&requester, "requester", "requester", "GitHub login shown as the requester")
	cmd.Flags().StringVar(&requestID, "request", "R-1", "request id written into the hidden marker")
	return cmd
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

func parseParamFlags(params []string) (map[string]string, error) {
	values := map[string]string{}
	for _, p := range params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid --param %q: use name=value", p)
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

// lintDocument parses an SOP document. A file with front matter is a
// library file, so it is loaded the way sopDir loads it: its binding is
// decoded strictly and checked against the SOP.
func lintDocument(path string) (*sop.Document, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !strings.HasPrefix(string(src), "---\n") && !strings.HasPrefix(string(src), "---\r\n") {
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
