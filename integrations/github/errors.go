package github

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gogithub "github.com/google/go-github/v60/github"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// IsPermanent reports whether retrying the request that returned err cannot
// succeed. It is true for 4xx responses, with these exceptions:
//   - 408 Request Timeout, 425 Too Early and 429 Too Many Requests,
//   - 409 Conflict, which can come from a concurrent write that a retry
//     resolves (NOTE: a conflict that persists is retried until the
//     caller's attempt limit),
//   - primary and secondary rate limits (go-github's *RateLimitError and
//     *AbuseRateLimitError) and any response with a Retry-After header.
//
// It is false for nil, 5xx responses, network errors and context errors.
// Failed installation token requests count by their response status too.
func IsPermanent(err error) bool {
	if err == nil || isRateLimit(err) {
		return false
	}

	resp := responseOf(err)
	if resp == nil {
		return false
	}
	if resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0" {
		return false
	}

	switch resp.StatusCode {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return false
	}
	return resp.StatusCode >= 400 && resp.StatusCode < 500
}

// RetryAfter returns how long to wait before retrying the request that
// returned err, when GitHub sent a wait time. It reads the wait of a
// request the client held back (*httpretry.WaitError), then go-github's
// rate-limit errors, then the Retry-After header (seconds or an HTTP date),
// then X-RateLimit-Reset when X-RateLimit-Remaining is 0. The duration is
// never negative. It returns false for an *httpretry.UnknownOutcomeError,
// whose effect the caller must look for before it tries again.
func RetryAfter(err error) (time.Duration, bool) {
	var unknown *httpretry.UnknownOutcomeError
	if err == nil || errors.As(err, &unknown) {
		return 0, false
	}
	if wait, ok := httpretry.RetryAfter(err); ok {
		return wait, true
	}

	var rateLimit *gogithub.RateLimitError
	if errors.As(err, &rateLimit) && !rateLimit.Rate.Reset.IsZero() {
		return nonNegative(time.Until(rateLimit.Rate.Reset.Time)), true
	}
	var abuse *gogithub.AbuseRateLimitError
	if errors.As(err, &abuse) && abuse.RetryAfter != nil {
		return nonNegative(*abuse.RetryAfter), true
	}

	resp := responseOf(err)
	if resp == nil {
		return 0, false
	}
	return retryAfterHeader(resp.Header, time.Now())
}

// retryAfterHeader reads Retry-After, then the primary rate-limit reset.
func retryAfterHeader(header http.Header, now time.Time) (time.Duration, bool) {
	if value := header.Get("Retry-After"); value != "" {
		if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
			return nonNegative(time.Duration(seconds) * time.Second), true
		}
		if at, err := http.ParseTime(value); err == nil {
			return nonNegative(at.Sub(now)), true
		}
	}

	if header.Get("X-RateLimit-Remaining") != "0" {
		return 0, false
	}
	reset, err := strconv.ParseInt(header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return 0, false
	}
	return nonNegative(time.Unix(reset, 0).Sub(now)), true
}

// isRateLimit reports whether err is one of go-github's rate-limit errors or
// an AcceptedError, which means the caller should try again later.
func isRateLimit(err error) bool {
	var rateLimit *gogithub.RateLimitError
	var abuse *gogithub.AbuseRateLimitError
	var accepted *gogithub.AcceptedError
	return errors.As(err, &rateLimit) || errors.As(err, &abuse) || errors.As(err, &accepted)
}

// responseOf returns the HTTP response behind err, or nil when the request
// got no response.
func responseOf(err error) *http.Response {
	var response *gogithub.ErrorResponse
	if errors.As(err, &response) {
		return response.Response
	}
	var twoFactor *gogithub.TwoFactorAuthError
	if errors.As(err, &twoFactor) {
		return twoFactor.Response
	}
	// ghinstallation returns HTTPError when the token request fails, with a
	// nil Response when no response arrived.
	var tokenErr *ghinstallation.HTTPError
	if errors.As(err, &tokenErr) {
		return tokenErr.Response
	}
	return nil
}

func nonNegative(d time.Duration) time.Duration {
	return max(d, 0)
}
