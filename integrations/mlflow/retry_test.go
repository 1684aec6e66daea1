package mlflow_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/httpretry"
	"github.com/sopbot/sopbot/integrations/mlflow"
	"github.com/sopbot/sopbot/internal/faults"
)

// firstTo returns a Skip function that exempts every request except the
// first n to a path ending in suffix.
func firstTo(suffix string, n int64) func(*http.Request) bool {
	var seen atomic.Int64
	return func(r *http.Request) bool {
		return !strings.HasSuffix(r.URL.Path, suffix) || seen.Add(1) > n
	}
}

func TestTransitionLostReplyTransitionsOnce(t *testing.T) {
	for _, kind := range []faults.Kind{faults.ServerError, faults.Timeout, faults.HangUp} {
		t.Run(string(kind), func(t *testing.T) {
			fake, client, _ := startRegistryWith(t, httpretry.Settings{HeaderTimeout: 200 * time.Millisecond})
			fake.AddVersion("fraud-detector", "2", "Production", nil)
			fake.AddVersion("fraud-detector", "3", "Staging", nil)
			injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{kind}, Modes: []faults.Mode{faults.After},
				Hold: time.Second, Skip: firstTo("/transition-stage", 1)})

			mv, err := client.TransitionStage(context.Background(), "fraud-detector", "3", "Production", true)

			require.NoError(t, err)
			assert.Equal(t, "Production", mv.CurrentStage)
			history := fake.History("fraud-detector")
			transitions := 0
			for _, tr := range history {
				if tr.Version == "3" && tr.To == "Production" {
					transitions++
				}
			}
			assert.Equal(t, 1, transitions, "the registry is read before a second transition")
			v2, _ := fake.Version("fraud-detector", "2")
			assert.Equal(t, "Archived", v2.CurrentStage)
			assert.Equal(t, 1, injector.Count(kind, faults.After))
		})
	}
}

func TestTransitionFailedBeforeSendsAgain(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.Before},
		Skip: firstTo("/transition-stage", 1)})

	mv, err := client.TransitionStage(context.Background(), "fraud-detector", "3", "Production", true)

	require.NoError(t, err)
	assert.Equal(t, "Production", mv.CurrentStage)
	assert.Len(t, fake.History("fraud-detector"), 1)
}

func TestTransitionUnknownOutcome(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.Before}})

	_, err := client.TransitionStage(context.Background(), "fraud-detector", "3", "Production", true)

	var unknown *httpretry.UnknownOutcomeError
	require.True(t, errors.As(err, &unknown), "the read failed too, so the outcome is unknown: %v", err)
	assert.False(t, mlflow.IsPermanent(err))
	_, ok := mlflow.RetryAfter(err)
	assert.False(t, ok)
	assert.Empty(t, fake.History("fraud-detector"))
}

func TestSetTagRetriedAfterLostReply(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.HangUp}, Modes: []faults.Mode{faults.After},
		Skip: firstTo("/set-tag", 1)})

	require.NoError(t, client.SetModelVersionTag(context.Background(), "fraud-detector", "3", "sopbot.request", "R-1"))

	mv, _ := fake.Version("fraud-detector", "3")
	assert.Equal(t, "R-1", mv.Tags["sopbot.request"])
}

func TestRateLimitWaitsAndHolds(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}, Skip: firstTo("/model-versions/get", 1)})

	started := time.Now()
	_, err := client.GetModelVersion(context.Background(), "fraud-detector", "3")

	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(started), time.Second)
	assert.Empty(t, injector.Violations(0))
}

func TestLongRetryAfter(t *testing.T) {
	fake, client, _ := startRegistry(t)
	fake.AddVersion("fraud-detector", "3", "Staging", nil)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}, RetryAfter: 20 * time.Second,
		Skip: firstTo("/model-versions/get", 1)})

	_, err := client.GetModelVersion(context.Background(), "fraud-detector", "3")
	require.Error(t, err)
	wait, ok := mlflow.RetryAfter(err)
	require.True(t, ok, "error: %v", err)
	assert.InDelta(t, 20, wait.Seconds(), 1)
	var apiErr *mlflow.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "REQUEST_LIMIT_EXCEEDED", apiErr.Code)
	assert.False(t, mlflow.IsPermanent(err))

	calls := len(injector.Calls())
	_, err = client.SearchModelVersions(context.Background(), "fraud-detector")
	require.Error(t, err)
	_, ok = mlflow.RetryAfter(err)
	assert.True(t, ok, "later calls to the server are held back: %v", err)
	assert.Equal(t, calls, len(injector.Calls()))
}
