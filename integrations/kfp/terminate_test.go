package kfp_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
)

func TestTerminateRunWire(t *testing.T) {
	fake, client, recorder := startFake(t, kfp.Config{Token: "s3cret"})
	fake.SetOutcome("", kfp.StateRunning)
	created, err := client.CreateRun(context.Background(), nightlyRequest())
	require.NoError(t, err)

	err = client.TerminateRun(context.Background(), created.ID)

	require.NoError(t, err)
	sent := recorder.sent()
	require.Len(t, sent, 2)
	assert.Equal(t, http.MethodPost, sent[1].Method)
	assert.Equal(t, "/apis/v2beta1/runs/run-0001:terminate", sent[1].Path)
	assert.Empty(t, sent[1].Query)
	assert.Empty(t, sent[1].Body, "the terminate call has no body")
	assert.Empty(t, sent[1].ContentType)
	assert.Equal(t, "Bearer s3cret", sent[1].Authorization)
	stored, ok := fake.Run(created.ID)
	require.True(t, ok)
	assert.Equal(t, kfp.StateCanceling, stored.State)
}

func TestTerminateRunThenCanceled(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.SetOutcome("", kfp.StateRunning)
	fake.SetCancelingGets(1)
	created, err := client.CreateRun(context.Background(), nightlyRequest())
	require.NoError(t, err)
	_, err = client.GetRun(context.Background(), created.ID)
	require.NoError(t, err)

	require.NoError(t, client.TerminateRun(context.Background(), created.ID))
	canceling, err := client.GetRun(context.Background(), created.ID)
	require.NoError(t, err)
	canceled, err := client.GetRun(context.Background(), created.ID)
	require.NoError(t, err)

	assert.Equal(t, kfp.StateCanceling, canceling.State)
	assert.False(t, kfp.Terminal(canceling.State))
	assert.True(t, canceling.FinishedAt.IsZero())
	assert.Equal(t, kfp.StateCanceled, canceled.State)
	assert.True(t, kfp.Terminal(canceled.State))
	assert.False(t, canceled.FinishedAt.IsZero())
	assert.Equal(t, []string{
		"POST runs sopbot-retrain-fraud-42",
		"GET runs/run-0001 (RUNNING)",
		"POST runs/run-0001:terminate",
		"GET runs/run-0001 (CANCELING)",
		"GET runs/run-0001 (CANCELED)",
	}, fake.Calls())
}

func TestTerminateEndedRunIsInvalid(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.AddRun(kfp.Run{ID: "run-done", DisplayName: "nightly", State: kfp.StateSucceeded})

	err := client.TerminateRun(context.Background(), "run-done")

	require.Error(t, err)
	var apiErr *kfp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	assert.Equal(t, kfp.CodeInvalidArgument, apiErr.Code)
	assert.True(t, kfp.IsPermanent(err))
	assert.NotErrorIs(t, err, kfp.ErrNotFound)
	assert.Contains(t, err.Error(), "terminating run run-done: kfp: HTTP 400 INVALID_ARGUMENT")
	stored, _ := fake.Run("run-done")
	assert.Equal(t, kfp.StateSucceeded, stored.State, "an ended run keeps its state")
}

func TestTerminateMissingRun(t *testing.T) {
	_, client, _ := startFake(t, kfp.Config{})

	err := client.TerminateRun(context.Background(), "run-9999")

	require.ErrorIs(t, err, kfp.ErrNotFound)
	assert.True(t, kfp.IsPermanent(err))
}

func TestTerminateRunRequiresID(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})

	err := client.TerminateRun(context.Background(), "")

	require.Error(t, err)
	assert.True(t, kfp.IsPermanent(err))
	assert.Zero(t, fake.CallCount())
}

func TestTerminateRunServerError(t *testing.T) {
	fake, client, _ := startFake(t, kfp.Config{})
	fake.AddRun(kfp.Run{ID: "run-a", DisplayName: "nightly", State: kfp.StateRunning})
	fake.FailNext("POST runs/{run_id}:terminate", http.StatusServiceUnavailable, 1)

	err := client.TerminateRun(context.Background(), "run-a")

	require.Error(t, err)
	assert.False(t, kfp.IsPermanent(err), "a 503 may pass on a later call")
	stored, _ := fake.Run("run-a")
	assert.Equal(t, kfp.StateRunning, stored.State, "the injected failure happens before the handler")
}

func TestRunCallsRejectDotSegmentIDs(t *testing.T) {
	for _, runID := range []string{".", ".."} {
		t.Run(runID, func(t *testing.T) {
			fake, client, _ := startFake(t, kfp.Config{})

			_, getErr := client.GetRun(context.Background(), runID)
			terminateErr := client.TerminateRun(context.Background(), runID)

			for _, err := range []error{getErr, terminateErr} {
				require.Error(t, err)
				assert.True(t, kfp.IsPermanent(err))
				assert.NotErrorIs(t, err, kfp.ErrNotFound, "a run ID that names no single path segment is invalid, not a missing run")
				assert.Contains(t, err.Error(), "is not a valid run ID")
			}
			assert.Zero(t, fake.CallCount(), "nothing is sent for a path that a server or proxy would resolve elsewhere")
		})
	}
}
