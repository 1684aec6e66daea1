package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/internal/demo"
)

func TestLoadInProcessReportsFigures(t *testing.T) {
	var out bytes.Buffer
	opts := loadOptions{senders: 4, deliveries: 40, timeout: time.Minute}

	require.NoError(t, runLoad(context.Background(), &out, &bytes.Buffer{}, opts), "output:\n%s", out.String())

	text := out.String()
	assert.Contains(t, text, "acknowledged with 2xx: 40 of 40 sent, 0 failed")
	assert.Contains(t, text, "deliveries/s")
	assert.Contains(t, text, "acknowledgement latency: p50 ")
	assert.Contains(t, text, "CPU time of this process while sending: ")
	assert.Contains(t, text, "plain commit loop: 40 commits")
	assert.Contains(t, text, "% of the plain commit loop")
}

func TestLoadRejectsNonLoopbackTarget(t *testing.T) {
	opts := loadOptions{senders: 1, deliveries: 1, timeout: time.Minute, target: "http://192.0.2.1:8080", secret: "s"}

	err := runLoad(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, opts)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "loopback")
}

func TestLoadTargetNeedsSecret(t *testing.T) {
	opts := loadOptions{senders: 1, deliveries: 1, timeout: time.Minute, target: "http://127.0.0.1:1"}

	err := runLoad(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, opts)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing --secret")
}

func TestLoadPercentileNearestRank(t *testing.T) {
	var durations []time.Duration
	for i := 100; i >= 1; i-- {
		durations = append(durations, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, percentile(durations, 50))
	assert.Equal(t, 99*time.Millisecond, percentile(durations, 99))
	assert.Equal(t, 100*time.Millisecond, percentile(durations, 100))
}

func TestSendLoadRedialsAfterConnectionClose(t *testing.T) {
	var served atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || r.Header.Get("X-GitHub-Delivery") == "" || len(body) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if served.Add(1)%2 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer server.Close()
	templates := []demo.LoadTemplate{{Event: "issues", Body: []byte(`{"action":"edited"}`)}}

	result := sendLoad(context.Background(), server.URL+"/github/webhook", []byte("secret"), templates, loadPlan{senders: 3, deliveries: 30})

	assert.Equal(t, 30, result.sent, "sent")
	assert.Equal(t, 0, result.failed, "failed; first failure: %s", result.firstFailure)
	assert.Equal(t, 30, result.acknowledged(), "acknowledged")
	assert.Equal(t, int64(30), served.Load(), "requests the server read")
}

func TestSendLoadCountsErrorStatus(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "could not store the delivery", http.StatusServiceUnavailable)
	}))
	defer server.Close()
	templates := []demo.LoadTemplate{{Event: "issues", Body: []byte(`{}`)}}

	result := sendLoad(context.Background(), server.URL+"/github/webhook", []byte("secret"), templates, loadPlan{senders: 2, deliveries: 4})

	assert.Equal(t, 4, result.sent, "sent")
	assert.Equal(t, 4, result.failed, "failed")
	assert.Contains(t, result.firstFailure, "status 503")
	assert.Contains(t, result.firstFailure, "could not store the delivery")
}

func TestSendLoadKeepsOfferedRate(t *testing.T) {
	var served atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer server.Close()
	templates := []demo.LoadTemplate{{Event: "issues", Body: []byte(`{}`)}}

	// 21 deliveries at 200/s: the last is due 100 ms after the first.
	result := sendLoad(context.Background(), server.URL+"/github/webhook", []byte("secret"), templates,
		loadPlan{senders: 4, deliveries: 21, rate: 200})

	assert.Equal(t, 21, result.acknowledged(), "acknowledged; first failure: %s", result.firstFailure)
	assert.Equal(t, int64(21), served.Load(), "requests the server read")
	assert.GreaterOrEqual(t, result.elapsed, 100*time.Millisecond, "the senders waited for each delivery's time")
}

func TestSendLoadCountsWaitForFreeSender(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer server.Close()
	templates := []demo.LoadTemplate{{Event: "issues", Body: []byte(`{}`)}}

	// One sender, 5 deliveries due 10 ms apart, each acknowledged after 50 ms:
	// the fifth is due at 40 ms, sent at 200 ms at the earliest and
	// acknowledged at 250 ms, so its latency is at least 210 ms.
	result := sendLoad(context.Background(), server.URL+"/github/webhook", []byte("secret"), templates,
		loadPlan{senders: 1, deliveries: 5, rate: 100})

	require.Len(t, result.latencies, 5, "first failure: %s", result.firstFailure)
	assert.GreaterOrEqual(t, slices.Max(result.latencies), 210*time.Millisecond,
		"the latency counts the wait for the sender")
	assert.Equal(t, 4, result.late, "deliveries sent after their time")
}

func TestLoadRejectsInvalidRate(t *testing.T) {
	for _, rate := range []float64{-1, math.NaN(), math.Inf(1)} {
		opts := loadOptions{senders: 1, deliveries: 1, timeout: time.Minute, rate: rate}

		err := runLoad(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, opts)

		require.Error(t, err, "rate %v", rate)
		assert.Contains(t, err.Error(), "invalid --rate", "rate %v", rate)
	}
}

func TestLoadOpenLoopReportsOfferedLoad(t *testing.T) {
	var out bytes.Buffer
	opts := loadOptions{senders: 4, deliveries: 40, timeout: time.Minute, rate: 400}

	require.NoError(t, runLoad(context.Background(), &out, &bytes.Buffer{}, opts), "output:\n%s", out.String())

	text := out.String()
	assert.Contains(t, text, "offered load: 400 deliveries/s (open loop")
	assert.Contains(t, text, "acknowledged with 2xx: 40 of 40 sent, 0 failed")
	assert.Contains(t, text, "after their scheduled time: ")
	assert.Contains(t, text, "offered load = ")
	assert.NotContains(t, text, "durable ingest =", "an open loop does not measure the ingest capacity")
}

func TestLoadDrainWaitsForWorkers(t *testing.T) {
	var out bytes.Buffer
	opts := loadOptions{senders: 4, deliveries: 20, timeout: time.Minute, drain: true}

	require.NoError(t, runLoad(context.Background(), &out, &bytes.Buffer{}, opts), "output:\n%s", out.String())

	assert.Contains(t, out.String(), "processed by the workers: all 20, ")
}

func TestLoadDrainNeedsInProcessServer(t *testing.T) {
	opts := loadOptions{senders: 1, deliveries: 1, timeout: time.Minute, target: "http://127.0.0.1:1", secret: "s", drain: true}

	err := runLoad(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, opts)

	require.Error(t, err)
	assert.Contains(t, err.Error(), "invalid --drain with --target")
}
