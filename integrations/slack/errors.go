package slack

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/sopbot/sopbot/integrations/httpretry"
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

// permanentErrors are the errors that no retry can fix, because the
// request never left the client or its input must change first. slack-go
// returns ErrParametersMissing for an empty trigger_id and
// ErrBlockIDNotUnique for a modal that repeats an input block_id.
var permanentErrors = []error{
	ErrResponseURLNotAllowed,
	errNoBotToken,
	errNoEmail,
	slack.ErrParametersMissing,
	slack.ErrBlockIDNotUnique,
}

// IsPermanent reports whether retrying the call that returned err cannot
// succeed. Permanent errors are a rejected response_url, a missing bot token,
// an argument that slack-go rejects before sending, and a user profile
// without an email. Slack error codes such as invalid_auth,
// channel_not_found, expired_trigger_id or user_not_found are permanent, and
// so is an HTTP 4xx status other than 408 and 429. Rate limits, 5xx
// statuses, network errors and unknown errors are not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	for _, permanent := range permanentErrors {
		if errors.Is(err, permanent) {
			return true
		}
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
// of an HTTP 429 response, or the time left of a Retry-After that held the
// request back (*httpretry.WaitError). It returns false when err carries no
// such wait, and for an *httpretry.UnknownOutcomeError, whose effect the
// caller must look for before it tries again.
func RetryAfter(err error) (time.Duration, bool) {
	var unknown *httpretry.UnknownOutcomeError
	if errors.As(err, &unknown) {
		return 0, false
	}
	if wait, ok := httpretry.RetryAfter(err); ok {
		return wait, true
	}
	var rateLimited *slack.RateLimitedError
	if errors.As(err, &rateLimited) {
		return rateLimited.RetryAfter, true
	}
	return 0, false
}

// wrapAPIError prefixes err with operation, such as "posting message to
// C0123", and names a Slack error code as one. It returns nil for a nil err
// and keeps err in the chain, so IsPermanent and RetryAfter still work.
func wrapAPIError(operation string, err error) error {
	if err == nil {
		return nil
	}

	var apiErr slack.SlackErrorResponse
	if errors.As(err, &apiErr) {
		return fmt.Errorf("%s: Slack API error %w", operation, err)
	}
	return fmt.Errorf("%s: %w", operation, err)
}
