package mlflowfake

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/internal/faults"
)

// apiPrefix is the path below which MLflow serves its REST API.
const apiPrefix = "/api/2.0/mlflow/"

// defaultPageSize is the number of versions per search page unless the
// request sets max_results or SetSearchPageSize changes it, and the number
// of entries per artifact listing page unless SetArtifactPageSize changes
// it.
const defaultPageSize = 1000

// Transition is one stage change of a model version.
type Transition struct {
	Version string
	From    string
	To      string
	At      time.Time
}

// Fake is an in-memory model registry served on 127.0.0.1. It is safe for
// concurrent use.
type Fake struct {
	server *httptest.Server
	faulty atomic.Pointer[http.Handler] // serveHTTP behind InjectFaults' injector

	mu            sync.Mutex
	models        map[string]*model
	history       map[string][]Transition
	calls         []string
	failures      map[string]*failure
	holds         map[string]chan struct{}
	pageSize      int
	authorization string

	runs             map[string]*mlflow.Run
	artifacts        map[string]map[string][]byte // run ID to artifact path to content
	artifactPageSize int

	experiments      map[string]*experiment // by ID, created on first use
	nextExperimentID int
}

type model struct {
	name     string
	created  int64
	tags     map[string]string
	aliases  map[string]string // alias to version
	versions map[string]*mlflow.ModelVersion
}

// failure is a fault injected by FailNext.
type failure struct {
	status    int
	remaining int
}

// New returns an empty registry that is not yet listening. Call Start
// before use.
func New() *Fake {
	return &Fake{
		models:   map[string]*model{},
		history:  map[string][]Transition{},
		failures: map[string]*failure{},
		holds:    map[string]chan struct{}{},
		pageSize: defaultPageSize,

		runs:             map[string]*mlflow.Run{},
		artifacts:        map[string]map[string][]byte{},
		artifactPageSize: defaultPageSize,
	}
}

// Start listens on a random port of 127.0.0.1. It panics if it cannot
// listen, as httptest does.
func (f *Fake) Start() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("mlflowfake: listening on 127.0.0.1: %v", err))
	}

	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serveMaybeFaulty))
	f.server.Listener = listener
	f.server.Start()
}

// InjectFaults makes a share of the requests fail as cfg describes, with
// MLflow's error bodies, and returns the injector that records them. It
// replaces any injector set before.
func (f *Fake) InjectFaults(cfg faults.Config) *faults.Injector {
	cfg.Flavor = faults.MLflow
	injector := faults.New(cfg)
	h := injector.Wrap(http.HandlerFunc(f.serveHTTP))
	f.faulty.Store(&h)
	return injector
}

// serveMaybeFaulty passes the request through the injector, when
// InjectFaults set one, to serveHTTP.
func (f *Fake) serveMaybeFaulty(w http.ResponseWriter, r *http.Request) {
	if h := f.faulty.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	f.serveHTTP(w, r)
}

// Close stops the server.
func (f *Fake) Close() {
	if f.server != nil {
		f.server.Close()
	}
}

// URL returns the server root, "http://127.0.0.1:<port>", for
// mlflow.Config.BaseURL.
func (f *Fake) URL() string {
	return f.server.URL
}

// AddVersion registers version of model name in stage, creating the model
// if needed. An empty stage means "None". Status is READY, and RunID and
// Source are derived from name and version. It panics on an unknown stage.
func (f *Fake) AddVersion(name, version, stage string, tags map[string]string) {
	if stage == "" {
		stage = mlflow.StageNone
	}
	canonical, ok := mlflow.CanonicalStage(stage)
	if !ok {
		panic(fmt.Sprintf("mlflowfake: AddVersion(%q, %q): unknown stage %q", name, version, stage))
	}

	f.mu.Lock()
	defer f.mu.Unlock()

	now := time.Now().UnixMilli()
	registered := f.models[name]
	if registered == nil {
		registered = &model{name: name, created: now, tags: map[string]string{},
			aliases: map[string]string{}, versions: map[string]*mlflow.ModelVersion{}}
		f.models[name] = registered
	}
	registered.versions[version] = &mlflow.ModelVersion{
		Name:                 name,
		Version:              version,
		CurrentStage:         canonical,
		RunID:                "run-" + name + "-" + version,
		Source:               "mlflow-artifacts:/" + name + "/" + version,
		Status:               "READY",
		CreationTimestamp:    now,
		LastUpdatedTimestamp: now,
		Tags:                 maps.Clone(tags),
	}
}

// Version returns a copy of version of model name, with its aliases, and
// false if it does not exist.
func (f *Fake) Version(name, version string) (mlflow.ModelVersion, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	registered := f.models[name]
	if registered == nil || registered.versions[version] == nil {
		return mlflow.ModelVersion{}, false
	}
	return registered.snapshot(version), true
}

// History returns the stage changes of model name, oldest first, including
// the versions archived by archive_existing_versions.
func (f *Fake) History(name string) []Transition {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Transition(nil), f.history[name]...)
}

// SetSearchPageSize sets how many versions a search page holds when the
// request has no max_results, so tests can exercise paging.
func (f *Fake) SetSearchPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// RequireAuthorization makes every request without exactly this
// Authorization header value fail with 401 UNAUTHENTICATED.
func (f *Fake) RequireAuthorization(value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authorization = value
}

// FailNext makes the next n requests to path fail with status and an MLflow
// error body, before any other handling. path is an endpoint such as
// "model-versions/transition-stage" or "get-artifact"; a leading
// "/api/2.0/mlflow/" is accepted.
func (f *Fake) FailNext(path string, status int, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures[strings.TrimPrefix(path, apiPrefix)] = &failure{status: status, remaining: n}
}

// Calls returns one readable line per request, rejected ones included,
// oldest first. Examples:
//
//	GET model-versions/get fraud-detector v3
//	POST model-versions/transition-stage fraud-detector v3 → Production (archive existing)
//	POST model-versions/set-tag fraud-detector v3 sopbot.issue=42
//	POST registered-models/alias fraud-detector champion → v3
//	GET model-versions/get fraud-detector v9 → 404 RESOURCE_DOES_NOT_EXIST
//	GET runs/get run-1
//	GET artifacts/list run-1 model
//	GET get-artifact run-1 model/model.pkl
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// CallCount returns the number of requests received.
func (f *Fake) CallCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *Fake) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// Hold makes every request to endpoint (such as
// "model-versions/transition-stage") wait until the returned release is
// called, so a test can catch a client in the middle of a call.
func (f *Fake) Hold(endpoint string) (release func()) {
	gate := make(chan struct{})
	f.mu.Lock()
	f.holds[strings.TrimPrefix(endpoint, apiPrefix)] = gate
	f.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.holds, strings.TrimPrefix(endpoint, apiPrefix))
			f.mu.Unlock()
			close(gate)
		})
	}
}

// wait blocks while endpoint is held.
func (f *Fake) wait(r *http.Request, endpoint string) {
	f.mu.Lock()
	gate := f.holds[endpoint]
	f.mu.Unlock()
	if gate == nil {
		return
	}
	select {
	case <-gate:
	case <-r.Context().Done():
	}
}

// takeFailure consumes one injected failure for endpoint, if any is left.
func (f *Fake) takeFailure(endpoint string) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	injected, ok := f.failures[endpoint]
	if !ok || injected.remaining <= 0 {
		return 0, false
	}
	injected.remaining--
	return injected.status, true
}

// snapshot returns a copy of a version with its aliases filled in. The
// caller holds f.mu.
func (m *model) snapshot(version string) mlflow.ModelVersion {
	mv := *m.versions[version]
	mv.Tags = maps.Clone(mv.Tags)
	mv.Aliases = nil
	for alias, target := range m.aliases {
		if target == version {
			mv.Aliases = append(mv.Aliases, alias)
		}
	}
	sort.Strings(mv.Aliases)
	return mv
}

// sortedVersions returns the version strings newest first, the order
// MLflow's search uses when no order_by is given.
func (m *model) sortedVersions() []string {
	versions := make([]string, 0, len(m.versions))
	for version := range m.versions {
		versions = append(versions, version)
	}
	sort.Slice(versions, func(i, j int) bool {
		a, errA := strconv.Atoi(versions[i])
		b, errB := strconv.Atoi(versions[j])
		if errA != nil || errB != nil {
			return versions[i] > versions[j]
		}
		return a > b
	})
	return versions
}
