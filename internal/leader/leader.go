package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/klog/v2"
)

// Default timings of Config.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// ErrLeaseLost is returned by Run when the Lease could not be renewed
// before the renew deadline while Run's context was still live. The work
// has stopped by then. The caller should exit, so that the process starts
// over as a candidate.
var ErrLeaseLost = errors.New("lost the leader lease")

// Config names the Lease and this candidate.
type Config struct {
	// Namespace is the namespace of the Lease.
	Namespace string
	// Lease is the name of the Lease object.
	Lease string
	// Identity is this candidate's holder identity, unique among the
	// candidates. The pod name is the usual choice.
	Identity string
	// LeaseDuration is how long a standby waits after the last renewal
	// before it takes the Lease. Zero means DefaultLeaseDuration.
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader keeps retrying a renewal before
	// it gives up leading. It must be shorter than LeaseDuration. Zero
	// means DefaultRenewDeadline.
	RenewDeadline time.Duration
	// RetryPeriod is the wait between attempts to acquire or renew. Zero
	// means DefaultRetryPeriod.
	RetryPeriod time.Duration
	// Log receives the transitions and client-go's own election messages.
	// Nil means slog.Default().
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.RenewDeadline == 0 {
		c.RenewDeadline = DefaultRenewDeadline
	}
	if c.RetryPeriod == 0 {
		c.RetryPeriod = DefaultRetryPeriod
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Run campaigns for the Lease until ctx is cancelled. When this candidate
// takes the Lease, onStart runs with a context that ends when the Lease is
// lost or ctx is cancelled, and onStart should return soon after that.
// Then onStop runs, unless it is nil. Each runs at most once per call.
//
// On cancellation of ctx, Run waits for onStart and onStop to return and
// only then releases the Lease, so no two candidates run their work at
// once. It returns nil after a cancellation of ctx, ErrLeaseLost when a
// renewal failed, or an error for an invalid Config.
func Run(ctx context.Context, client kubernetes.Interface, cfg Config, onStart func(context.Context), onStop func()) error {
	cfg = cfg.withDefaults()
	log := cfg.Log.With("lease", cfg.Namespace+"/"+cfg.Lease, "identity", cfg.Identity)
	if err := cfg.validate(); err != nil {
		return err
	}

	// The elector gets its own context, cancelled only after the work has
	// stopped, because cancelling it releases the Lease at once.
	electCtx, cancelElect := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelElect()
	electCtx = klog.NewContext(electCtx, logr.FromSlogHandler(log.With("component", "leaderelection").Handler()))

	t := &term{onStart: onStart, onStop: onStop, log: log}
	elector, err := newElector(client, cfg, log, func(leaseCtx context.Context) { t.lead(ctx, leaseCtx) })
	if err != nil {
		return err
	}
	stopWatch := context.AfterFunc(ctx, func() {
		t.close()
		cancelElect()
	})
	defer stopWatch()

	log.Info("leader election started")
	elector.Run(electCtx)
	// NOTE: after a failed renewal, client-go tries to release the Lease
	// (ReleaseOnCancel) before Run reaches this wait, so a standby may
	// start while onStart is still returning. A cancelled ctx has no such
	// gap.
	t.close()
	if ctx.Err() != nil {
		log.Info("leader election stopped")
		return nil
	}
	return fmt.Errorf("%w %s/%s as %s", ErrLeaseLost, cfg.Namespace, cfg.Lease, cfg.Identity)
}

func (c Config) validate() error {
	var problems []string
	if c.Namespace == "" {
		problems = append(problems, "namespace is missing")
	}
	if c.Lease == "" {
		problems = append(problems, "lease name is missing")
	}
	if c.Identity == "" {
		problems = append(problems, "identity is missing")
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid leader election config: %s", strings.Join(problems, ", "))
	}
	return nil
}

func newElector(client kubernetes.Interface, cfg Config, log *slog.Logger, onStart func(context.Context)) (*leaderelection.LeaderElector, error) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Lease},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            cfg.Lease,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: onStart,
			// client-go calls this even when the Lease was never held;
			// term.lead reports the real end of a term.
			OnStoppedLeading: func() {},
			OnNewLeader: func(identity string) {
				log.Info("leader observed", "leader", identity)
			},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("invalid leader election config: %w", err)
	}
	return elector, nil
}

// term runs the leader's work for one call to Run and lets shutdown wait
// for it.
type term struct {
	onStart func(context.Context)
	onStop  func()
	log     *slog.Logger

	mu      sync.Mutex
	closing bool
	done    chan struct{} // closed when the work has returned; nil before it starts
}

// lead runs onStart and then onStop, unless shutdown has begun. The work's
// context ends with whichever of ctx and leaseCtx ends first.
func (t *term) lead(ctx, leaseCtx context.Context) {
	t.mu.Lock()
	if t.closing || t.done != nil || ctx.Err() != nil || leaseCtx.Err() != nil {
		t.mu.Unlock()
		return
	}
	done := make(chan struct{})
	t.done = done
	t.mu.Unlock()
	defer close(done)

	workCtx, cancel := context.WithCancel(leaseCtx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	t.log.Info("started leading")
	t.onStart(workCtx)
	if t.onStop != nil {
		t.onStop()
	}
	t.log.Info("stopped leading")
}

// close keeps a new term from starting and waits for a running one to
// return.
func (t *term) close() {
	t.mu.Lock()
	t.closing = true
	done := t.done
	t.mu.Unlock()
	if done != nil {
		<-done
	}
}
