package slack_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"

	"github.com/sopbot/sopbot/integrations/slack"
)

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"invalid_auth", slackgo.SlackErrorResponse{Err: "invalid_auth"}, true},
		{"channel_not_found", slackgo.SlackErrorResponse{Err: "channel_not_found"}, true},
		{"not_in_channel wrapped", fmt.Errorf("posting: %w", slackgo.SlackErrorResponse{Err: "not_in_channel"}), true},
		{"ratelimited code", slackgo.SlackErrorResponse{Err: "ratelimited"}, false},
		{"internal_error code", slackgo.SlackErrorResponse{Err: "internal_error"}, false},
		{"rate limited error", &slackgo.RateLimitedError{RetryAfter: time.Second}, false},
		{"status 500", slackgo.StatusCodeError{Code: 500, Status: "500 Internal Server Error"}, false},
		{"status 502", slackgo.StatusCodeError{Code: 502, Status: "502 Bad Gateway"}, false},
		{"status 429", slackgo.StatusCodeError{Code: 429, Status: "429 Too Many Requests"}, false},
		{"status 408", slackgo.StatusCodeError{Code: 408, Status: "408 Request Timeout"}, false},
		{"status 404", slackgo.StatusCodeError{Code: 404, Status: "404 Not Found"}, true},
		{"status 403", slackgo.StatusCodeError{Code: 403, Status: "403 Forbidden"}, true},
		{"expired_trigger_id", slackgo.SlackErrorResponse{Err: "expired_trigger_id"}, true},
		{"user_not_found", slackgo.SlackErrorResponse{Err: "user_not_found"}, true},
		{"empty parameters", fmt.Errorf("opening view: %w", slackgo.ErrParametersMissing), true},
		{"repeated block_id", slackgo.ErrBlockIDNotUnique, true},
		{"rejected response_url", fmt.Errorf("%w: https://evil.example/REDACTED", slack.ErrResponseURLNotAllowed), true},
		{"deadline", context.DeadlineExceeded, false},
		{"unknown", errors.New("connection reset by peer"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, slack.IsPermanent(tt.err))
		})
	}
}

func TestRetryAfter(t *testing.T) {
	wrapped := fmt.Errorf("posting: %w", &slackgo.RateLimitedError{RetryAfter: 30 * time.Second})

	wait, ok := slack.RetryAfter(wrapped)
	assert.True(t, ok)
	assert.Equal(t, 30*time.Second, wait)

	wait, ok = slack.RetryAfter(errors.New("other"))
	assert.False(t, ok)
	assert.Zero(t, wait)
}
