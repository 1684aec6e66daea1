package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Targets of effect jobs: the outside systems they act on.
const (
	TargetGitHub     = "github"
	TargetSlack      = "slack"
	TargetMLflow     = "mlflow"
	TargetKubernetes = "kubernetes"
	TargetKFP        = "kfp"
	// targetOther is an effect job whose target is not known here, such as
	// an action without a known name prefix.
	targetOther = "other"
)

// Targets lists every known target. Each starts at 0 in
// sopbot_effect_errors_total.
var Targets = []string{TargetGitHub, TargetSlack, TargetMLflow, TargetKubernetes, TargetKFP}

// kindTargets maps the kind of each effect job that always acts on one
// system to that system. The kinds are the Kind() values of the job
// arguments in package bot. Other kinds are resolved from their arguments
// by effectTarget.
var kindTargets = map[string]string{
	"open_issue":    TargetGitHub,
	"comment":       TargetGitHub,
	"sync_items":    TargetGitHub,
	"sync_params":   TargetGitHub,
	"labels":        TargetGitHub,
	"close_issue":   TargetGitHub,
	"commit_status": TargetGitHub,
	"sweep":         TargetGitHub,
	"notify":        TargetSlack,
	"gate_message":  TargetSlack,
	"reject_modal":  TargetSlack,
	// Every check run as a job reads MLflow: the version's stage, its run
	// metrics or its artifacts.
	"check": TargetMLflow,
}

// actionTargets maps the infra actions whose names carry no known prefix
// to the system they act on. The names are the action names of package
// bot. NOTE: an action in neither this table nor actionPrefixes counts
// as "other", as the store-only actions such as inventory-add do.
var actionTargets = map[string]string{
	"feast-apply":    TargetKubernetes, // runs feast apply as a Kubernetes Job
	"secret-prepare": TargetKubernetes,
	"secret-repoint": TargetKubernetes,
	"rollout-verify": TargetKubernetes,
	"secret-retire":  TargetKubernetes,
}

// actionPrefixes maps the prefix of an action name, such as the
// "mlflow-" of "mlflow-promote", to the system the action acts on.
var actionPrefixes = map[string]string{
	"mlflow-": TargetMLflow,
	"k8s-":    TargetKubernetes,
	"kfp-":    TargetKFP,
}

// actionTarget returns the system an action acts on, by its name.
func actionTarget(name string) string {
	if target, ok := actionTargets[name]; ok {
		return target
	}
	for prefix, target := range actionPrefixes {
		if strings.HasPrefix(name, prefix) {
			return target
		}
	}
	return targetOther
}

// effectTarget returns the system that a job of this kind and these JSON
// arguments acts on, or "" for a job that is no effect: the processing of
// a delivery, a drift check, or a reply to a scheduled request.
func effectTarget(kind string, args []byte) string {
	if target, ok := kindTargets[kind]; ok {
		return target
	}
	switch kind {
	case "reply":
		var reply struct {
			Origin struct {
				Source string `json:"source"`
			} `json:"origin"`
		}
		if json.Unmarshal(args, &reply) != nil {
			return targetOther
		}
		switch reply.Origin.Source {
		case TargetGitHub, TargetSlack:
			return reply.Origin.Source
		case "schedule":
			return ""
		}
		return targetOther
	case "action", "infra_action":
		var action struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(args, &action) != nil {
			return targetOther
		}
		return actionTarget(action.Action)
	}
	return ""
}

// QueueMiddleware returns River worker middleware that counts the failed
// runs of effect jobs by target, and records each kind it works for the
// queue gauge. A nil *Metrics returns middleware that only runs the job.
func (m *Metrics) QueueMiddleware() rivertype.WorkerMiddleware {
	return &queueMiddleware{metrics: m}
}

type queueMiddleware struct {
	river.MiddlewareDefaults
	metrics *Metrics
}

func (q *queueMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	m := q.metrics
	if m == nil {
		return err
	}
	m.kinds.add(job.Kind)
	if err == nil {
		return nil
	}
	target, outcome := effectTarget(job.Kind, job.EncodedArgs), runOutcome(job, err)
	if target != "" && outcome != "" {
		m.effects.WithLabelValues(target, outcome).Inc()
	}
	return err
}

// runOutcome returns the outcome of a run that returned err: "failed"
// when River gives the job up after it (a cancel, or the last attempt),
// "retried" when River runs it again, and "" for a snooze.
//
// NOTE: snoozes are not counted, so a rate limit, which the workers answer
// with a snooze, does not show here. A snooze looks the same as the wait
// for a busy target or the poll of a running infra action.
func runOutcome(job *rivertype.JobRow, err error) string {
	var cancelled *river.JobCancelError
	var snoozed *river.JobSnoozeError
	switch {
	case errors.As(err, &cancelled):
		return "failed"
	case errors.As(err, &snoozed):
		return ""
	case job.Attempt >= job.MaxAttempts:
		return "failed"
	}
	return "retried"
}

// kindSet is a set of job kinds safe for concurrent use.
type kindSet struct {
	mu    sync.Mutex
	kinds map[string]bool
}

func (s *kindSet) add(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kinds == nil {
		s.kinds = map[string]bool{}
	}
	s.kinds[kind] = true
}

func (s *kindSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	kinds := make([]string, 0, len(s.kinds))
	for kind := range s.kinds {
		kinds = append(kinds, kind)
	}
	slices.Sort(kinds)
	return kinds
}
