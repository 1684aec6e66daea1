// Package faults is HTTP middleware that makes a share of the requests to a
// fake server fail the way GitHub, Slack and MLflow fail in production, so
// tests can check that a client still applies every effect exactly once.
//
// An [Injector] picks a fault for a request with a seeded random number
// generator. Server errors, timeouts and hang-ups happen in one of two
// modes: [Before] the wrapped handler runs, so the effect did not happen,
// or [After] it ran, so the effect happened and only the response was
// lost. Rate limits and expired tokens happen only before the handler,
// because servers check limits and credentials before they act.
//
// The injector records every fault and every request it saw. For a fault
// that sent Retry-After it records when the client may call again, and
// [Injector.Violations] lists the later requests on the same route that
// came too early.
package faults

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind is a kind of fault.
type Kind string

// The kinds of fault an Injector makes.
const (
	// ServerError responds 500, 502 or 503.
	ServerError Kind = "server-error"
	// Timeout holds the request for Config.Hold, or until the client gives
	// up, then closes the connection without a response.
	Timeout Kind = "timeout"
	// HangUp closes the connection without a response after a delay of up
	// to Config.HangUpDelay.
	HangUp Kind = "hang-up"
	// RateLimit responds 429 with Retry-After.
	RateLimit Kind = "rate-limit"
	// SecondaryRateLimit responds as GitHub's secondary rate limit does:
	// 403 with Retry-After and "You have exceeded a secondary rate limit".
	// Only the GitHub flavor makes it.
	SecondaryRateLimit Kind = "secondary-rate-limit"
	// ExpiredToken responds 401 "Bad credentials" to a request with a
	// GitHub installation token, and to every later request with that
	// token, so the client must mint a new one. A token expires only after
	// it has served a request, because a token GitHub has just minted is
	// valid. Only the GitHub flavor makes it.
	ExpiredToken Kind = "expired-token"
)

// Mode records whether the wrapped handler ran before the fault.
type Mode string

// The two modes of a fault.
const (
	// Before means the handler did not run, so the effect did not happen.
	Before Mode = "before"
	// After means the handler ran and its response was dropped, so the
	// effect happened and the client cannot tell.
	After Mode = "after"
)

// Flavor selects the error bodies and the kinds of fault that fit one
// service.
type Flavor int

// The services whose failures an Injector imitates.
const (
	// Generic writes plain-text error bodies.
	Generic Flavor = iota
	// GitHub writes GitHub's JSON error bodies and adds SecondaryRateLimit
	// and ExpiredToken to the default kinds.
	GitHub
	// Slack writes Slack's {"ok": false, "error": "ratelimited"} for 429.
	Slack
	// MLflow writes MLflow's {"error_code", "message"} bodies.
	MLflow
)

// Defaults of Config.
const (
	DefaultRate        = 0.2
	DefaultHold        = 2 * time.Second
	DefaultHangUpDelay = 50 * time.Millisecond
	DefaultRetryAfter  = time.Second
)

// GitHub's documented message and documentation URL for its secondary rate
// limit. go-github v60 recognizes the limit by the URL's suffix
// "secondary-rate-limits".
const (
	secondaryRateLimitMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	secondaryRateLimitDocs    = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)

// Config configures an Injector.
type Config struct {
	// Rate is the share of requests that fail, from 0 to 1. Zero means
	// DefaultRate. A negative rate injects nothing until SetRate.
	Rate float64
	// Seed seeds the random choices. The sequence of choices is fixed by
	// the seed, but with concurrent requests which request gets which
	// choice depends on their arrival order.
	Seed uint64
	// Kinds lists the faults to make, each equally likely. When empty, it is
	// every kind the Flavor supports.
	Kinds []Kind
	// Modes lists the modes that server errors, timeouts and hang-ups may
	// take, each equally likely. When empty, it is Before and After.
	Modes []Mode
	// Flavor selects the error bodies. The fakes set it.
	Flavor Flavor
	// Hold is how long a Timeout holds a request, DefaultHold when zero.
	// Set it longer than the client's timeout.
	Hold time.Duration
	// HangUpDelay is the longest delay before a HangUp closes the
	// connection, DefaultHangUpDelay when zero.
	HangUpDelay time.Duration
	// RetryAfter is the wait that rate limits ask for, DefaultRetryAfter
	// when zero. It is sent in whole seconds, rounded up.
	RetryAfter time.Duration
	// Skip, when set, exempts the requests it returns true for.
	Skip func(*http.Request) bool
}

// Fault is the record of one injected fault.
type Fault struct {
	Kind   Kind
	Mode   Mode
	Method string
	Path   string
	// Status is the status sent, or 0 when the connection was closed
	// without a response.
	Status int
	// At is when the response was sent or the connection closed.
	At time.Time
	// RetryAfter is the wait the response asked for, or 0.
	RetryAfter time.Duration
	// NotBefore is At plus RetryAfter, the time before which the client
	// must not call the same route again. It is zero without RetryAfter.
	NotBefore time.Time
	// Repeat is set on an ExpiredToken fault for a token that an earlier
	// fault had already expired.
	Repeat bool
}

// Route returns the method and path the fault applied to, such as
// "POST /repos/acme/ml-requests/issues".
func (f Fault) Route() string { return f.Method + " " + f.Path }

// Call is the record of one request the Injector saw, faulted or not.
type Call struct {
	Method string
	Path   string
	At     time.Time // arrival
}

// Route returns the call's method and path.
func (c Call) Route() string { return c.Method + " " + c.Path }

// Violation is a request that arrived on a route before the time that a
// Retry-After fault on that route had set.
type Violation struct {
	Fault Fault
	Call  Call
}

// Injector is the middleware. It is safe for concurrent use.
type Injector struct {
	cfg Config

	mu      sync.Mutex
	rate    float64
	random  *rand.Rand
	faults  []Fault
	calls   []Call
	expired map[string]bool // installation tokens an ExpiredToken fault expired
	used    map[string]bool // installation tokens that have served a request
}

// New returns an Injector with cfg's defaults filled in.
func New(cfg Config) *Injector {
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = defaultKinds(cfg.Flavor)
	}
	if len(cfg.Modes) == 0 {
		cfg.Modes = []Mode{Before, After}
	}
	if cfg.Hold == 0 {
		cfg.Hold = DefaultHold
	}
	if cfg.HangUpDelay == 0 {
		cfg.HangUpDelay = DefaultHangUpDelay
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = DefaultRetryAfter
	}
	seconds := (cfg.RetryAfter + time.Second - 1) / time.Second
	cfg.RetryAfter = seconds * time.Second
	return &Injector{
		cfg:     cfg,
		rate:    cfg.Rate,
		random:  rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		expired: map[string]bool{},
		used:    map[string]bool{},
	}
}

func defaultKinds(flavor Flavor) []Kind {
	kinds := []Kind{ServerError, Timeout, HangUp, RateLimit}
	if flavor == GitHub {
		kinds = append(kinds, SecondaryRateLimit, ExpiredToken)
	}
	return kinds
}

// SetRate changes the share of requests that fail. A rate of 0 or less
// stops new faults; tokens already expired stay expired.
func (in *Injector) SetRate(rate float64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rate = rate
}

// Faults returns the faults injected so far, oldest first.
func (in *Injector) Faults() []Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.faults)
}

// Calls returns every request seen so far, in arrival order.
func (in *Injector) Calls() []Call {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.calls)
}

// Count returns how many faults of kind were injected in mode.
func (in *Injector) Count(kind Kind, mode Mode) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, f := range in.faults {
		if f.Kind == kind && f.Mode == mode {
			n++
		}
	}
	return n
}

// Violations returns the requests that arrived on the route of a
// Retry-After fault after the fault's response and before its NotBefore.
// Requests that arrive within grace of the response are left out: a client
// may have sent them before it read the Retry-After.
func (in *Injector) Violations(grace time.Duration) []Violation {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Violation
	for _, f := range in.faults {
		if f.NotBefore.IsZero() {
			continue
		}
		for _, c := range in.calls {
			if c.Route() == f.Route() && c.At.After(f.At.Add(grace)) && c.At.Before(f.NotBefore) {
				out = append(out, Violation{Fault: f, Call: c})
			}
		}
	}
	return out
}

// Wrap returns next with faults injected in front of it.
func (in *Injector) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.serve(next, w, r)
	})
}

func (in *Injector) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	in.record(Call{Method: r.Method, Path: r.URL.Path, At: time.Now()})
	if in.cfg.Skip != nil && in.cfg.Skip(r) {
		next.ServeHTTP(w, r)
		return
	}
	fault := Fault{Method: r.Method, Path: r.URL.Path}
	token := in.installationToken(r)
	if in.isExpired(token) {
		fault.Kind, fault.Mode, fault.Repeat = ExpiredToken, Before, true
		in.respond(w, r, fault)
		return
	}
	var ok bool
	if fault.Kind, fault.Mode, ok = in.pick(in.wasUsed(token)); !ok {
		in.markUsed(token)
		next.ServeHTTP(w, r)
		return
	}
	if fault.Mode == After {
		// The handler's effect happens; its response goes nowhere.
		next.ServeHTTP(httptest.NewRecorder(), r)
	}
	if fault.Kind == ExpiredToken {
		in.expire(token)
	}
	in.respond(w, r, fault)
}

// pick decides whether the request fails, and how. ExpiredToken is a
// choice only when expirable is set.
func (in *Injector) pick(expirable bool) (Kind, Mode, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.rate <= 0 || in.random.Float64() >= in.rate {
		return "", "", false
	}
	kinds := in.cfg.Kinds
	if !expirable {
		kinds = slices.DeleteFunc(slices.Clone(kinds), func(k Kind) bool { return k == ExpiredToken })
	}
	if len(kinds) == 0 {
		return "", "", false
	}
	kind := kinds[in.random.IntN(len(kinds))]
	mode := Before
	if lossy(kind) {
		mode = in.cfg.Modes[in.random.IntN(len(in.cfg.Modes))]
	}
	return kind, mode, true
}

// lossy reports whether a kind can come after the handler ran.
func lossy(kind Kind) bool {
	return kind == ServerError || kind == Timeout || kind == HangUp
}

// respond writes the fault's response, or closes the connection, and
// records the fault.
func (in *Injector) respond(w http.ResponseWriter, r *http.Request, fault Fault) {
	switch fault.Kind {
	case ServerError:
		fault.Status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[in.intN(3)]
		in.writeError(w, fault.Status, nil)
	case RateLimit:
		fault.Status, fault.RetryAfter = http.StatusTooManyRequests, in.cfg.RetryAfter
		in.writeError(w, fault.Status, retryAfterHeader(fault.RetryAfter))
	case SecondaryRateLimit:
		fault.Status, fault.RetryAfter = http.StatusForbidden, in.cfg.RetryAfter
		writeJSON(w, fault.Status, retryAfterHeader(fault.RetryAfter),
			`{"message":"`+secondaryRateLimitMessage+`","documentation_url":"`+secondaryRateLimitDocs+`"}`)
	case ExpiredToken:
		fault.Status = http.StatusUnauthorized
		writeJSON(w, fault.Status, nil, `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`)
	case Timeout:
		in.wait(r, in.cfg.Hold)
		in.finish(fault)
		hangUp(w)
		return
	case HangUp:
		in.wait(r, time.Duration(in.int64N(int64(in.cfg.HangUpDelay)+1)))
		in.finish(fault)
		hangUp(w)
		return
	}
	in.finish(fault)
}

// finish stamps the fault with the time its response went out and records
// it.
func (in *Injector) finish(fault Fault) {
	fault.At = time.Now()
	if fault.RetryAfter > 0 {
		fault.NotBefore = fault.At.Add(fault.RetryAfter)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.faults = append(in.faults, fault)
}

func (in *Injector) intN(n int) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.random.IntN(n)
}

func (in *Injector) int64N(n int64) int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.random.Int64N(n)
}

// wait returns after d or once the client has gone away.
func (in *Injector) wait(r *http.Request, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
	}
}

func (in *Injector) record(c Call) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls = append(in.calls, c)
}

// installationToken returns the GitHub installation token of a request,
// sent as "Authorization: token …" by ghinstallation, or "" for a request
// without one. App JWTs are sent as "Bearer …" and never expire here.
func (in *Injector) installationToken(r *http.Request) string {
	if in.cfg.Flavor != GitHub {
		return ""
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "token") {
		return ""
	}
	return token
}

func (in *Injector) isExpired(token string) bool {
	if token == "" {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.expired[token]
}

func (in *Injector) wasUsed(token string) bool {
	if token == "" {
		return false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.used[token]
}

func (in *Injector) markUsed(token string) {
	if token == "" {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.used[token] = true
}

func (in *Injector) expire(token string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.expired[token] = true
}

func retryAfterHeader(d time.Duration) http.Header {
	return http.Header{"Retry-After": {strconv.FormatInt(int64(d/time.Second), 10)}}
}

// writeError writes status with the error body of the injector's flavor.
func (in *Injector) writeError(w http.ResponseWriter, status int, header http.Header) {
	text := http.StatusText(status)
	switch in.cfg.Flavor {
	case GitHub:
		writeJSON(w, status, header, `{"message":"`+text+`","documentation_url":"https://docs.github.com/rest"}`)
	case Slack:
		if status == http.StatusTooManyRequests {
			writeJSON(w, status, header, `{"ok":false,"error":"ratelimited"}`)
			return
		}
		writeText(w, status, header, text)
	case MLflow:
		code := "INTERNAL_ERROR"
		if status == http.StatusTooManyRequests {
			code = "REQUEST_LIMIT_EXCEEDED"
		}
		writeJSON(w, status, header, `{"error_code":"`+code+`","message":"`+text+`"}`)
	default:
		writeText(w, status, header, text)
	}
}

func writeJSON(w http.ResponseWriter, status int, header http.Header, body string) {
	for key, values := range header {
		w.Header()[key] = values
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

func writeText(w http.ResponseWriter, status int, header http.Header, body string) {
	for key, values := range header {
		w.Header()[key] = values
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

// hangUp closes the connection without writing a response.
func hangUp(w http.ResponseWriter) {
	if hijacker, ok := w.(http.Hijacker); ok {
		if conn, _, err := hijacker.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// net/http closes the connection and logs nothing for this value.
	panic(http.ErrAbortHandler)
}
