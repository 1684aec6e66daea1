package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/sopbot/sopbot/bot/config"
	"github.com/sopbot/sopbot/internal/leader"
)

// serveAsCandidate serves HTTP at once but opens the database, works the
// queue and handles webhooks only while this replica holds the leader
// Lease. SQLite allows one writer, and its file sits on a volume that one
// node mounts, so a standby must not open it.
func serveAsCandidate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	client, err := newKubernetesClient()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	edge := &leaderEdge{}
	served := make(chan error, 1)
	go func() {
		err := serveHTTP(ctx, ln, edge, log)
		cancel()
		served <- err
	}()

	// Run returns only after onStart has returned, so reading leadErr
	// afterwards is safe.
	var leadErr error
	electErr := leader.Run(ctx, client, leaderConfig(cfg, log), func(leadCtx context.Context) {
		leadErr = lead(leadCtx, cfg, log, edge)
		if leadErr != nil {
			cancel()
		}
	}, nil)
	cancel()
	err = errors.Join(leadErr, electErr, <-served)
	log.Info("sopbot stopped")
	return err
}

// newKubernetesClient returns a client that authenticates as the pod's
// service account.
func newKubernetesClient() (kubernetes.Interface, error) {
	restConfig, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("leader election needs the in-cluster Kubernetes config: %w; "+
			"run sopbot in a pod, or set leader.enabled to false (SOPBOT_LEADER_ENABLED=false) to run a single replica without it", err)
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	return client, nil
}

func leaderConfig(cfg config.Config, log *slog.Logger) leader.Config {
	return leader.Config{
		Namespace: cfg.Leader.Namespace,
		Lease:     cfg.Leader.Lease,
		Identity:  cfg.Leader.Identity,
		Log:       log.With("component", "leader"),
	}
}

// lead runs the bot for one leadership term: it opens the database, starts
// the queue and routes requests to the handlers until ctx is cancelled,
// then stops them in reverse order.
func lead(ctx context.Context, cfg config.Config, log *slog.Logger, edge *leaderEdge) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := a.queue.Start(ctx); err != nil {
		return errors.Join(fmt.Errorf("starting job queue: %w", err), a.db.Close())
	}
	edge.open(a.server.Routes())
	log.Info("serving as leader")

	<-ctx.Done()
	if !edge.close(10 * time.Second) {
		log.Warn("requests still open after 10s; closing the database under them")
	}
	return a.stop()
}

// leaderEdge routes requests to the bot's handlers while this replica
// leads. Otherwise GET /healthz returns 200 and every other request,
// /readyz included, 503, so the Service sends traffic to the leader alone.
type leaderEdge struct {
	routes   atomic.Pointer[http.Handler]
	inFlight atomic.Int64
}

func (e *leaderEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Counting before the load lets close wait for every request that
	// could still have seen the handlers.
	e.inFlight.Add(1)
	defer e.inFlight.Add(-1)
	if h := e.routes.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}

	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "this replica is a standby and does not hold the leader lease"})
}

// open routes every request to h.
func (e *leaderEdge) open(h http.Handler) { e.routes.Store(&h) }

// close stops routing to the handlers and waits up to timeout for the
// requests they are serving. It returns false when some are still open.
func (e *leaderEdge) close(timeout time.Duration) bool {
	e.routes.Store(nil)
	deadline := time.Now().Add(timeout)
	for e.inFlight.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
