// Command sopbot runs ML platform SOPs through GitHub and Slack.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot/config"
)

// exitError carries a process exit code without printing a second message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	var exit exitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sopbot:", err)
		os.Exit(1)
	}
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "sopbot",
		Short:         "Run MLOps standard operating procedures through GitHub and Slack",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCommand(), newDemoCommand(), newSOPsCommand(), newAuditCommand(), newScanCommand(), newDriftCommand(), newDBCommand(), newLoadCommand(),
		newInventoryCommand(), newSecretsCommand(), newActionsCommand())
	return root
}

func newServeCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve GitHub webhooks and Slack commands",
		Long: "Serve GitHub webhooks (POST /github/webhook) and Slack slash commands (POST /slack/commands).\n" +
			"Every setting can also come from an SOPBOT_* environment variable; see the README.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(configPath, os.Getenv)
			if err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.LogLevel)
			if cfg.Leader.Enabled {
				return serveAsCandidate(cmd.Context(), cfg, log)
			}
			a, err := newApp(cmd.Context(), cfg, log)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
			}
			return a.run(cmd.Context(), ln)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "path of the YAML config file (optional when every setting is in the environment)")
	return cmd
}

// newLogger returns the JSON logger every component shares.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
