package bot

import (
	"encoding/json"
	"fmt"

	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kfp"
)

// retrainRunRef is the part of kfp-retrain's progress and result that the
// engine reads: the KFP run it started last and the state it last saw.
type retrainRunRef struct {
	RunID       string `json:"run_id"`
	DisplayName string `json:"display_name"`
	URL         string `json:"url"`
	State       string `json:"state"`
}

// retrainRunMayBeActive returns the KFP run that kfp-retrain may have left
// going, and false when it cannot have. A running kfp-retrain may have
// one, even before its progress names it. A queued or failed one, such as
// one that timed out, may have the run its progress names, unless its
// result shows that this run ended. A queued kfp-retrain starts no new run
// once its request has ended, because its job reads the request first.
func retrainRunMayBeActive(run store.ActionRun) (retrainRunRef, bool) {
	var progress, result retrainRunRef
	_ = json.Unmarshal([]byte(run.Progress), &progress) // an empty or foreign progress names no run
	_ = json.Unmarshal([]byte(run.Result), &result)
	switch run.State {
	case store.RunRunning:
		return progress, true
	case store.RunQueued, store.RunFailed:
		if progress.RunID == "" {
			return progress, false
		}
		ended := result.RunID == progress.RunID && (kfp.Terminal(result.State) || result.State == KFPRunNotFound)
		return progress, !ended
	}
	return progress, false
}

// KFPRunNotFound is the state that kfp-retrain and kfp-terminate record
// for a run that Kubeflow Pipelines no longer has.
const KFPRunNotFound = "NOT_FOUND"

// runLink returns the run as a Markdown link, or a plain name when
// kfp-retrain recorded no link.
func (r retrainRunRef) runLink() string {
	if r.URL == "" {
		return "its Kubeflow Pipelines run"
	}
	return fmt.Sprintf("its Kubeflow Pipelines run [%s](%s)", r.DisplayName, r.URL)
}
