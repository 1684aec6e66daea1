package slack

import (
	"errors"
	"net/http"
	"time"

	"github.com/slack-go/slack"
)

// transientCodes lists the Slack API error codes that sopbot retries. Every
// other code in an "ok": false response is treated as permanent.
var transientCodes = map[string]bool{
	"ratelimited":         true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"team_added_to_org":   true,
}

// IsPermanent reports whether retrying the call that returned err cannot
// succeed. Permanent errors are a rejected response_url, a missing bot token,
// a Slack error code such as invalid_auth, channel_not_found or
// not_in_channel, and an HTTP 4xx status other than 408 and 429. Rate
// limits, 5xx statuses, network errors and unknown errors are not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrResponseURLNotAllowed) || errors.Is(err, errNoBotToken) {
		return true
	}

	var rateLimited *slack.RateLimitedError
	if errors.As(err, &rateLimited) {
		return false
	}

	var apiErr slack.SlackErrorResponse
	if errors.As(err, &apiErr) {
		return !transientCodes[apiErr.Err]
	}

	var statusErr slack.StatusCodeError
	if errors.As(err, &statusErr) {
		return isPermanentStatus(statusErr.Code)
	}
	return false
}

func isPermanentStatus(code int) bool {
	if code == http.StatusRequestTimeout || code == http.StatusTooManyRequests {
		return false
	}
	return code >= 400 && code < 500
}

// RetryAfter returns the wait that Slack requested in the Retry-After header
// of an HTTP 429 response, and false when err carries no such wait.
func RetryAfter(err error) (time.Duration, bool) {
	var rateLimited *slack.RateLimitedError
	if errors.As(err, &rateLimited) {
		return rateLimited.RetryAfter, true
	}
	return 0, false
}
