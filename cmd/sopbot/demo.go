package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/internal/demo"
)

func newDemoCommand() *cobra.Command {
	var keep bool
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a model promotion end to end against built-in fakes of GitHub, Slack and MLflow",
		Long: "Start the real server on a loopback port with in-process fakes of the GitHub, Slack and\n" +
			"MLflow APIs, drive SOP-02 with signed requests, print what each user sees and the audit\n" +
			"trail, and exit 0 only if the end state is right. Nothing leaves this machine.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logs := io.Discard
			if verbose {
				logs = cmd.ErrOrStderr()
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), logs, keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's database directory and print its path")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print the server's JSON logs to stderr")
	return cmd
}

func runDemo(ctx context.Context, out, logs io.Writer, keep bool) error {
	dir, err := os.MkdirTemp("", "sopbot-demo-")
	if err != nil {
		return err
	}
	if keep {
		defer fmt.Fprintf(out, "\ndatabase kept at %s\n", filepath.Join(dir, "sopbot.db"))
	} else {
		defer os.RemoveAll(dir)
	}
	fakes, err := demo.StartFakes()
	if err != nil {
		return err
	}
	defer fakes.Close()

	cfg := fakes.Config(filepath.Join(dir, "sopbot.db"))
	if err := cfg.Validate(); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, newLogger(logs, "info"))
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	serverURL := "http://" + ln.Addr().String()
	if err := fakes.GitHub.SetWebhookURL(serverURL + "/github/webhook"); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- a.run(runCtx, ln) }()

	fmt.Fprintf(out, "sopbot demo: server %s, GitHub fake %s, Slack fake %s, MLflow fake %s\n",
		serverURL, fakes.GitHub.URL(), fakes.Slack.URL(), fakes.MLflow.URL())
	scenarioErr := runScenario(ctx, fakes, serverURL, cfg.Database, out)
	stop()
	if err := <-served; err != nil && scenarioErr == nil {
		scenarioErr = err
	}
	if scenarioErr != nil {
		fmt.Fprintf(out, "\nFAILED: %v\n", scenarioErr)
		return exitError{code: 1}
	}
	fmt.Fprintln(out, "\nPASSED: the model was promoted, tagged and announced, and the issue is closed.")
	return nil
}

func runScenario(ctx context.Context, fakes *demo.Fakes, serverURL, database string, out io.Writer) error {
	db, err := demo.OpenReadOnly(database)
	if err != nil {
		return err
	}
	defer db.Close()
	return (&demo.Scenario{Fakes: fakes, ServerURL: serverURL, DB: db, Out: out, Timeout: 30 * time.Second}).Run(ctx)
}
