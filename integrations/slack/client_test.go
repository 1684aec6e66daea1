package slack_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sopbot/sopbot/integrations/slack"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name     string
		cfg      slack.Config
		wantText string
	}{
		{"prefix without slash", slack.Config{ResponseURLPrefixes: []string{"https://hooks.slack.com"}}, "invalid response_url prefix"},
		{"prefix without scheme", slack.Config{ResponseURLPrefixes: []string{"hooks.slack.com/"}}, "invalid response_url prefix"},
		{"ftp prefix", slack.Config{ResponseURLPrefixes: []string{"ftp://hooks.slack.com/"}}, "invalid response_url prefix"},
		{"prefix with user", slack.Config{ResponseURLPrefixes: []string{"https://u@hooks.slack.com/"}}, "invalid response_url prefix"},
		{"relative API URL", slack.Config{APIURL: "/api/"}, "invalid Slack API URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, err := slack.New(tt.cfg)

			require.Error(t, err)
			assert.Nil(t, client)
			assert.Contains(t, err.Error(), tt.wantText)
		})
	}
}

func TestNewReportsEveryBadPrefix(t *testing.T) {
	_, err := slack.New(slack.Config{ResponseURLPrefixes: []string{"a", "https://hooks.slack.com/", "b"}})

	require.Error(t, err)
	assert.Contains(t, err.Error(), `"a"`)
	assert.Contains(t, err.Error(), `"b"`)
}

func TestNewAddsAPIURLSlash(t *testing.T) {
	fake := startFake(t)
	client, err := slack.New(slack.Config{APIURL: fake.URL()[:len(fake.URL())-1], BotToken: testToken})
	require.NoError(t, err)

	require.NoError(t, client.Post(t.Context(), "C0123", slack.Message{Text: "hi"}))
	assert.Len(t, fake.Messages(), 1)
}
