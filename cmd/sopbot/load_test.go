package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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

	result := sendLoad(context.Background(), server.URL+"/github/webhook", []byte("secret"), templates, 3, 30)

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

	result := sendLoad(context.Background(), server.URL+"/github/webhook", []byte("secret"), templates, 2, 4)

	assert.Equal(t, 4, result.sent, "sent")
	assert.Equal(t, 4, result.failed, "failed")
	assert.Contains(t, result.firstFailure, "status 503")
	assert.Contains(t, result.firstFailure, "could not store the delivery")
}
