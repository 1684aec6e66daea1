package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadInProcessReportsFigures(t *testing.T) {
	var out bytes.Buffer
	opts := loadOptions{senders: 4, deliveries: 40, timeout: time.Minute}

	require.NoError(t, runLoad(context.Background(), &out, &bytes.Buffer{}, opts), "output:\n%s", out.String())

	text := out.String()
	assert.Contains(t, text, "acknowledged with 2xx: 40 of 40 sent, 0 failed")
	assert.Contains(t, text, "deliveries/s")
	assert.Contains(t, text, "acknowledgement latency: p50 ")
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
