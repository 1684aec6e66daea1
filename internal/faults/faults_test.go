package faults_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/internal/faults"
)

// server serves an injector in front of a handler that counts its runs and
// responds 201 "created".
func server(t *testing.T, cfg faults.Config) (*httptest.Server, *faults.Injector, *atomic.Int64) {
	t.Helper()
	runs := &atomic.Int64{}
	inj := faults.New(cfg)
	srv := httptest.NewServer(inj.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "created")
	})))
	t.Cleanup(srv.Close)
	return srv, inj, runs
}

func post(t *testing.T, client *http.Client, url, authorization string) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("{}"))
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

func TestServerErrorBeforeSkipsHandler(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.Before}})

	resp, _, err := post(t, srv.Client(), srv.URL+"/x", "")

	require.NoError(t, err)
	assert.Contains(t, []int{500, 502, 503}, resp.StatusCode)
	assert.Zero(t, runs.Load(), "the effect did not happen")
	require.Len(t, inj.Faults(), 1)
	assert.Equal(t, faults.Before, inj.Faults()[0].Mode)
	assert.Equal(t, "POST /x", inj.Faults()[0].Route())
}

func TestServerErrorAfterRunsHandler(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.After}})

	resp, body, err := post(t, srv.Client(), srv.URL+"/x", "")

	require.NoError(t, err)
	assert.GreaterOrEqual(t, resp.StatusCode, 500)
	assert.NotContains(t, body, "created", "the handler's response is dropped")
	assert.Equal(t, int64(1), runs.Load(), "the effect happened")
	assert.Equal(t, 1, inj.Count(faults.ServerError, faults.After))
}

func TestTimeoutHoldsPastClientTimeout(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Timeout}, Modes: []faults.Mode{faults.Before},
		Hold: 5 * time.Second})
	client := &http.Client{Timeout: 200 * time.Millisecond}

	started := time.Now()
	_, _, err := post(t, client, srv.URL+"/x", "")

	require.Error(t, err)
	var netErr interface{ Timeout() bool }
	require.True(t, errors.As(err, &netErr) && netErr.Timeout(), "the client timed out: %v", err)
	assert.Less(t, time.Since(started), 4*time.Second)
	require.Eventually(t, func() bool { return len(inj.Faults()) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the hold ends when the client goes away")
	assert.Zero(t, runs.Load())
}

func TestTimeoutAfterClosesWithoutResponse(t *testing.T) {
	srv, _, runs := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Timeout}, Modes: []faults.Mode{faults.After},
		Hold: 50 * time.Millisecond})

	_, _, err := post(t, srv.Client(), srv.URL+"/x", "")

	require.Error(t, err, "the connection closes without a response")
	assert.Equal(t, int64(1), runs.Load())
}

func TestHangUpClosesConnection(t *testing.T) {
	srv, inj, _ := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.HangUp}})

	_, _, err := post(t, srv.Client(), srv.URL+"/x", "")

	require.Error(t, err)
	require.Len(t, inj.Faults(), 1)
	assert.Zero(t, inj.Faults()[0].Status)
}

func TestRateLimitRecordsNotBefore(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}, RetryAfter: 1500 * time.Millisecond})

	resp, _, err := post(t, srv.Client(), srv.URL+"/x", "")

	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"), "whole seconds, rounded up")
	assert.Zero(t, runs.Load())
	fault := inj.Faults()[0]
	assert.Equal(t, faults.Before, fault.Mode, "limits are checked before the handler")
	assert.Equal(t, 2*time.Second, fault.RetryAfter)
	assert.Equal(t, fault.At.Add(2*time.Second), fault.NotBefore)
}

func TestViolationsListEarlyCalls(t *testing.T) {
	srv, inj, _ := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}})
	_, _, err := post(t, srv.Client(), srv.URL+"/x", "")
	require.NoError(t, err)
	inj.SetRate(0)

	time.Sleep(20 * time.Millisecond)
	_, _, err = post(t, srv.Client(), srv.URL+"/x", "")
	require.NoError(t, err)
	_, _, err = post(t, srv.Client(), srv.URL+"/other", "")
	require.NoError(t, err)

	violations := inj.Violations(5 * time.Millisecond)
	require.Len(t, violations, 1, "only the call on the same route counts")
	assert.Equal(t, "POST /x", violations[0].Call.Route())
	assert.Empty(t, inj.Violations(time.Second), "a call within the grace is not a violation")
}

func TestViolationsIgnoreCallsAfterWait(t *testing.T) {
	srv, inj, _ := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}})
	_, _, err := post(t, srv.Client(), srv.URL+"/x", "")
	require.NoError(t, err)
	inj.SetRate(0)

	time.Sleep(time.Second + 10*time.Millisecond)
	_, _, err = post(t, srv.Client(), srv.URL+"/x", "")
	require.NoError(t, err)

	assert.Empty(t, inj.Violations(0))
}

func TestSecondaryRateLimitBody(t *testing.T) {
	srv, _, _ := server(t, faults.Config{Rate: 1, Flavor: faults.GitHub, Kinds: []faults.Kind{faults.SecondaryRateLimit}})

	resp, body, err := post(t, srv.Client(), srv.URL+"/repos/a/b/issues", "token t1")

	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Contains(t, body, "You have exceeded a secondary rate limit")
	assert.Contains(t, body, "#about-secondary-rate-limits")
}

func TestExpiredTokenStaysExpired(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: 1, Flavor: faults.GitHub, Kinds: []faults.Kind{faults.ExpiredToken}})

	resp, _, err := post(t, srv.Client(), srv.URL+"/x", "token t1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "a token that has served no request yet does not expire")

	resp, body, err := post(t, srv.Client(), srv.URL+"/x", "token t1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, body, "Bad credentials")
	inj.SetRate(0)

	resp, _, err = post(t, srv.Client(), srv.URL+"/y", "token t1")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the expired token stays expired")

	resp, _, err = post(t, srv.Client(), srv.URL+"/y", "token t2")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "a new token works")
	assert.Equal(t, int64(2), runs.Load())

	recorded := inj.Faults()
	require.Len(t, recorded, 2)
	assert.False(t, recorded[0].Repeat)
	assert.True(t, recorded[1].Repeat)
}

func TestExpiredTokenNeedsInstallationToken(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: 1, Flavor: faults.GitHub, Kinds: []faults.Kind{faults.ExpiredToken}})

	resp, _, err := post(t, srv.Client(), srv.URL+"/app/installations/1/access_tokens", "Bearer jwt")

	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "an app JWT never expires here")
	assert.Equal(t, int64(1), runs.Load())
	assert.Empty(t, inj.Faults())
}

func TestFlavorBodies(t *testing.T) {
	tests := []struct {
		flavor faults.Flavor
		kind   faults.Kind
		want   string
	}{
		{faults.Slack, faults.RateLimit, `{"ok":false,"error":"ratelimited"}`},
		{faults.MLflow, faults.RateLimit, `"error_code":"REQUEST_LIMIT_EXCEEDED"`},
		{faults.MLflow, faults.ServerError, `"error_code":"INTERNAL_ERROR"`},
		{faults.GitHub, faults.RateLimit, `"documentation_url"`},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			srv, _, _ := server(t, faults.Config{Rate: 1, Flavor: tt.flavor, Kinds: []faults.Kind{tt.kind}, Modes: []faults.Mode{faults.Before}})
			_, body, err := post(t, srv.Client(), srv.URL+"/x", "")
			require.NoError(t, err)
			assert.Contains(t, body, tt.want)
		})
	}
}

func TestDefaultRateAndSeed(t *testing.T) {
	run := func(seed uint64) []faults.Fault {
		srv, inj, _ := server(t, faults.Config{Seed: seed, Kinds: []faults.Kind{faults.ServerError, faults.RateLimit}})
		for range 1000 {
			_, _, err := post(t, srv.Client(), srv.URL+"/x", "")
			require.NoError(t, err)
		}
		return inj.Faults()
	}

	first := run(7)
	assert.InDelta(t, 200, len(first), 50, "about 20%% of requests fail by default")
	second := run(7)
	require.Equal(t, len(first), len(second), "the same seed gives the same faults")
	for i := range first {
		assert.Equal(t, first[i].Kind, second[i].Kind)
		assert.Equal(t, first[i].Status, second[i].Status)
	}
	assert.NotEqual(t, len(first), len(run(8)), "another seed gives other faults")
}

func TestNegativeRateAndSkip(t *testing.T) {
	srv, inj, runs := server(t, faults.Config{Rate: -1})
	resp, _, err := post(t, srv.Client(), srv.URL+"/x", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)

	skipped, skipInj, _ := server(t, faults.Config{Rate: 1, Skip: func(r *http.Request) bool { return r.URL.Path == "/healthz" }})
	resp, _, err = post(t, skipped.Client(), skipped.URL+"/healthz", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Empty(t, skipInj.Faults())
	assert.Len(t, skipInj.Calls(), 1, "a skipped request is still recorded")
	assert.Equal(t, int64(1), runs.Load())
	assert.Empty(t, inj.Faults())
}

func TestClientGoneEndsHold(t *testing.T) {
	srv, inj, _ := server(t, faults.Config{Rate: 1, Kinds: []faults.Kind{faults.Timeout}, Hold: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	require.NoError(t, err)

	_, err = srv.Client().Do(req)

	require.Error(t, err)
	require.Eventually(t, func() bool { return len(inj.Faults()) == 1 }, 5*time.Second, 10*time.Millisecond)
}
