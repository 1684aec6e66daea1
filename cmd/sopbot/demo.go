package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/internal/demo"
)

// demoScenarios are the scenarios `sopbot demo` plays, in order, with
// what each proves when it passes.
var demoScenarios = []struct {
	name, sop, passed string
}{
	{"onboard", "SOP-01", "the project has its namespace, experiment, feature job, training run and inventory entry"},
	{"promote", "SOP-02", "the model was promoted, tagged and announced, and the issue is closed"},
	{"drift", "SOP-03", "drift opened the retraining, its pipeline ran once, the retrained version was promoted through SOP-02 and became the drift reference"},
	{"rotate", "SOP-04", "the secret was rotated, the old one deleted after the wait, and no value was written anywhere"},
}

func newDemoCommand() *cobra.Command {
	var keep bool
	var verbose bool
	names := make([]string, len(demoScenarios))
	for i, s := range demoScenarios {
		names[i] = s.name
	}
	cmd := &cobra.Command{
		Use:   "demo [" + strings.Join(names, "|") + "]...",
		Short: "Run the SOPs end to end against built-in fakes of GitHub, Slack, MLflow, Kubeflow Pipelines and Kubernetes",
		Long: "Start the real server on a loopback port with in-process fakes of the GitHub, Slack,\n" +
			"MLflow and Kubeflow Pipelines APIs and an in-memory Kubernetes cluster, drive each SOP with\n" +
			"signed requests, print what each user sees and the audit trail, and exit 0 only if every\n" +
			"end state is right. With no argument every scenario runs. Nothing leaves this machine.",
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				if !contains(names, a) {
					return fmt.Errorf("unknown scenario %q: use one of %s", a, strings.Join(names, ", "))
				}
			}
			if len(args) == 0 {
				args = names
			}
			var logs io.Writer = io.Discard
			if verbose {
				logs = cmd.ErrOrStderr()
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), logs, keep, args)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's database directory and print its path")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "print the server's JSON logs to stderr")
	return cmd
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// lockedBuffer collects the server's log for the rotation's secret check.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) snapshot() *bytes.Buffer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.NewBuffer(append([]byte(nil), b.buf.Bytes()...))
}

func runDemo(ctx context.Context, out, logs io.Writer, keep bool, scenarios []string) error {
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
	cfg.Retraining.APIToken = config.Secret(fakes.DriftToken)
	if err := cfg.Validate(); err != nil {
		return err
	}
	captured := &lockedBuffer{}
	a, err := newAppWith(ctx, cfg, newLogger(io.MultiWriter(logs, captured), "info"),
		appOptions{kube: fakes.Kube, actionPoll: 100 * time.Millisecond})
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

	fmt.Fprintf(out, "sopbot demo: server %s, GitHub fake %s, Slack fake %s, MLflow fake %s, KFP fake %s\n",
		serverURL, fakes.GitHub.URL(), fakes.Slack.URL(), fakes.MLflow.URL(), fakes.KFP.URL())
	var passed []string
	scenarioErr := func() error {
		db, err := demo.OpenReadOnly(cfg.Database)
		if err != nil {
			return err
		}
		defer db.Close()
		for _, sc := range demoScenarios {
			if !contains(scenarios, sc.name) {
				continue
			}
			fmt.Fprintf(out, "\n######## %s: %s\n", sc.name, sc.sop)
			s := &demo.Scenario{Fakes: fakes, ServerURL: serverURL, DB: db, Out: out, Timeout: 30 * time.Second}
			var err error
			switch sc.name {
			case "onboard":
				err = s.RunOnboarding(ctx)
			case "promote":
				err = s.Run(ctx)
			case "drift":
				err = s.RunDrift(ctx)
			case "rotate":
				err = s.RunRotation(ctx, captured.snapshot())
			}
			if err != nil {
				return fmt.Errorf("%s: %w", sc.name, err)
			}
			passed = append(passed, fmt.Sprintf("%s (%s): %s.", sc.name, sc.sop, sc.passed))
		}
		return nil
	}()
	stop()
	if err := <-served; err != nil && scenarioErr == nil {
		scenarioErr = err
	}
	if scenarioErr != nil {
		fmt.Fprintf(out, "\nFAILED: %v\n", scenarioErr)
		return exitError{code: 1}
	}
	fmt.Fprintln(out, "\nPASSED:")
	for _, p := range passed {
		fmt.Fprintf(out, "  %s\n", p)
	}
	return nil
}
