package infra

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sopbot/sopbot/bot"
	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/bot/store"
	"github.com/sopbot/sopbot/integrations/kube"
)

// rotation is what every step of one rotation works on.
type rotation struct {
	Namespace  string
	Name       string // inventory name
	Deployment string
	Old        string // Kubernetes secret that holds the value now
	New        string // Kubernetes secret the rotation creates
	Kind       string
	Policy     config.SecretKind
	SmokeURL   string
}

// rotationOf resolves the request's secret through the inventory: the
// secret's current Kubernetes name, its kind and its smoke check.
func (d Deps) rotationOf(ctx context.Context, in bot.ActionInput) (rotation, error) {
	req := in.Request
	r := rotation{Namespace: req.Params["namespace"], Name: req.Params["secret"], Deployment: req.Params["deployment"]}
	r.Old = r.Name
	inv, err := d.DB.GetSecret(ctx, d.DB.SQL, r.Namespace, r.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return rotation{}, err
	default:
		r.Old, r.Kind = inv.Current, inv.Kind
	}
	// Once the first step has run, its result names the old secret: the
	// inventory's current name changes when the rotation is recorded.
	var prepared struct {
		Old string `json:"old"`
	}
	if err := in.ResultOf(bot.ActionSecretPrepare, &prepared); err == nil && prepared.Old != "" {
		r.Old = prepared.Old
	}
	for _, s := range d.Rotation.Secrets {
		if s.Namespace == r.Namespace && s.Name == r.Name {
			r.SmokeURL = s.SmokeURL
			if r.Kind == "" {
				r.Kind = s.Kind
			}
		}
	}
	r.Policy = d.Rotation.Kinds[r.Kind]
	r.New = kube.NewSecretName(r.Name, requestKey(req))
	return r, nil
}

type secretPrepare struct{ Deps }

type prepareProgress struct {
	Noticed bool      `json:"noticed"`
	Since   time.Time `json:"since"`
}

func (a secretPrepare) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return "", err
	}
	if !r.Policy.Generate {
		return fmt.Sprintf("# wait for secrets/%s in namespace %s, created out of band, with the keys of secrets/%s\n", r.New, r.Namespace, r.Old), nil
	}
	old, err := a.KubeAPI.CoreV1().Secrets(r.Namespace).Get(ctx, r.Old, metav1.GetOptions{})
	if err != nil {
		return "", kubeErr(err)
	}
	plan, err := a.Kube.PlanGenerateSecret(ctx, r.Namespace, r.New, old, shapeOf(r.Policy), requestKey(in.Request))
	if err != nil {
		return "", kubeErr(err)
	}
	return plan.String(), nil
}

func shapeOf(k config.SecretKind) kube.Shape {
	return kube.Shape{Length: k.Length, Alphabet: k.Alphabet}
}

func (a secretPrepare) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return bot.StepResult{}, err
	}
	oldKeys, err := a.Kube.SecretKeys(ctx, r.Namespace, r.Old)
	if err != nil {
		return bot.StepResult{}, kubeErr(fmt.Errorf("reading the old secret %s/%s: %w", r.Namespace, r.Old, err))
	}
	res := map[string]any{"old": r.Old, "new": r.New, "namespace": r.Namespace, "keys": oldKeys, "generated": r.Policy.Generate}
	if r.Policy.Generate {
		old, err := a.KubeAPI.CoreV1().Secrets(r.Namespace).Get(ctx, r.Old, metav1.GetOptions{})
		if err != nil {
			return bot.StepResult{}, kubeErr(err)
		}
		keys, err := a.Kube.GenerateSecret(ctx, r.Namespace, r.New, old, shapeOf(r.Policy), requestKey(in.Request))
		if err != nil {
			return bot.StepResult{}, kubeErr(err)
		}
		return bot.StepResult{Result: res, Summary: fmt.Sprintf(
			"Generated `%s/%s` with new random values (%d characters, %s) for the keys of `%s`: %s. No value is shown anywhere. The old secret stays in place for a rollback.",
			r.Namespace, r.New, r.Policy.Length, r.Policy.Alphabet, r.Old, keyList(keys))}, nil
	}

	var p prepareProgress
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}
	newKeys, err := a.Kube.SecretKeys(ctx, r.Namespace, r.New)
	if apierrors.IsNotFound(errors.Unwrap(err)) || apierrors.IsNotFound(err) {
		if !p.Noticed {
			p = prepareProgress{Noticed: true, Since: in.Now}
			return bot.StepResult{Wait: a.Poll, Progress: p, Notice: fmt.Sprintf(
				"waiting for the new secret. Create `%s` in namespace `%s` out of band, with the keys %s, for example with `kubectl create secret generic %s -n %s --from-file=...`. Never paste the value into a chat or a comment; the bot checks the keys, not the values, and keeps `%s` for a rollback.",
				r.New, r.Namespace, keyList(oldKeys), r.New, r.Namespace, r.Old)}, nil
		}
		if timeout := a.Rotation.NewSecretTimeoutDuration(); in.Now.Sub(p.Since) > timeout {
			return bot.StepResult{Failed: fmt.Sprintf("secret %s/%s did not appear within %s", r.Namespace, r.New, timeout), Result: res}, nil
		}
		return bot.StepResult{Wait: a.Poll}, nil
	}
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	if err := kube.CompareKeys(oldKeys, newKeys); err != nil {
		return bot.StepResult{Failed: fmt.Sprintf("secret %s/%s does not have the keys of %s: %v; fix the new secret, then retry", r.Namespace, r.New, r.Old, err), Result: res}, nil
	}
	return bot.StepResult{Result: res, Summary: fmt.Sprintf("Found `%s/%s`, created out of band, with the same keys as `%s`: %s. The old secret stays in place for a rollback.",
		r.Namespace, r.New, r.Old, keyList(newKeys))}, nil
}

func keyList(keys []string) string {
	if len(keys) == 0 {
		return "no keys"
	}
	return "`" + strings.Join(keys, "`, `") + "`"
}

type secretRepoint struct{ Deps }

func (a secretRepoint) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return "", err
	}
	plan, err := a.Kube.PlanRepoint(ctx, r.Namespace, r.Deployment, r.Old, r.New, requestKey(in.Request))
	if err != nil {
		return "", kubeErr(err)
	}
	return plan.String(), nil
}

func (a secretRepoint) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return bot.StepResult{}, err
	}
	result, err := a.Kube.Repoint(ctx, r.Namespace, r.Deployment, r.Old, r.New, requestKey(in.Request))
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	// The inventory names the secret the deployment reads from now on, so
	// a rotation cancelled later, during the wait, leaves it right.
	if err := a.setCurrent(ctx, r, r.New); err != nil {
		return bot.StepResult{}, err
	}
	return bot.StepResult{
		Summary: fmt.Sprintf("Deployment `%s/%s` now reads `%s` instead of `%s`: %s.", r.Namespace, r.Deployment, r.New, r.Old, strings.Join(result.Refs, "; ")),
		Result:  map[string]any{"deployment": r.Deployment, "from": r.Old, "to": r.New, "refs": result.Refs, "already_done": result.AlreadyDone},
	}, nil
}

type rolloutVerify struct{ Deps }

type rolloutProgress struct {
	Since time.Time `json:"since"`
}

func (a rolloutVerify) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return "", err
	}
	text := fmt.Sprintf("# watch the rollout of deployments/%s in namespace %s (at most %s)\n", r.Deployment, r.Namespace, a.Rotation.RolloutTimeoutDuration())
	if r.SmokeURL != "" {
		text += "GET " + printableURL(r.SmokeURL) + " (smoke check; any status but 2xx rolls back)\n"
	}
	return text + fmt.Sprintf("# on failure: point deployments/%s back at secrets/%s\n", r.Deployment, r.Old), nil
}

func (a rolloutVerify) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return bot.StepResult{}, err
	}
	var p rolloutProgress
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}
	reads, err := a.readsSecret(ctx, r, r.New)
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	if p.Since.IsZero() || !reads {
		// A retry after a rollback, or a rerun after a crash that followed
		// one, points the deployment at the new secret again and starts a
		// fresh wait; otherwise this changes nothing.
		if _, err := a.Kube.Repoint(ctx, r.Namespace, r.Deployment, r.Old, r.New, requestKey(in.Request)); err != nil {
			return bot.StepResult{}, kubeErr(err)
		}
		if err := a.setCurrent(ctx, r, r.New); err != nil {
			return bot.StepResult{}, err
		}
		return bot.StepResult{Wait: time.Second, Progress: rolloutProgress{Since: in.Now}}, nil
	}
	status, err := a.Kube.RolloutStatus(ctx, r.Namespace, r.Deployment)
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	res := map[string]any{"deployment": r.Deployment, "replicas": status.Replicas, "updated": status.Updated, "available": status.Available, "reason": status.Reason}
	switch {
	case status.Failed:
		return a.rollBack(ctx, in, r, res, "the rollout failed: "+status.Reason)
	case !status.Done:
		if timeout := a.Rotation.RolloutTimeoutDuration(); in.Now.Sub(p.Since) > timeout {
			return a.rollBack(ctx, in, r, res, fmt.Sprintf("the rollout did not finish within %s: %s", timeout, status.Reason))
		}
		return bot.StepResult{Wait: a.Poll}, nil
	}
	summary := fmt.Sprintf("Deployment `%s/%s` rolled out on `%s`: %d of %d replicas updated and available.", r.Namespace, r.Deployment, r.New, status.Available, status.Replicas)
	ticks := []string{"s3-1"}
	if r.SmokeURL != "" {
		if err := a.smoke(ctx, r.SmokeURL); err != nil {
			return a.rollBack(ctx, in, r, res, "the smoke check failed: "+err.Error())
		}
		summary += fmt.Sprintf(" The smoke check `GET %s` passed.", printableURL(r.SmokeURL))
		ticks = append(ticks, "s3-3")
	} else {
		summary += " No smoke check is configured for this secret (`rotation.secrets[].smokeURL`), so the smoke test stays with people."
	}
	return bot.StepResult{Summary: summary, Result: res, Ticks: ticks}, nil
}

func (a rolloutVerify) smoke(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := a.HTTP.Do(req)
	if err != nil {
		// The client's error quotes the URL, which may carry credentials.
		return fmt.Errorf("GET %s failed: %s", printableURL(url), strings.ReplaceAll(err.Error(), url, printableURL(url)))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s returned %s", printableURL(url), resp.Status)
	}
	return nil
}

// printableURL drops a URL's password and query, which may hold
// credentials, before it is shown on an issue or in a log.
func printableURL(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	u.RawQuery, u.Fragment = "", ""
	return u.Redacted()
}

// readsSecret reports whether the deployment's pod template references
// the secret name anywhere: env, envFrom, volumes or projected volumes.
func (d Deps) readsSecret(ctx context.Context, r rotation, name string) (bool, error) {
	dep, err := d.KubeAPI.AppsV1().Deployments(r.Namespace).Get(ctx, r.Deployment, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	spec := dep.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container(nil), spec.InitContainers...), spec.Containers...) {
		for _, env := range c.Env {
			if ref := env.ValueFrom; ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Name == name {
				return true, nil
			}
		}
		for _, from := range c.EnvFrom {
			if from.SecretRef != nil && from.SecretRef.Name == name {
				return true, nil
			}
		}
	}
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == name {
			return true, nil
		}
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				if src.Secret != nil && src.Secret.Name == name {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// setCurrent records which Kubernetes secret holds the inventory's secret.
func (d Deps) setCurrent(ctx context.Context, r rotation, current string) error {
	return d.DB.InTx(ctx, func(tx *sql.Tx) error {
		return d.DB.SetSecretCurrent(ctx, tx, r.Namespace, r.Name, current)
	})
}

// rollBack points the deployment back at the old secret and fails the
// action with why.
func (a rolloutVerify) rollBack(ctx context.Context, in bot.ActionInput, r rotation, res map[string]any, why string) (bot.StepResult, error) {
	if _, err := a.Kube.Repoint(ctx, r.Namespace, r.Deployment, r.New, r.Old, requestKey(in.Request)); err != nil {
		return bot.StepResult{}, fmt.Errorf("%s, and pointing the deployment back at %s failed: %w", why, r.Old, err)
	}
	if err := a.setCurrent(ctx, r, r.Old); err != nil {
		return bot.StepResult{}, err
	}
	res["rolled_back"] = true
	return bot.StepResult{
		// A retry starts over: it points the deployment at the new secret
		// again and waits for that rollout.
		Progress: rolloutProgress{},
		Failed:   why,
		Summary:  fmt.Sprintf("Deployment `%s/%s` points at the old secret `%s` again. The new secret `%s` stays for a retry.", r.Namespace, r.Deployment, r.Old, r.New),
		Result:   res,
	}, nil
}

type secretRetire struct{ Deps }

type retireProgress struct {
	Due time.Time `json:"due"`
}

func (a secretRetire) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return "", err
	}
	plan, err := a.Kube.PlanDeleteSecret(ctx, r.Namespace, r.Old, requestKey(in.Request))
	if err != nil {
		return "", kubeErr(err)
	}
	return fmt.Sprintf("# wait %s after the switch, then:\n%s", a.Rotation.WaitDuration(), plan), nil
}

func (a secretRetire) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return bot.StepResult{}, err
	}
	var p retireProgress
	if err := in.Progress(&p); err != nil {
		return bot.StepResult{}, err
	}
	if p.Due.IsZero() {
		p.Due = in.Now.Add(a.Rotation.WaitDuration())
		return bot.StepResult{Wait: a.Rotation.WaitDuration(), Progress: p, Notice: fmt.Sprintf(
			"the old secret `%s/%s` stays until %s (%s after the switch), then the bot deletes it. This wait is stored with the job, so it survives restarts. `/mlops cancel` before then keeps the old secret.",
			r.Namespace, r.Old, p.Due.Format(time.RFC3339), a.Rotation.WaitDuration())}, nil
	}
	if wait := p.Due.Sub(in.Now); wait > 0 {
		return bot.StepResult{Wait: wait}, nil
	}
	outcome, err := a.Kube.DeleteSecret(ctx, r.Namespace, r.Old, requestKey(in.Request))
	if err != nil {
		return bot.StepResult{}, kubeErr(err)
	}
	return bot.StepResult{
		Summary: fmt.Sprintf("Waited until %s, then %s. Revoke the old credential at its provider if step 4 asks for it.", p.Due.Format(time.RFC3339), outcome),
		Result:  map[string]any{"deleted": r.Old, "namespace": r.Namespace, "due": p.Due, "changed": outcome.Changed},
	}, nil
}

type secretInventory struct{ Deps }

func (a secretInventory) Plan(ctx context.Context, in bot.ActionInput) (string, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("# sopbot inventory: secret %s/%s is held by %s, rotated now by %s\n", r.Namespace, r.Name, r.New, requestKey(in.Request)), nil
}

func (a secretInventory) Step(ctx context.Context, in bot.ActionInput) (bot.StepResult, error) {
	r, err := a.rotationOf(ctx, in)
	if err != nil {
		return bot.StepResult{}, err
	}
	err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
		return a.DB.RecordRotation(ctx, tx, r.Namespace, r.Name, r.New, in.Request.ID)
	})
	if err != nil {
		return bot.StepResult{}, err
	}
	return bot.StepResult{
		Summary: fmt.Sprintf("Secret inventory: `%s` in `%s` is now held by `%s`, rotated %s. The audit trail records every step of this rotation; `/mlops secrets` lists the inventory.",
			r.Name, r.Namespace, r.New, in.Now.Format(time.DateOnly)),
		Result: map[string]any{"secret": r.Name, "namespace": r.Namespace, "current": r.New, "rotated": in.Now},
	}, nil
}
