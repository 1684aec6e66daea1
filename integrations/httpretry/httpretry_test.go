package httpretry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// script serves the responses of steps in order, one a request, then 200.
// A step is a status, or 0 to close the connection without a response.
type script struct {
	mu     sync.Mutex
	steps  []step
	bodies []string
	times  []time.Time
}

type step struct {
	status     int
	retryAfter string
	delay      time.Duration
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(body))
	s.times = append(s.times, time.Now())
	next := step{status: http.StatusOK}
	if len(s.steps) > 0 {
		next, s.steps = s.steps[0], s.steps[1:]
	}
	s.mu.Unlock()

	time.Sleep(next.delay)
	if next.status == 0 {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	}
	if next.retryAfter != "" {
		w.Header().Set("Retry-After", next.retryAfter)
	}
	w.WriteHeader(next.status)
	_, _ = io.WriteString(w, "reply")
}

func (s *script) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func start(t *testing.T, steps ...step) (*script, string) {
	t.Helper()
	s := &script{steps: steps}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

func client(settings httpretry.Settings, rules httpretry.Rules) *http.Client {
	return &http.Client{Transport: httpretry.New(nil, settings, rules)}
}

var fast = httpretry.Settings{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func do(t *testing.T, c *http.Client, method, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err == nil {
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestGetRetriedAfterServerError(t *testing.T) {
	s, url := start(t, step{status: 503}, step{status: 502})

	resp, err := do(t, client(fast, httpretry.Rules{}), http.MethodGet, url, "")

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 3, s.hits())
}

func TestPostNotRetriedAfterServerError(t *testing.T) {
	s, url := start(t, step{status: 502})

	resp, err := do(t, client(fast, httpretry.Rules{}), http.MethodPost, url, "x")

	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode, "the effect may have happened")
	assert.Equal(t, 1, s.hits())
}

func TestPostNotRetriedAfterHangUp(t *testing.T) {
	s, url := start(t, step{status: 0})

	_, err := do(t, client(fast, httpretry.Rules{}), http.MethodPost, url, "x")

	require.Error(t, err)
	assert.Equal(t, 1, s.hits())
}

func TestReplayableRuleAllowsPostRetry(t *testing.T) {
	s, url := start(t, step{status: 0}, step{status: 500})
	rules := httpretry.Rules{Replayable: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/set-tag") }}

	resp, err := do(t, client(fast, rules), http.MethodPost, url+"/set-tag", "same body")

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, []string{"same body", "same body", "same body"}, s.bodies, "each attempt sends the whole body")
}

func TestRateLimitWaitsRetryAfter(t *testing.T) {
	s, url := start(t, step{status: 429, retryAfter: "1"})

	resp, err := do(t, client(fast, httpretry.Rules{}), http.MethodPost, url, "x")

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a 429 means the server did not act, so a POST is sent again")
	require.Len(t, s.times, 2)
	assert.GreaterOrEqual(t, s.times[1].Sub(s.times[0]), time.Second)
}

func TestLongRetryAfterFailsFast(t *testing.T) {
	s, url := start(t, step{status: 429, retryAfter: "30"})
	c := client(fast, httpretry.Rules{})

	resp, err := do(t, c, http.MethodGet, url, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "a wait past MaxWait goes back to the caller")

	started := time.Now()
	_, err = do(t, c, http.MethodGet, url+"/other", "")
	require.Error(t, err)
	wait, ok := httpretry.RetryAfter(err)
	require.True(t, ok, "the held request fails with a WaitError: %v", err)
	assert.InDelta(t, 30, wait.Seconds(), 1)
	assert.Less(t, time.Since(started), time.Second)
	assert.Equal(t, 1, s.hits(), "the held request is not sent")
}

func TestGateHoldsOtherRequests(t *testing.T) {
	s, url := start(t, step{status: 429, retryAfter: "1"})
	c := client(fast, httpretry.Rules{})

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = do(t, c, http.MethodGet, url+"/a", "")
	}()
	require.Eventually(t, func() bool { return s.hits() == 1 }, time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	_, err := do(t, c, http.MethodGet, url+"/b", "")
	require.NoError(t, err)
	wg.Wait()

	require.Len(t, s.times, 3)
	for _, at := range s.times[1:] {
		assert.GreaterOrEqual(t, at.Sub(s.times[0]), time.Second, "no request goes out before the Retry-After ends")
	}
}

func TestGateKeyRule(t *testing.T) {
	s, url := start(t, step{status: 429, retryAfter: "1"})
	c := client(fast, httpretry.Rules{GateKey: func(r *http.Request) string { return r.URL.Path }})

	_, err := do(t, c, http.MethodGet, url+"/a", "")
	require.NoError(t, err)
	started := time.Now()
	_, err = do(t, c, http.MethodGet, url+"/b", "")
	require.NoError(t, err)

	assert.Less(t, time.Since(started), 500*time.Millisecond, "another key is not held")
	assert.Equal(t, 3, s.hits())
}

func TestLimitedRule(t *testing.T) {
	s, url := start(t, step{status: 403, retryAfter: "1"})
	rules := httpretry.Rules{Limited: func(resp *http.Response) (time.Duration, bool) {
		if resp.StatusCode != http.StatusForbidden {
			return 0, false
		}
		return httpretry.ParseRetryAfter(resp.Header, time.Now())
	}}

	resp, err := do(t, client(fast, rules), http.MethodPost, url, "x")

	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 2, s.hits())
}

func TestHeaderTimeout(t *testing.T) {
	s, url := start(t, step{status: 200, delay: 300 * time.Millisecond}, step{status: 200, delay: 300 * time.Millisecond})
	settings := fast
	settings.HeaderTimeout = 50 * time.Millisecond

	_, err := do(t, client(settings, httpretry.Rules{}), http.MethodPost, url, "x")
	require.Error(t, err)
	var timeout interface{ Timeout() bool }
	assert.True(t, errors.As(err, &timeout) && timeout.Timeout(), "error: %v", err)
	assert.Equal(t, 1, s.hits(), "a POST that timed out is not sent again")

	resp, err := do(t, client(settings, httpretry.Rules{}), http.MethodGet, url, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a GET is sent again")
}

func TestHeaderTimeoutLeavesBodyAlone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(200 * time.Millisecond)
		_, _ = io.WriteString(w, "late body")
	}))
	defer srv.Close()
	settings := fast
	settings.HeaderTimeout = 50 * time.Millisecond
	c := client(settings, httpretry.Rules{})

	resp, err := c.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)

	require.NoError(t, err, "the timeout stops once the headers arrive")
	assert.Equal(t, "late body", string(body))
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRefusedConnectionRetriesAnyMethod(t *testing.T) {
	sends := 0
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sends++
		if sends < 3 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
		return &http.Response{StatusCode: http.StatusCreated, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	c := &http.Client{Transport: httpretry.New(base, fast, httpretry.Rules{})}

	resp, err := do(t, c, http.MethodPost, "http://127.0.0.1:1/x", "x")

	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, 3, sends)
}

func TestMaxAttemptsOne(t *testing.T) {
	s, url := start(t, step{status: 503})
	settings := fast
	settings.MaxAttempts = 1

	resp, err := do(t, client(settings, httpretry.Rules{}), http.MethodGet, url, "")

	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, 1, s.hits())
}

func TestContextEndsWait(t *testing.T) {
	_, url := start(t, step{status: 429, retryAfter: "3"})
	settings := fast
	settings.MaxWait = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)

	started := time.Now()
	_, err = client(settings, httpretry.Rules{}).Do(req)

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(started), 2*time.Second)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"5", 5 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := httpretry.ParseRetryAfter(http.Header{"Retry-After": {tt.value}}, now)
		assert.Equal(t, tt.ok, ok, tt.value)
		assert.Equal(t, tt.want, got, tt.value)
	}
}
