// Package infra holds the infra actions that SOP-01, SOP-03 and SOP-04
// name. The onboarding's create the namespace, experiment, feast job,
// initial training run and inventory entry. The retraining's record the
// drift report, run the KFP retraining pipeline, compare the version it
// registers with production and update the drift reference. The
// rotation's create the new secret, switch the deployment to it, check
// the rollout, retire the old secret and update the inventory. Each action
// reads the current state before it changes anything and names what it
// creates after the request, so a retry after a crash finds its earlier
// work.
package infra

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/kube"
)

// Experiments creates and finds MLflow experiments.
type Experiments interface {
	// EnsureExperiment returns the experiment with this name, creating it
	// with tags when it is missing and adding the tags it lacks. An
	// experiment whose sopbot.request tag names another request is an
	// error, so the bot never takes over someone else's experiment.
	EnsureExperiment(ctx context.Context, name string, tags map[string]string) (id string, created bool, err error)
	ExperimentURL(id string) string
}

// Deps are what the actions call. A nil client leaves out the actions
// that need it.
type Deps struct {
	DB          *store.DB
	Kube        *kube.Client
	KubeAPI     kubernetes.Interface
	KFP         *kfp.Client
	Experiments Experiments
	Onboarding  config.Onboarding
	Rotation    config.Rotation
	// HTTP runs the smoke checks; nil uses a client with a 10-second timeout.
	HTTP *http.Client
	// Poll is how often a waiting action looks again; 5 seconds when zero.
	Poll time.Duration
}

// Actions returns the actions that deps can run, by name.
func Actions(deps Deps) map[string]bot.InfraAction {
	if deps.Poll == 0 {
		deps.Poll = 5 * time.Second
	}
	if deps.HTTP == nil {
		deps.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	out := map[string]bot.InfraAction{}
	if deps.DB != nil {
		out[bot.ActionInventoryAdd] = inventoryAdd{deps}
		out[bot.ActionSecretInventory] = secretInventory{deps}
	}
	if deps.Kube != nil && deps.KubeAPI != nil {
		out[bot.ActionK8sOnboard] = k8sOnboard{deps}
		out[bot.ActionFeastApply] = feastApply{deps}
		out[bot.ActionSecretPrepare] = secretPrepare{deps}
		out[bot.ActionSecretRepoint] = secretRepoint{deps}
		out[bot.ActionRolloutVerify] = rolloutVerify{deps}
		out[bot.ActionSecretRetire] = secretRetire{deps}
	}
	if deps.Experiments != nil {
		out[bot.ActionMLflowExperiment] = mlflowExperiment{deps}
	}
	if deps.KFP != nil {
		out[bot.ActionKFPInitialRun] = kfpInitialRun{deps}
	}
	return out
}

// requestKey is the id the actions write into names, labels and tags.
func requestKey(req store.Request) string { return fmt.Sprintf("R-%d", req.ID) }

// permanent marks an error the retry of the same action cannot fix.
func permanent(format string, args ...any) error {
	return bot.Permanent(fmt.Errorf(format, args...))
}

// kubeErr marks the Kubernetes errors that a retry cannot fix.
func kubeErr(err error) error {
	if err != nil && kube.IsPermanent(err) {
		return bot.Permanent(err)
	}
	return err
}

// outcomeLines renders Apply's outcomes as a Markdown list.
func outcomeLines(outcomes []kube.Outcome) string {
	var b strings.Builder
	for _, o := range outcomes {
		fmt.Fprintf(&b, "- %s\n", o)
	}
	return b.String()
}

// codeBlock fences text for Markdown, so a log line cannot close it early.
func codeBlock(text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + "\n" + strings.TrimRight(text, "\n") + "\n" + fence
}
