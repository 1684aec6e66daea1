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
	"strconv"
	"strings"
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
		Long:  serveHelp(),
		Args:  cobra.NoArgs,
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
	cmd.Flags().StringVar(&configPath, "config", "", "path of the YAML config file (optional when the environment sets every required setting)")
	return cmd
}

// serveRoutes lists what handlers.Server.Routes serves, for the help text.
const serveRoutes = `Routes on the listen address:
  POST /github/webhook      GitHub webhook deliveries
  POST /slack/commands      Slack slash commands
  POST /slack/interactions  button clicks and modal submissions of the bot's Slack messages
  POST /api/v1/drift        drift reports; served only when retraining.apiToken is set
  GET  /healthz             liveness
  GET  /readyz              readiness: the database answers and is migrated
  GET  /metrics             Prometheus metrics

With admin.listen, a second listener serves GET /metrics and, with admin.pprof,
the net/http/pprof handlers under /debug/pprof/.`

// serveHelp returns the serve command's long help, with the environment
// variables that config.Load reads.
func serveHelp() string {
	var b strings.Builder
	b.WriteString("Serve GitHub webhooks, Slack commands and the bot's other HTTP routes.\n\n")
	b.WriteString(serveRoutes)
	b.WriteString("\n\nSettings come from the --config YAML file. Each of these environment variables\n")
	b.WriteString("overrides one setting, named as in the README's config table:\n")
	line := " "
	for _, name := range config.EnvNames() {
		if len(line)+1+len(name) > 80 {
			b.WriteString(line + "\n")
			line = " "
		}
		line += " " + name
	}
	b.WriteString(line + "\n")
	b.WriteString("Every other setting, such as roles, people, drift, rotation, schedules, onboarding,\n")
	b.WriteString("retraining.models and mlflow.models, is read from the config file only.")
	return b.String()
}

// exactArgs returns a check for a command that takes one positional
// argument per description, such as "PATH, the file to write". Unlike
// cobra.ExactArgs, its errors name the missing argument and show the usage.
func exactArgs(descriptions ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(descriptions) {
			return usageError(cmd, "missing %s", strings.Join(descriptions[len(args):], " and "))
		}
		if len(args) > len(descriptions) {
			return usageError(cmd, "too many arguments: %s takes %s, but got %d: %s",
				cmd.CommandPath(), countArguments(len(descriptions)), len(args), quoteAll(args))
		}
		return nil
	}
}

// minimumArgs returns a check for a command that takes one or more
// positional arguments of the kind description names.
func minimumArgs(description string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError(cmd, "missing %s", description)
		}
		return nil
	}
}

// usageError returns an error whose message ends with the command's usage
// line and where to read more.
func usageError(cmd *cobra.Command, format string, args ...any) error {
	return fmt.Errorf("%s\nUsage: %s\nRun '%s --help' for details", fmt.Sprintf(format, args...), cmd.UseLine(), cmd.CommandPath())
}

func countArguments(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return strconv.Itoa(n) + " arguments"
}

func quoteAll(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	return strings.Join(quoted, " ")
}

// newLogger returns the JSON logger every component shares.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
