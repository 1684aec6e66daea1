package slack_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/httpretry"
	"github.com/sopbot/sopbot/integrations/slack"
	"github.com/sopbot/sopbot/integrations/slack/slackfake"
)

const testToken = "xoxb-test-token"

// startFake starts a Slack fake that the test closes at cleanup.
func startFake(t *testing.T) *slackfake.Fake {
	t.Helper()
	fake := slackfake.New(slackfake.Options{BotToken: testToken})
	fake.Start()
	t.Cleanup(fake.Close)
	return fake
}

// newClient returns a client aimed at fake that accepts only the fake's
// response URLs.
func newClient(t *testing.T, fake *slackfake.Fake, token string) *slack.Client {
	t.Helper()
	return newClientWith(t, fake, token, httpretry.Settings{})
}

// newClientNoRetry is newClient with a client that sends each request
// once, so a test sees the error of each injected failure.
func newClientNoRetry(t *testing.T, fake *slackfake.Fake, token string) *slack.Client {
	t.Helper()
	return newClientWith(t, fake, token, httpretry.Settings{MaxAttempts: 1})
}

func newClientWith(t *testing.T, fake *slackfake.Fake, token string, settings httpretry.Settings) *slack.Client {
	t.Helper()
	client, err := slack.New(slack.Config{
		APIURL:              fake.URL(),
		BotToken:            token,
		ResponseURLPrefixes: []string{fake.ResponseURLPrefix()},
		Retry:               settings,
	})
	require.NoError(t, err)
	return client
}

// refusingTransport records requests and fails each one without dialing, so
// a test can prove that no request left the client.
type refusingTransport struct {
	mu       sync.Mutex
	requests []string
}

func (r *refusingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req.URL.String())
	return nil, errors.New("refusingTransport: request not allowed in this test")
}

func (r *refusingTransport) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}
