package bot

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
	"github.com/sopbot/sopbot/integrations/mlflow"
)

// failingServer responds to every request with status and, when
// retryAfter is not empty, that Retry-After header.
func failingServer(t *testing.T, status int, retryAfter string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error_code": "TEMPORARILY_UNAVAILABLE", "code": 14, "message": "try later"}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func mlflowCallError(t *testing.T, status int, retryAfter string) error {
	t.Helper()
	client, err := mlflow.New(mlflow.Config{BaseURL: failingServer(t, status, retryAfter)})
	require.NoError(t, err)
	_, err = client.GetModelVersion(context.Background(), "fraud-detector", "3")
	require.Error(t, err)
	return err
}

func kfpCallError(t *testing.T, status int, retryAfter string) error {
	t.Helper()
	client, err := kfp.New(kfp.Config{BaseURL: failingServer(t, status, retryAfter)})
	require.NoError(t, err)
	_, err = client.GetRun(context.Background(), "run-1")
	require.Error(t, err)
	return err
}

func TestOutcomeSnoozesForRetryAfter(t *testing.T) {
	w := &Workers{Log: slog.New(slog.DiscardHandler)}
	cases := []struct {
		name string
		err  func(t *testing.T) error
		want time.Duration
	}{
		{"MLflow 429", func(t *testing.T) error { return mlflowCallError(t, http.StatusTooManyRequests, "30") }, 30 * time.Second},
		{"KFP 429", func(t *testing.T) error { return kfpCallError(t, http.StatusTooManyRequests, "30") }, 30 * time.Second},
		{"KFP 503", func(t *testing.T) error { return kfpCallError(t, http.StatusServiceUnavailable, "45") }, 45 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := w.outcome("action", nil, c.err(t))
			var snooze *river.JobSnoozeError
			require.ErrorAs(t, err, &snooze, "the job snoozes instead of retrying with backoff")
			assert.Equal(t, c.want, snooze.Duration)
		})
	}
}

// TestOutcomeSnoozesForHeldBackMLflowCall covers an MLflow 503 on a call
// the client sends again: the client holds the next send back for the
// Retry-After and fails at once with what is left of it.
func TestOutcomeSnoozesForHeldBackMLflowCall(t *testing.T) {
	w := &Workers{Log: slog.New(slog.DiscardHandler)}
	err := w.outcome("action", nil, mlflowCallError(t, http.StatusServiceUnavailable, "40"))
	var snooze *river.JobSnoozeError
	require.ErrorAs(t, err, &snooze)
	assert.LessOrEqual(t, snooze.Duration, 40*time.Second)
	assert.Greater(t, snooze.Duration, 20*time.Second, "the snooze is what is left of the Retry-After")
}

func TestOutcomeRetriesZeroRetryAfterWithBackoff(t *testing.T) {
	w := &Workers{Log: slog.New(slog.DiscardHandler)}
	callErr := kfpCallError(t, http.StatusTooManyRequests, "0")
	err := w.outcome("action", nil, callErr)
	var snooze *river.JobSnoozeError
	assert.NotErrorAs(t, err, &snooze, "a zero wait does not snooze, because a snooze does not use up an attempt")
	assert.ErrorIs(t, err, callErr, "River retries the error with backoff")
}
