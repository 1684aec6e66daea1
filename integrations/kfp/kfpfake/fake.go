package kfpfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sopbot/sopbot/integrations/kfp"
)

// apiPrefix is the path below which the API server serves v2beta1.
const apiPrefix = "/apis/v2beta1/"

// DefaultExperimentID is the experiment a run joins when its create body
// has no experiment_id. A real server uses the UUID of its experiment
// named "Default".
const DefaultExperimentID = "default"

// defaultPageSize is the number of runs per listing page when the request
// has no page_size and SetPageSize has not changed it. It is the fake's
// choice, not the API server's.
const defaultPageSize = 20

// Fake is an in-memory KFP run service served on 127.0.0.1. It is safe for
// concurrent use.
type Fake struct {
	server *httptest.Server
	now    func() time.Time

	mu       sync.Mutex
	runs     []*storedRun // in creation order
	byID     map[string]*storedRun
	nextID   int
	outcomes map[string]string // display name prefix to final state
	// cancelingGets is the number of GETs of a run terminated from now on
	// that return it CANCELING before one moves it to CANCELED.
	cancelingGets int
	pageSize      int
	token         string

	calls    []string
	failures []*failure
	drops    []*failure
	holds    map[route]chan struct{}
}

// storedRun is one run with the parts of its wire form that kfp.Run does
// not hold.
type storedRun struct {
	run          kfp.Run
	created      bool // created through POST, not AddRun
	pipelineSpec map[string]any
	history      []stateChange
	// failedByFake is set when the fake moved the run to FAILED, so its
	// error is the example failed run's status.
	failedByFake bool
	// cancelingGets counts the GETs that still return a terminated run
	// CANCELING.
	cancelingGets int
}

// stateChange is one state_history entry.
type stateChange struct {
	state string
	at    time.Time
}

// failure is a fault injected by FailNext or DropResponseNext.
type failure struct {
	route      route
	status     int
	retryAfter time.Duration
	remaining  int
}

// New returns an empty run service that is not yet listening. Call Start
// before use.
func New() *Fake {
	return &Fake{
		now:      time.Now,
		byID:     map[string]*storedRun{},
		outcomes: map[string]string{},
		pageSize: defaultPageSize,
		holds:    map[route]chan struct{}{},
	}
}

// SetClock makes the fake read the time from now, for the run timestamps
// it sets. Call it before Start.
func (f *Fake) SetClock(now func() time.Time) {
	f.now = now
}

// Start listens on a random port of 127.0.0.1. It panics if it cannot
// listen, as httptest does.
func (f *Fake) Start() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("kfpfake: listening on 127.0.0.1: %v", err))
	}

	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serveHTTP))
	f.server.Listener = listener
	f.server.Start()
}

// Close stops the server.
func (f *Fake) Close() {
	if f.server != nil {
		f.server.Close()
	}
}

// URL returns the server root, "http://127.0.0.1:<port>", for
// kfp.Config.BaseURL.
func (f *Fake) URL() string {
	return f.server.URL
}

// RequireToken makes every request without the header
// "Authorization: Bearer <token>" fail with 401 UNAUTHENTICATED. An empty
// token turns the check off.
func (f *Fake) RequireToken(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.token = token
}

// SetOutcome sets the state that runs whose display name starts with
// displayNamePrefix end in, such as "FAILED". The longest matching prefix
// wins, and "" sets the default, which is SUCCEEDED. A run reaches its
// outcome along PENDING, RUNNING and the outcome, and stops early when the
// outcome is PENDING or RUNNING. A FAILED run carries the error status of
// the example failed run. The outcome is read at each step, so it applies
// to runs created before the call too. It panics on a state that the
// swagger's RuntimeState does not list and on RUNTIME_STATE_UNSPECIFIED.
func (f *Fake) SetOutcome(displayNamePrefix, state string) {
	allowed := slices.DeleteFunc(slices.Clone(loadContract().runtimeStates()), func(s string) bool {
		return s == kfp.StateUnspecified
	})
	if !slices.Contains(allowed, state) {
		panic(fmt.Sprintf("kfpfake: SetOutcome(%q, %q): unknown state, want one of %s",
			displayNamePrefix, state, strings.Join(allowed, ", ")))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcomes[displayNamePrefix] = state
}

// SetCancelingGets sets how many GETs of a run terminated from then on
// return it CANCELING before the next GET moves it to CANCELED, as a real
// server reports CANCELING until the run's workflow has stopped. It is 0
// by default, so the first GET after the terminate returns CANCELED.
func (f *Fake) SetCancelingGets(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelingGets = n
}

// SetPageSize sets how many runs a listing page holds when the request has
// no page_size, so tests can exercise paging.
func (f *Fake) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// AddRun stores a copy of run as if an earlier process had created it, and
// returns the stored copy. An empty ID becomes the next "run-NNNN", an
// empty ExperimentID becomes DefaultExperimentID, an empty State becomes
// SUCCEEDED, an empty StorageState becomes AVAILABLE and a zero CreatedAt
// becomes now. A PENDING, RUNNING or CANCELING run moves on GETs as a
// created one does. AddRun panics on an ID already stored or a State that the
// swagger's RuntimeState does not list. Created does not return added
// runs.
func (f *Fake) AddRun(run kfp.Run) kfp.Run {
	if run.State == "" {
		run.State = kfp.StateSucceeded
	}
	if !slices.Contains(loadContract().runtimeStates(), run.State) {
		panic(fmt.Sprintf("kfpfake: AddRun: unknown state %q", run.State))
	}
	if run.ExperimentID == "" {
		run.ExperimentID = DefaultExperimentID
	}
	if run.StorageState == "" {
		run.StorageState = "AVAILABLE"
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if run.ID == "" {
		run.ID = f.newID()
	}
	if f.byID[run.ID] != nil {
		panic(fmt.Sprintf("kfpfake: AddRun: run %q already exists", run.ID))
	}
	if run.CreatedAt.IsZero() {
		run.CreatedAt = f.timestamp()
	}
	run.Parameters = maps.Clone(run.Parameters)

	stored := &storedRun{run: run, history: []stateChange{{state: run.State, at: run.CreatedAt}}}
	f.store(stored)
	return cloneRun(stored.run)
}

// Run returns a copy of the run runID in its current state, and false if
// it does not exist.
func (f *Fake) Run(runID string) (kfp.Run, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()

	stored := f.byID[runID]
	if stored == nil {
		return kfp.Run{}, false
	}
	return cloneRun(stored.run), true
}

// Created returns the runs created through POST runs, oldest first, each in
// its current state.
func (f *Fake) Created() []kfp.Run {
	f.mu.Lock()
	defer f.mu.Unlock()

	var created []kfp.Run
	for _, stored := range f.runs {
		if stored.created {
			created = append(created, cloneRun(stored.run))
		}
	}
	return created
}

// FailNext makes the next n requests that match route fail with status and
// a googleRpcStatus body, before any handling other than Hold. route is a
// path below /apis/v2beta1/, such as "runs" or "runs/run-0001", optionally
// after a method, as in "POST runs". The segment "{run_id}" matches any run
// ID, and the terminate call of any run too, "{run_id}:terminate" only the
// terminate call, and a leading "/apis/v2beta1/" is accepted. A later call for the same route replaces
// the earlier one.
func (f *Fake) FailNext(route string, status int, n int) {
	f.FailNextRetryAfter(route, status, n, 0)
}

// FailNextRetryAfter is FailNext with a "Retry-After: <seconds>" header on
// each failure, rounded down to whole seconds. A wait of 0 sends no header.
func (f *Fake) FailNextRetryAfter(route string, status int, n int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = replaceFailure(f.failures, &failure{route: parseRoute(route), status: status,
		retryAfter: retryAfter, remaining: n})
}

// DropResponseNext makes the server handle the next n requests that match
// route in full and then close the connection without a response. A POST
// still creates its run, as it would when the client crashes or the
// network fails after the server has acted. route has the form FailNext
// takes. NOTE: net/http's Transport may resend a GET on its own after such
// a drop, so drops suit POST routes best.
func (f *Fake) DropResponseNext(route string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drops = replaceFailure(f.drops, &failure{route: parseRoute(route), remaining: n})
}

// Hold makes every request that matches route wait until the returned
// release is called, so a test can catch a client in the middle of a call.
// route has the form FailNext takes.
func (f *Fake) Hold(route string) (release func()) {
	pattern := parseRoute(route)
	gate := make(chan struct{})
	f.mu.Lock()
	f.holds[pattern] = gate
	f.mu.Unlock()

	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.holds, pattern)
			f.mu.Unlock()
			close(gate)
		})
	}
}

// Calls returns one readable line per request, rejected ones included,
// oldest first. Examples:
//
//	POST runs nightly-train
//	GET runs experiment_id=exp-1 filter=display_name EQUALS "nightly-train"
//	GET runs experiment_id=exp-1 filter=display_name EQUALS "nightly-train" page_token=b2Zmc2V0OjIw
//	GET runs/run-0001 (RUNNING)
//	POST runs/run-0001:terminate
//	GET runs/run-0009 → 404 NOT_FOUND
//	POST runs (injected) → 503 UNAVAILABLE
//	POST runs nightly-train (response dropped)
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

// newID returns the next run ID. The caller holds f.mu.
func (f *Fake) newID() string {
	for {
		f.nextID++
		id := fmt.Sprintf("run-%04d", f.nextID)
		if f.byID[id] == nil {
			return id
		}
	}
}

// timestamp returns now in UTC, cut to whole seconds as the API server
// stores times.
func (f *Fake) timestamp() time.Time {
	return f.now().UTC().Truncate(time.Second)
}

// store adds a run. The caller holds f.mu.
func (f *Fake) store(stored *storedRun) {
	f.runs = append(f.runs, stored)
	f.byID[stored.run.ID] = stored
}

// outcome returns the final state for a run named displayName. The caller
// holds f.mu.
func (f *Fake) outcome(displayName string) string {
	best, state := -1, kfp.StateSucceeded
	for prefix, outcome := range f.outcomes {
		if strings.HasPrefix(displayName, prefix) && len(prefix) > best {
			best, state = len(prefix), outcome
		}
	}
	return state
}

// advance moves a run one step towards its outcome, or a terminated run
// towards CANCELED. The caller holds f.mu.
func (f *Fake) advance(stored *storedRun) {
	outcome := f.outcome(stored.run.DisplayName)
	switch stored.run.State {
	case kfp.StateCanceling:
		if stored.cancelingGets > 0 {
			stored.cancelingGets--
			return
		}
		f.setState(stored, kfp.StateCanceled)
	case kfp.StatePending:
		if outcome != kfp.StatePending {
			f.setState(stored, kfp.StateRunning)
		}
	case kfp.StateRunning:
		if outcome != kfp.StateRunning && outcome != kfp.StatePending {
			f.setState(stored, outcome)
		}
	}
}

func (f *Fake) setState(stored *storedRun, state string) {
	now := f.timestamp()
	stored.run.State = state
	stored.history = append(stored.history, stateChange{state: state, at: now})
	if kfp.Terminal(state) {
		stored.run.FinishedAt = now
	}
	if state == kfp.StateFailed {
		var status struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(exampleError(), &status)
		stored.run.Error = status.Message
		stored.failedByFake = true
	}
}

func cloneRun(run kfp.Run) kfp.Run {
	run.Parameters = maps.Clone(run.Parameters)
	return run
}

// replaceFailure returns failures with added in place of an entry for the
// same route.
func replaceFailure(failures []*failure, added *failure) []*failure {
	failures = slices.DeleteFunc(failures, func(existing *failure) bool { return existing.route == added.route })
	return append(failures, added)
}

// takeFailure consumes one fault from failures that matches the request,
// if any is left. The caller holds f.mu.
func takeFailure(failures []*failure, method, path string) (*failure, bool) {
	for _, injected := range failures {
		if injected.remaining > 0 && injected.route.matches(method, path) {
			injected.remaining--
			return injected, true
		}
	}
	return nil, false
}

// wait blocks while a hold matches the request.
func (f *Fake) wait(r *http.Request, path string) {
	f.mu.Lock()
	var gate chan struct{}
	for pattern, held := range f.holds {
		if pattern.matches(r.Method, path) {
			gate = held
			break
		}
	}
	f.mu.Unlock()
	if gate == nil {
		return
	}

	select {
	case <-gate:
	case <-r.Context().Done():
	}
}

// route is a request pattern of FailNext, DropResponseNext and Hold.
type route struct {
	method string // "" matches every method
	// path is below /apis/v2beta1/, matched segment by segment with
	// matchSegment.
	path string
}

func parseRoute(text string) route {
	text = strings.TrimSpace(text)
	var parsed route
	if method, rest, ok := strings.Cut(text, " "); ok && method == strings.ToUpper(method) {
		parsed.method, text = method, strings.TrimSpace(rest)
	}
	text = strings.TrimPrefix(text, apiPrefix)
	parsed.path = strings.Trim(text, "/")
	return parsed
}

func (r route) matches(method, path string) bool {
	if r.method != "" && r.method != method {
		return false
	}
	want := strings.Split(r.path, "/")
	got := strings.Split(path, "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !matchSegment(want[i], got[i]) {
			return false
		}
	}
	return true
}

// matchSegment matches one path segment against a route's. "{run_id}"
// matches any segment, the terminate call's "run-1:terminate" too, and
// "{run_id}:terminate" only a segment with a run ID before ":terminate".
func matchSegment(want, got string) bool {
	if want == "{run_id}" {
		return true
	}
	suffix, isTemplate := strings.CutPrefix(want, "{run_id}")
	if !isTemplate {
		return want == got
	}
	runID, ok := strings.CutSuffix(got, suffix)
	return ok && runID != ""
}
