package slack_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
)

func TestRespondSendsJSON(t *testing.T) {
	tests := []struct {
		name     string
		msg      slack.Message
		wantType string
		wantCall string
		wantBody string
	}{
		{
			name:     "ephemeral",
			msg:      slack.Message{Text: "Approval request opened", Ephemeral: true},
			wantType: "ephemeral",
			wantCall: `response r1 ephemeral "Approval request opened"`,
			wantBody: `{"response_type":"ephemeral","text":"Approval request opened","replace_original":false,"delete_original":false}`,
		},
		{
			name:     "in channel",
			msg:      slack.Message{Text: "fraud-detector v3 is in Production"},
			wantType: "in_channel",
			wantCall: `response r1 in_channel "fraud-detector v3 is in Production"`,
			wantBody: `{"response_type":"in_channel","text":"fraud-detector v3 is in Production","replace_original":false,"delete_original":false}`,
		},
		{
			name:     "replace original",
			msg:      slack.Message{Text: "Approved", Ephemeral: true, ReplaceOriginal: true},
			wantType: "ephemeral",
			wantCall: `response r1 ephemeral "Approved" (replace original)`,
			wantBody: `{"response_type":"ephemeral","text":"Approved","replace_original":true,"delete_original":false}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			client := newClient(t, fake, testToken)
			responseURL := fake.NewResponseURL()

			err := client.Respond(context.Background(), responseURL, tt.msg)

			require.NoError(t, err)
			responses := fake.Responses()
			require.Len(t, responses, 1)
			assert.Equal(t, responseURL, responses[0].URL)
			assert.Equal(t, tt.wantType, responses[0].ResponseType)
			assert.Equal(t, tt.msg.Text, responses[0].Text)
			assert.Equal(t, tt.msg.ReplaceOriginal, responses[0].ReplaceOriginal)
			assert.JSONEq(t, tt.wantBody, string(responses[0].Body))
			assert.Equal(t, []string{tt.wantCall}, fake.Calls())
		})
	}
}

func TestRespondSendsBlocks(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	section := slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, "*Promoted*", false, false), nil, nil)

	err := client.Respond(context.Background(), fake.NewResponseURL(), slack.Message{
		Text:   "Promoted",
		Blocks: []slackgo.Block{section},
	})

	require.NoError(t, err)
	responses := fake.Responses()
	require.Len(t, responses, 1)
	var body struct {
		Blocks []map[string]any `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(responses[0].Body, &body))
	require.Len(t, body.Blocks, 1)
	assert.Equal(t, "section", body.Blocks[0]["type"])
}

func TestRespondRejectsURLWithoutRequest(t *testing.T) {
	tests := []struct {
		name        string
		responseURL string
	}{
		{"look-alike host", "https://hooks.slack.com.evil.example/commands/T1/2/secretpath"},
		{"other host", "https://evil.example/commands/T1/2/secretpath"},
		{"plain http", "http://hooks.slack.com/commands/T1/2/secretpath"},
		{"user information", "https://hooks.slack.com@evil.example/commands/secretpath"},
		{"user before host", "https://attacker@hooks.slack.com/commands/secretpath"},
		{"explicit port", "https://hooks.slack.com:8443/commands/secretpath"},
		{"upper-case scheme", "HTTPS://hooks.slack.com/commands/secretpath"},
		{"no trailing slash", "https://hooks.slack.com"},
		{"relative", "/commands/T1/2/secretpath"},
		{"empty", ""},
		{"control character", "https://hooks.slack.com/commands/\nsecretpath"},
		{"metadata address", "http://169.254.169.254/latest/meta-data/secretpath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			transport := &refusingTransport{}
			client, err := slack.New(slack.Config{HTTPClient: &http.Client{Transport: transport}})
			require.NoError(t, err)

			err = client.Respond(context.Background(), tt.responseURL, slack.Message{Text: "hi"})

			require.ErrorIs(t, err, slack.ErrResponseURLNotAllowed)
			assert.True(t, slack.IsPermanent(err))
			assert.NotContains(t, err.Error(), "secretpath")
			assert.Zero(t, transport.count())
		})
	}
}

func TestRespondAcceptsSlackResponseURL(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/slack/slash_command.replay-fixture.json")
	require.NoError(t, err)
	var fixture struct {
		SlashCommand struct {
			ResponseURL string `json:"response_url"`
		} `json:"slashCommand"`
	}
	require.NoError(t, json.Unmarshal(raw, &fixture))
	transport := &refusingTransport{}
	client, err := slack.New(slack.Config{HTTPClient: &http.Client{Transport: transport}})
	require.NoError(t, err)

	err = client.Respond(context.Background(), fixture.SlashCommand.ResponseURL, slack.Message{Text: "hi"})

	// The guard lets the URL through, so the refusing transport receives it.
	require.Error(t, err)
	assert.NotErrorIs(t, err, slack.ErrResponseURLNotAllowed)
	assert.Equal(t, 1, transport.count())
	assert.NotContains(t, err.Error(), "6U66ryd5RNMenHgPzeTf3u7K")
	assert.Contains(t, err.Error(), "https://hooks.slack.com/REDACTED")
}

func TestRespondRejectsOtherFakePath(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	apiURL := strings.TrimSuffix(fake.URL(), "/") + "/chat.postMessage"

	err := client.Respond(context.Background(), apiURL, slack.Message{Text: "hi"})

	assert.ErrorIs(t, err, slack.ErrResponseURLNotAllowed)
	assert.Zero(t, fake.CallCount())
}

func TestRespondHTTPErrors(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		wantPermanent bool
		wantRetry     time.Duration
	}{
		{"not found", http.StatusNotFound, true, 0},
		{"bad request", http.StatusBadRequest, true, 0},
		{"server error", http.StatusInternalServerError, false, 0},
		{"unavailable", http.StatusServiceUnavailable, false, 0},
		{"rate limited", http.StatusTooManyRequests, false, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := startFake(t)
			client := newClientNoRetry(t, fake, testToken)
			responseURL := fake.NewResponseURL()
			parsed, err := url.Parse(responseURL)
			require.NoError(t, err)
			fake.FailNext(parsed.Path, tt.status, 1)

			err = client.Respond(context.Background(), responseURL, slack.Message{Text: "hi"})

			require.Error(t, err)
			assert.NotContains(t, err.Error(), parsed.Path)
			assert.Equal(t, tt.wantPermanent, slack.IsPermanent(err))
			retryAfter, ok := slack.RetryAfter(err)
			assert.Equal(t, tt.wantRetry != 0, ok)
			assert.Equal(t, tt.wantRetry, retryAfter)
			if tt.wantRetry == 0 {
				assert.Contains(t, err.Error(), http.StatusText(tt.status))
			}
			assert.Empty(t, fake.Responses())
		})
	}
}

func TestRespondUnknownResponseURL(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)

	err := client.Respond(context.Background(), fake.ResponseURLPrefix()+"never-issued", slack.Message{Text: "hi"})

	require.Error(t, err)
	assert.Contains(t, err.Error(), "404")
	assert.NotContains(t, err.Error(), "never-issued")
	assert.True(t, slack.IsPermanent(err))
}

func TestRespondNetworkErrorRedacted(t *testing.T) {
	fake := startFake(t)
	client := newClient(t, fake, testToken)
	responseURL := fake.NewResponseURL()
	parsed, err := url.Parse(responseURL)
	require.NoError(t, err)
	fake.Close()

	err = client.Respond(context.Background(), responseURL, slack.Message{Text: "hi"})

	require.Error(t, err)
	assert.NotContains(t, err.Error(), parsed.Path)
	assert.Contains(t, err.Error(), "/REDACTED")
	assert.False(t, slack.IsPermanent(err))
}

func TestRespondDoesNotFollowRedirects(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("redirect target received %s %s", r.Method, r.URL.Path)
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	client, err := slack.New(slack.Config{ResponseURLPrefixes: []string{redirector.URL + "/response/"}})
	require.NoError(t, err)

	err = client.Respond(context.Background(), redirector.URL+"/response/abc", slack.Message{Text: "hi"})

	require.Error(t, err)
	assert.Contains(t, err.Error(), "307")
}
