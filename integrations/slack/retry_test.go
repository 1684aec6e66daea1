package slack_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/integrations/slack/slackfake"
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

func TestPostBlocksLostReplyPostsOnce(t *testing.T) {
	for _, kind := range []faults.Kind{faults.ServerError, faults.HangUp} {
		t.Run(string(kind), func(t *testing.T) {
			fake := startFake(t)
			client := newClient(t, fake, testToken)
			injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{kind}, Modes: []faults.Mode{faults.After},
				Skip: firstTo("/chat.postMessage", 1)})

			ts, err := client.PostBlocks(context.Background(), "C0123", "gate", nil)

			require.NoError(t, err)
			require.Len(t, fake.Messages(), 1, "the message the lost reply hid is found, not posted again")
			assert.Equal(t, fake.Messages()[0].TS, ts, "its ts comes from the channel history")
			assert.Equal(t, 1, injector.Count(kind, faults.After))
		})
	}
}

func TestPostFailedBeforePostsAgain(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.Before},
		Skip: firstTo("/chat.postMessage", 1)})

	require.NoError(t, client.Post(context.Background(), "C0123", slack.Message{Text: "hi"}))

	assert.Len(t, fake.Messages(), 1)
}

func TestPostCarriesPostID(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)

	require.NoError(t, client.Post(context.Background(), "C0123", slack.Message{Text: "one"}))
	require.NoError(t, client.Post(context.Background(), "C0123", slack.Message{Text: "two"}))

	messages := fake.Messages()
	require.Len(t, messages, 2)
	assert.Contains(t, string(messages[0].Metadata), `"event_type":"sopbot_post"`)
	assert.NotEqual(t, messages[0].Metadata, messages[1].Metadata, "each post has its own id")
}

func TestUpdateRetriedAfterServerError(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	ts, err := client.PostBlocks(context.Background(), "C0123", "gate", nil)
	require.NoError(t, err)
	require.Equal(t, slackfake.Timestamp, ts)
	fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.ServerError}, Modes: []faults.Mode{faults.After},
		Skip: firstTo("/chat.update", 2)})

	require.NoError(t, client.UpdateMessage(context.Background(), "C0123", ts, "edited", nil))

	updates := fake.Updates()
	require.Len(t, updates, 3, "both lost replies hid an applied update")
	for _, u := range updates {
		assert.Equal(t, "edited", u.Text, "chat.update sets the content, so a replay changes nothing")
	}
}

func TestRateLimitHoldsOnlyItsMethod(t *testing.T) {
	fake := startFake(t)
	fake.SetUser("U0DANA", "dana@example.com")
	client := newClient(t, fake, testToken)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}, RetryAfter: 30 * time.Second,
		Skip: firstTo("/chat.postMessage", 1)})

	err := client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})
	require.Error(t, err)
	wait, ok := slack.RetryAfter(err)
	require.True(t, ok, "error: %v", err)
	assert.InDelta(t, 30, wait.Seconds(), 1)
	assert.Empty(t, fake.Messages())

	_, err = client.UserEmail(context.Background(), "U0DANA")
	assert.NoError(t, err, "Slack limits each method on its own")

	err = client.Post(context.Background(), "C0123", slack.Message{Text: "hi"})
	require.Error(t, err)
	_, ok = slack.RetryAfter(err)
	assert.True(t, ok, "the limited method stays held: %v", err)
	assert.Empty(t, injector.Violations(0))
}

func TestRateLimitWaitsThenPosts(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	injector := fake.InjectFaults(faults.Config{Rate: 1, Kinds: []faults.Kind{faults.RateLimit}, Skip: firstTo("/chat.postMessage", 1)})

	started := time.Now()
	require.NoError(t, client.Post(context.Background(), "C0123", slack.Message{Text: "hi"}))

	assert.GreaterOrEqual(t, time.Since(started), time.Second)
	assert.Len(t, fake.Messages(), 1)
	assert.Empty(t, injector.Violations(0))
}
