package kfpfake_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/kfp"
)

// historyStates lists the states of a wire run's state_history.
func historyStates(run map[string]any) []string {
	var states []string
	for _, change := range run["state_history"].([]any) {
		states = append(states, change.(map[string]any)["state"].(string))
	}
	return states
}

func TestFakeTerminateMovesToCanceled(t *testing.T) {
	fake := startFake(t)
	fake.SetOutcome("", kfp.StateRunning)
	_, created := send(t, fake, http.MethodPost, "runs", "application/json", validBody)
	runID := created["run_id"].(string)
	send(t, fake, http.MethodGet, "runs/"+runID, "", "")

	status, response := send(t, fake, http.MethodPost, "runs/"+runID+":terminate", "", "")

	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, response, "the response is an empty object")
	stored, ok := fake.Run(runID)
	require.True(t, ok)
	assert.Equal(t, kfp.StateCanceling, stored.State)
	assert.True(t, stored.FinishedAt.IsZero(), "a canceling run has not finished")

	_, run := send(t, fake, http.MethodGet, "runs/"+runID, "", "")
	assert.Equal(t, kfp.StateCanceled, run["state"])
	assert.NotEqual(t, "1970-01-01T00:00:00Z", run["finished_at"])
	assert.Equal(t, []string{"PENDING", "RUNNING", "CANCELED"}, historyStates(run),
		"the server adds no history entry for CANCELING")
	assert.Equal(t, []string{
		"POST runs nightly",
		"GET runs/run-0001 (RUNNING)",
		"POST runs/run-0001:terminate",
		"GET runs/run-0001 (CANCELED)",
	}, fake.Calls())
}

func TestFakeCancelingGets(t *testing.T) {
	fake := startFake(t)
	fake.SetCancelingGets(2)
	added := fake.AddRun(kfp.Run{DisplayName: "nightly", State: kfp.StateRunning})

	send(t, fake, http.MethodPost, "runs/"+added.ID+":terminate", "", "")
	var states []string
	for range 3 {
		_, run := send(t, fake, http.MethodGet, "runs/"+added.ID, "", "")
		states = append(states, run["state"].(string))
	}

	assert.Equal(t, []string{"CANCELING", "CANCELING", "CANCELED"}, states)
}

func TestFakeTerminateQueryAndBody(t *testing.T) {
	fake := startFake(t)
	added := fake.AddRun(kfp.Run{DisplayName: "nightly", State: kfp.StatePending})

	unknown, unknownRPC := sendError(t, fake, http.MethodPost, "runs/"+added.ID+":terminate?force=true", "", "")
	withBody, bodyRPC := sendError(t, fake, http.MethodPost, "runs/"+added.ID+":terminate", "application/json", "{}")
	accepted, _ := send(t, fake, http.MethodPost, "runs/"+added.ID+":terminate?experiment_id=default", "", "")

	assert.Equal(t, http.StatusBadRequest, unknown)
	assert.Contains(t, unknownRPC.Message, `unknown query parameter "force"`)
	assert.Equal(t, http.StatusBadRequest, withBody)
	assert.Contains(t, bodyRPC.Message, "takes no request body")
	assert.Equal(t, http.StatusOK, accepted, "the swagger lists experiment_id for the terminate call")
}

func TestFakeTerminateRejectsInactiveRuns(t *testing.T) {
	for _, state := range []string{kfp.StateSucceeded, kfp.StateFailed, kfp.StateSkipped, kfp.StateCanceled, kfp.StateCanceling} {
		t.Run(state, func(t *testing.T) {
			fake := startFake(t)
			added := fake.AddRun(kfp.Run{DisplayName: "nightly", State: state})

			status, rpc := sendError(t, fake, http.MethodPost, "runs/"+added.ID+":terminate", "", "")

			assert.Equal(t, http.StatusBadRequest, status)
			assert.Equal(t, int(kfp.CodeInvalidArgument), rpc.Code)
			assert.Contains(t, rpc.Message, "Failed to terminate a run "+added.ID)
			stored, _ := fake.Run(added.ID)
			assert.Equal(t, state, stored.State)
		})
	}
}

func TestFakeTerminateActiveStates(t *testing.T) {
	for _, state := range []string{kfp.StatePending, kfp.StateRunning, kfp.StatePaused, kfp.StateUnspecified} {
		t.Run(state, func(t *testing.T) {
			fake := startFake(t)
			added := fake.AddRun(kfp.Run{DisplayName: "nightly", State: state})

			status, _ := send(t, fake, http.MethodPost, "runs/"+added.ID+":terminate", "", "")

			assert.Equal(t, http.StatusOK, status)
			stored, _ := fake.Run(added.ID)
			assert.Equal(t, kfp.StateCanceling, stored.State)
		})
	}
}

func TestFakeTerminateMissingRun(t *testing.T) {
	fake := startFake(t)

	status, rpc := sendError(t, fake, http.MethodPost, "runs/run-9:terminate", "", "")

	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, int(kfp.CodeNotFound), rpc.Code)
	assert.Equal(t, []string{"POST runs/run-9:terminate → 404 NOT_FOUND"}, fake.Calls())
}

func TestFakeTerminateRoutes(t *testing.T) {
	fake := startFake(t)
	added := fake.AddRun(kfp.Run{DisplayName: "nightly", State: kfp.StateRunning})
	fake.FailNext("GET runs/{run_id}", http.StatusForbidden, 1)
	fake.FailNext("POST runs/{run_id}:terminate", http.StatusServiceUnavailable, 1)

	first, _ := sendError(t, fake, http.MethodPost, "runs/"+added.ID+":terminate", "", "")
	second, _ := send(t, fake, http.MethodPost, "runs/"+added.ID+":terminate", "", "")
	get, _ := sendError(t, fake, http.MethodGet, "runs/"+added.ID, "", "")

	assert.Equal(t, http.StatusServiceUnavailable, first, "the terminate route matches the terminate call")
	assert.Equal(t, http.StatusOK, second)
	assert.Equal(t, http.StatusForbidden, get, "the GET route is left for the GET")
}

func TestFakeTerminateDropResponse(t *testing.T) {
	fake := startFake(t)
	added := fake.AddRun(kfp.Run{DisplayName: "nightly", State: kfp.StateRunning})
	fake.DropResponseNext("POST runs/{run_id}:terminate", 1)

	req, err := http.NewRequest(http.MethodPost, fake.URL()+"/apis/v2beta1/runs/"+added.ID+":terminate", nil)
	require.NoError(t, err)
	_, err = http.DefaultClient.Do(req)

	require.Error(t, err)
	stored, _ := fake.Run(added.ID)
	assert.Equal(t, kfp.StateCanceling, stored.State, "the server acted before the connection closed")
	assert.Equal(t, []string{"POST runs/run-0001:terminate (response dropped)"}, fake.Calls())
}
