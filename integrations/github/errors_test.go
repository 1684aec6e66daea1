package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gogithub "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/assert"

	"github.com/sopbot/sopbot/integrations/github"
)

func response(status int, header ...string) *http.Response {
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	for i := 0; i+1 < len(header); i += 2 {
		resp.Header.Set(header[i], header[i+1])
	}
	return resp
}

func errorResponse(status int, header ...string) error {
	return &gogithub.ErrorResponse{Response: response(status, header...), Message: http.StatusText(status)}
}

func TestIsPermanent(t *testing.T) {
	retryAfter := 30 * time.Second
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "400", err: errorResponse(http.StatusBadRequest), want: true},
		{name: "401", err: errorResponse(http.StatusUnauthorized), want: true},
		{name: "403 without rate limit", err: errorResponse(http.StatusForbidden), want: true},
		{name: "404", err: errorResponse(http.StatusNotFound), want: true},
		{name: "422", err: errorResponse(http.StatusUnprocessableEntity), want: true},
		{name: "404 wrapped", err: fmt.Errorf("getting issue: %w", errorResponse(http.StatusNotFound)), want: true},
		{name: "408", err: errorResponse(http.StatusRequestTimeout), want: false},
		{name: "409", err: errorResponse(http.StatusConflict), want: false},
		{name: "429", err: errorResponse(http.StatusTooManyRequests), want: false},
		{name: "403 with Retry-After", err: errorResponse(http.StatusForbidden, "Retry-After", "60"), want: false},
		{name: "500", err: errorResponse(http.StatusInternalServerError), want: false},
		{name: "502", err: errorResponse(http.StatusBadGateway), want: false},
		{name: "primary rate limit", err: &gogithub.RateLimitError{Response: response(http.StatusForbidden)}, want: false},
		{name: "secondary rate limit", err: &gogithub.AbuseRateLimitError{Response: response(http.StatusForbidden), RetryAfter: &retryAfter}, want: false},
		{name: "accepted", err: &gogithub.AcceptedError{}, want: false},
		{name: "two-factor", err: &gogithub.TwoFactorAuthError{Response: response(http.StatusUnauthorized)}, want: true},
		{name: "token request 401", err: &ghinstallation.HTTPError{Response: response(http.StatusUnauthorized)}, want: true},
		{name: "token request 503", err: &ghinstallation.HTTPError{Response: response(http.StatusServiceUnavailable)}, want: false},
		{name: "token request without response", err: &ghinstallation.HTTPError{RootCause: syscall.ECONNREFUSED}, want: false},
		{name: "network", err: &url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: syscall.ECONNREFUSED}, want: false},
		{name: "deadline", err: context.DeadlineExceeded, want: false},
		{name: "plain", err: errors.New("decoding response"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, github.IsPermanent(tt.err))
		})
	}
}

// TestIsPermanentParsedSecondaryRateLimit sends GitHub's secondary rate
// limit response through go-github's own error parsing.
func TestIsPermanentParsedSecondaryRateLimit(t *testing.T) {
	resp := response(http.StatusForbidden, "Retry-After", "7")
	resp.Request, _ = http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	body := `{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`
	resp.Body = readCloser(body)

	err := gogithub.CheckResponse(resp)

	var abuse *gogithub.AbuseRateLimitError
	assert.ErrorAs(t, err, &abuse)
	assert.False(t, github.IsPermanent(err))
	wait, ok := github.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, wait)
}

func TestRetryAfter(t *testing.T) {
	retryAfter := 42 * time.Second
	reset := time.Now().Add(90 * time.Second)
	resetHeader := strconv.FormatInt(reset.Unix(), 10)

	tests := []struct {
		name   string
		err    error
		wantOK bool
		min    time.Duration
		max    time.Duration
	}{
		{name: "nil", err: nil},
		{name: "no header", err: errorResponse(http.StatusBadGateway)},
		{name: "Retry-After seconds", err: errorResponse(http.StatusTooManyRequests, "Retry-After", "5"), wantOK: true, min: 5 * time.Second, max: 5 * time.Second},
		{name: "Retry-After date", err: errorResponse(http.StatusTooManyRequests, "Retry-After", reset.UTC().Format(http.TimeFormat)), wantOK: true, min: 80 * time.Second, max: 90 * time.Second},
		{name: "rate limit reset header", err: errorResponse(http.StatusForbidden, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", resetHeader), wantOK: true, min: 80 * time.Second, max: 90 * time.Second},
		{name: "reset in the past", err: errorResponse(http.StatusForbidden, "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", "1"), wantOK: true, min: 0, max: 0},
		{name: "secondary rate limit", err: fmt.Errorf("wrapped: %w", &gogithub.AbuseRateLimitError{Response: response(http.StatusForbidden), RetryAfter: &retryAfter}), wantOK: true, min: retryAfter, max: retryAfter},
		{name: "primary rate limit", err: &gogithub.RateLimitError{Rate: gogithub.Rate{Reset: gogithub.Timestamp{Time: reset}}, Response: response(http.StatusForbidden)}, wantOK: true, min: 80 * time.Second, max: 90 * time.Second},
		{name: "network", err: &url.Error{Op: "Get", URL: "http://127.0.0.1:1/", Err: syscall.ECONNREFUSED}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := github.RetryAfter(tt.err)
			assert.Equal(t, tt.wantOK, ok)
			assert.GreaterOrEqual(t, got, tt.min)
			assert.LessOrEqual(t, got, tt.max)
		})
	}
}
