package leader

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// waitLimit bounds every wait, so a broken election fails the test instead
// of hanging it.
const waitLimit = 10 * time.Second

// events records the callbacks of every candidate in the order they ran.
type events struct {
	mu   sync.Mutex
	list []string
}

func (e *events) add(event string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, event)
}

func (e *events) get() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// candidate is one call to Run in its own goroutine.
type candidate struct {
	started chan struct{} // closed when onStart runs
	stopped chan struct{} // closed when onStop runs
	result  chan error    // receives Run's return value
	cancel  context.CancelFunc
}

// testConfig returns short timings. client-go compares election records with
// their times in whole seconds, so a standby notices a renewal up to about a
// second late, and a lease duration of 1s would let it take over from a live
// leader.
func testConfig(identity string) Config {
	return Config{
		Namespace:     "sopbot",
		Lease:         "sopbot-leader",
		Identity:      identity,
		LeaseDuration: 2 * time.Second,
		RenewDeadline: time.Second,
		RetryPeriod:   100 * time.Millisecond,
		Log:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// startCandidate runs Run for cfg until the test ends or c.cancel is called.
// onStart blocks until its context ends, as real work does.
func startCandidate(t *testing.T, client kubernetes.Interface, cfg Config, log *events) *candidate {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &candidate{started: make(chan struct{}), stopped: make(chan struct{}), result: make(chan error, 1), cancel: cancel}
	onStart := func(ctx context.Context) {
		log.add(cfg.Identity + " started")
		close(c.started)
		<-ctx.Done()
	}
	onStop := func() {
		log.add(cfg.Identity + " stopped")
		close(c.stopped)
	}
	go func() { c.result <- Run(ctx, client, cfg, onStart, onStop) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.result:
		case <-time.After(waitLimit):
			t.Errorf("Run of %s did not return within %s of its cancellation", cfg.Identity, waitLimit)
		}
	})
	return c
}

func waitFor(t *testing.T, ch <-chan struct{}, event string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		require.FailNow(t, "timed out", "waited %s for %s", waitLimit, event)
	}
}

func waitResult(t *testing.T, c *candidate) error {
	t.Helper()
	select {
	case err := <-c.result:
		c.result <- err // leave it for the cleanup
		return err
	case <-time.After(waitLimit):
		require.FailNow(t, "timed out", "waited %s for Run to return", waitLimit)
		return nil
	}
}

func holder(t *testing.T, client kubernetes.Interface) string {
	t.Helper()
	lease, err := client.CoordinationV1().Leases("sopbot").Get(context.Background(), "sopbot-leader", metav1.GetOptions{})
	require.NoError(t, err)
	if lease.Spec.HolderIdentity == nil {
		return ""
	}
	return *lease.Spec.HolderIdentity
}

func TestRunAcquiresAndReleases(t *testing.T) {
	client := fake.NewClientset()
	log := &events{}

	a := startCandidate(t, client, testConfig("a"), log)
	waitFor(t, a.started, "a to start leading")
	assert.Equal(t, "a", holder(t, client))

	a.cancel()
	require.NoError(t, waitResult(t, a))
	assert.Equal(t, []string{"a started", "a stopped"}, log.get())
	assert.Empty(t, holder(t, client), "the Lease should be released on cancellation")
}

func TestRunHandsOverAfterCancel(t *testing.T) {
	client := fake.NewClientset()
	log := &events{}

	a := startCandidate(t, client, testConfig("a"), log)
	waitFor(t, a.started, "a to start leading")
	b := startCandidate(t, client, testConfig("b"), log)

	// Longer than the lease duration, so b keeps waiting only because a
	// renews.
	select {
	case <-b.started:
		require.FailNow(t, "b started leading while a held the Lease")
	case <-time.After(3 * time.Second):
	}
	assert.Equal(t, "a", holder(t, client))

	a.cancel()
	waitFor(t, b.started, "b to take over")
	require.NoError(t, waitResult(t, a))
	assert.Equal(t, "b", holder(t, client))
	assert.Equal(t, []string{"a started", "a stopped", "b started"}, log.get())
}

func TestRunHandsOverBeforeExpiry(t *testing.T) {
	client := fake.NewClientset()
	log := &events{}
	// A lease longer than waitLimit, so only a release lets b in in time.
	long := func(identity string) Config {
		cfg := testConfig(identity)
		cfg.LeaseDuration = time.Minute
		cfg.RenewDeadline = 30 * time.Second
		return cfg
	}

	a := startCandidate(t, client, long("a"), log)
	waitFor(t, a.started, "a to start leading")
	b := startCandidate(t, client, long("b"), log)

	a.cancel()
	waitFor(t, b.started, "b to take over from the released Lease")
	assert.Equal(t, []string{"a started", "a stopped", "b started"}, log.get())
}

func TestRunReturnsErrLeaseLost(t *testing.T) {
	client := fake.NewClientset()
	var failUpdates atomic.Bool
	// Installed before Run starts, because the fake's reactor list has no
	// lock. Until failUpdates is set, the tracker handles every update.
	client.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failUpdates.Load() {
			return true, nil, errors.New("injected update failure")
		}
		return false, nil, nil
	})
	log := &events{}

	a := startCandidate(t, client, testConfig("a"), log)
	waitFor(t, a.started, "a to start leading")
	failUpdates.Store(true)

	waitFor(t, a.stopped, "a to stop after failed renewals")
	err := waitResult(t, a)
	assert.ErrorIs(t, err, ErrLeaseLost)
	assert.Equal(t, []string{"a started", "a stopped"}, log.get())
}

func TestRunRejectsInvalidConfig(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no namespace", func(c *Config) { c.Namespace = "" }, "namespace is missing"},
		{"no lease", func(c *Config) { c.Lease = "" }, "lease name is missing"},
		{"no identity", func(c *Config) { c.Identity = "" }, "identity is missing"},
		{"renew deadline too long", func(c *Config) { c.RenewDeadline = 2 * c.LeaseDuration }, "leaseDuration must be greater than renewDeadline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig("a")
			tt.change(&cfg)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()

			err := Run(ctx, fake.NewClientset(), cfg, func(context.Context) { t.Error("onStart ran") }, nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}
