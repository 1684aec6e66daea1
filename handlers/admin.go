package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminRoutes returns the handler of the admin listener: /metrics from
// registry when it is not nil, and the net/http/pprof handlers under
// /debug/pprof/ when withPprof is set. Every other path is 404.
//
// Importing net/http/pprof also registers its handlers on
// http.DefaultServeMux. sopbot never serves that mux: the public listener
// serves Server.Routes and the admin listener this mux.
func AdminRoutes(registry *prometheus.Registry, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	if registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	}
	if withPprof {
		// Index also serves the named profiles, such as
		// /debug/pprof/heap and /debug/pprof/goroutine.
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// AdminServer is the admin listener's HTTP server.
type AdminServer struct {
	// Registry is served on /metrics; nil serves no /metrics.
	Registry *prometheus.Registry
	// PProf enables the net/http/pprof handlers.
	PProf bool
	Log   *slog.Logger
}

// Serve serves the admin routes on ln until ctx is cancelled, then waits
// up to 10s for open requests. A failure is logged and returned but stops
// nothing else, because the bot can run without its admin listener.
func (a *AdminServer) Serve(ctx context.Context, ln net.Listener) error {
	// No WriteTimeout: /debug/pprof/profile and /debug/pprof/trace run
	// for the seconds the request's query sets (30 and 1 by default).
	srv := &http.Server{Handler: AdminRoutes(a.Registry, a.PProf), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	a.Log.Info("admin listener serving", "address", ln.Addr().String(), "pprof", a.PProf)

	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		a.Log.Error("admin listener failed", "address", ln.Addr().String(), "error", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if stopErr := srv.Shutdown(shutdown); stopErr != nil && err == nil {
		err = stopErr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
