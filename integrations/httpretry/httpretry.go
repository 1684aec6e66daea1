// Package httpretry retries the HTTP requests of the API clients in
// integrations/ after failures that a retry can fix, and holds requests
// back while a server's Retry-After is running.
//
// A request is sent again only when that cannot repeat its effect. Every
// request is retried when the failure shows the server did not act on it:
// a rate limit with Retry-After (429, or what Rules.Limited adds), or a
// connection that was refused. A request that Rules.Replayable accepts is
// also retried after a failure that leaves its outcome unknown, such as a
// 5xx response, a timeout or a connection closed before the response.
// [Once] covers requests that are not replayable. After an unknown outcome
// it reads the server's state to learn whether the effect happened, and
// sends the request again only when it did not.
package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of Settings.
const (
	DefaultMaxAttempts   = 4
	DefaultHeaderTimeout = 10 * time.Second
	DefaultMaxWait       = 5 * time.Second
	DefaultBaseDelay     = 100 * time.Millisecond
	DefaultMaxDelay      = 2 * time.Second
)

// Settings are the knobs of a Transport that a client's Config exposes.
// Zero fields take the defaults above.
type Settings struct {
	// MaxAttempts is how many times one request is sent at most. 1 turns
	// retries off, but Retry-After still holds later requests back.
	MaxAttempts int
	// HeaderTimeout bounds the wait for the response headers of each
	// attempt. It does not bound reading the body. The default lets a hung
	// attempt and a retry fit in River's default job timeout of 1 minute.
	HeaderTimeout time.Duration
	// MaxWait is the longest Retry-After a request waits out inside one
	// call. A longer wait fails the request with a *WaitError, so the
	// caller can schedule the retry instead of holding a worker.
	MaxWait time.Duration
	// BaseDelay and MaxDelay bound the jittered exponential backoff
	// between attempts that no Retry-After governs.
	BaseDelay, MaxDelay time.Duration
}

func (s Settings) withDefaults() Settings {
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if s.HeaderTimeout <= 0 {
		s.HeaderTimeout = DefaultHeaderTimeout
	}
	if s.MaxWait <= 0 {
		s.MaxWait = DefaultMaxWait
	}
	if s.BaseDelay <= 0 {
		s.BaseDelay = DefaultBaseDelay
	}
	if s.MaxDelay <= 0 {
		s.MaxDelay = DefaultMaxDelay
	}
	return s
}

// Rules are the parts of a Transport's policy that depend on the API.
type Rules struct {
	// Replayable reports whether a request may be sent again when its
	// outcome is unknown. When nil, GET and HEAD are replayable.
	Replayable func(*http.Request) bool
	// Limited reports whether a response, other than a 429 with
	// Retry-After, rejected the request before the server acted on it, and
	// how long to wait. When nil, only 429 counts.
	Limited func(*http.Response) (time.Duration, bool)
	// GateKey names the requests that share a Retry-After: a wait the
	// server sets on one request holds back every request with the same
	// key. When nil, the key is the host, so the wait covers the server.
	GateKey func(*http.Request) string
}

// Transport is an http.RoundTripper that retries as the package comment
// describes. It is safe for concurrent use.
type Transport struct {
	base     http.RoundTripper
	settings Settings
	rules    Rules

	mu        sync.Mutex
	notBefore map[string]time.Time // gate key to the end of its Retry-After
}

// New returns a Transport that sends through base, http.DefaultTransport
// when nil.
func New(base http.RoundTripper, settings Settings, rules Rules) *Transport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, settings: settings.withDefaults(), rules: rules, notBefore: map[string]time.Time{}}
}

// WaitError is returned, without a request being sent, when a Retry-After
// still has longer than Settings.MaxWait to run.
type WaitError struct {
	Until time.Time
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("not sent: the server asked to wait until %s (Retry-After)", e.Until.UTC().Format(time.RFC3339))
}

// RetryAfter returns the time left until Until, never negative.
func (e *WaitError) RetryAfter() time.Duration { return max(time.Until(e.Until), 0) }

// RetryAfter returns the wait left of a *WaitError in err's chain.
func RetryAfter(err error) (time.Duration, bool) {
	var wait *WaitError
	if errors.As(err, &wait) {
		return wait.RetryAfter(), true
	}
	return 0, false
}

// headerTimeoutError is an attempt that got no response headers within
// Settings.HeaderTimeout.
type headerTimeoutError struct {
	after time.Duration
}

func (e *headerTimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for response headers", e.after)
}

// Timeout reports true, as net.Error timeouts do.
func (e *headerTimeoutError) Timeout() bool { return true }

// RoundTrip sends req, and sends it again as the package comment describes.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := t.gateKey(req)
	for attempt := 1; ; attempt++ {
		if err := t.waitGate(req.Context(), key); err != nil {
			closeBody(req, attempt)
			return nil, err
		}
		send, err := rewind(req, attempt)
		if err != nil {
			return nil, err
		}
		resp, err := t.send(send)
		if req.Context().Err() != nil {
			return resp, err
		}

		wait, hasWait := t.waitOf(resp)
		if hasWait {
			t.hold(key, wait)
		}
		last := attempt >= t.settings.MaxAttempts || !canRewind(req)
		switch {
		case err == nil && t.limited(resp, wait, hasWait):
			if last || wait > t.settings.MaxWait {
				return resp, nil
			}
			drain(resp)
			// The next turn waits for the gate.
		case err != nil && notSent(err):
			if last {
				return nil, err
			}
			sleep(req.Context(), t.backoff(attempt))
		case unknownOutcome(resp, err):
			if last || !t.replayable(req) {
				return resp, err
			}
			if resp != nil {
				drain(resp)
			}
			sleep(req.Context(), t.backoff(attempt))
		default:
			return resp, err
		}
	}
}

func (t *Transport) gateKey(req *http.Request) string {
	if t.rules.GateKey != nil {
		return t.rules.GateKey(req)
	}
	return req.URL.Host
}

func (t *Transport) replayable(req *http.Request) bool {
	if t.rules.Replayable != nil {
		return t.rules.Replayable(req)
	}
	return req.Method == http.MethodGet || req.Method == http.MethodHead
}

// waitOf returns the wait a response asked for: Retry-After on any
// response, or what Rules.Limited reads.
func (t *Transport) waitOf(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	if t.rules.Limited != nil {
		if wait, ok := t.rules.Limited(resp); ok {
			return wait, true
		}
	}
	return ParseRetryAfter(resp.Header, time.Now())
}

// limited reports whether the response rejected the request before the
// server acted on it.
func (t *Transport) limited(resp *http.Response, wait time.Duration, hasWait bool) bool {
	if resp.StatusCode == http.StatusTooManyRequests && hasWait {
		return true
	}
	if t.rules.Limited != nil {
		_, ok := t.rules.Limited(resp)
		return ok
	}
	return false
}

// hold makes the requests with key wait until now plus d.
func (t *Transport) hold(key string, d time.Duration) {
	until := time.Now().Add(d)
	t.mu.Lock()
	defer t.mu.Unlock()
	if until.After(t.notBefore[key]) {
		t.notBefore[key] = until
	}
}

// waitGate waits out the Retry-After of key, or fails with a *WaitError
// when that is longer than MaxWait.
func (t *Transport) waitGate(ctx context.Context, key string) error {
	t.mu.Lock()
	until := t.notBefore[key]
	t.mu.Unlock()
	wait := time.Until(until)
	if wait <= 0 {
		return nil
	}
	if wait > t.settings.MaxWait {
		return &WaitError{Until: until}
	}
	return sleep(ctx, wait)
}

// send makes one attempt, bounded by HeaderTimeout until the headers
// arrive. The attempt's context ends when the body is closed.
func (t *Transport) send(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	timer := time.AfterFunc(t.settings.HeaderTimeout, cancel)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if !timer.Stop() {
		// The timer fired, so the attempt's context is cancelled, even if
		// the headers arrived just in time.
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, &headerTimeoutError{after: t.settings.HeaderTimeout}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// backoff returns a random delay up to BaseDelay doubled per attempt,
// capped at MaxDelay ("full jitter").
func (t *Transport) backoff(attempt int) time.Duration {
	ceiling := t.settings.BaseDelay << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > t.settings.MaxDelay {
		ceiling = t.settings.MaxDelay
	}
	return time.Duration(rand.Int64N(int64(ceiling)) + 1)
}

// notSent reports whether err shows the request never reached the server:
// the connection was refused or could not be made.
func notSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// NotSent reports whether err shows that a request never reached the
// server: a refused connection, or a *WaitError.
func NotSent(err error) bool {
	_, waiting := RetryAfter(err)
	return waiting || notSent(err)
}

// unknownOutcome reports whether the server may or may not have acted on
// the request: a 5xx response, or an error after the request may have been
// sent.
func unknownOutcome(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	return resp.StatusCode >= 500
}

// rewind returns the request to send for attempt: req itself first, then
// copies with a fresh body.
func rewind(req *http.Request, attempt int) (*http.Request, error) {
	if attempt == 1 {
		return req, nil
	}
	copied := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("rewinding the request body: %w", err)
		}
		copied.Body = body
	}
	return copied, nil
}

// canRewind reports whether req can be sent more than once.
func canRewind(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// closeBody closes the body of a request that is not sent, as the
// RoundTripper contract requires. After the first attempt the base
// transport has closed it.
func closeBody(req *http.Request, attempt int) {
	if attempt == 1 && req.Body != nil {
		req.Body.Close()
	}
}

// drain reads and closes a response that is retried, so its connection can
// be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// sleep waits d or until ctx ends, and returns ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ParseRetryAfter reads a Retry-After header given in seconds or as an
// HTTP date. The wait is never negative.
func ParseRetryAfter(header http.Header, now time.Time) (time.Duration, bool) {
	value := header.Get("Retry-After")
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		return max(time.Duration(seconds)*time.Second, 0), true
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// cancelOnClose ends an attempt's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
