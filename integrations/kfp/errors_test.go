package kfp

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", &APIError{StatusCode: 404, Code: CodeNotFound}, true},
		{"invalid argument wrapped", fmt.Errorf("x: %w", &APIError{StatusCode: 400, Code: CodeInvalidArgument}), true},
		{"unauthenticated", &APIError{StatusCode: 401, Code: CodeUnauthenticated}, true},
		{"permission denied", &APIError{StatusCode: 403, Code: CodePermissionDenied}, true},
		{"already exists", &APIError{StatusCode: 409, Code: CodeAlreadyExists}, true},
		{"request timeout", &APIError{StatusCode: 408}, false},
		{"resource exhausted", &APIError{StatusCode: 429, Code: CodeResourceExhausted}, false},
		{"internal", &APIError{StatusCode: 500, Code: CodeInternal}, false},
		{"unavailable", &APIError{StatusCode: 503, Code: CodeUnavailable}, false},
		{"rejected argument", fmt.Errorf("x: %w", invalidArgument("run ID is required")), true},
		{"network", errors.New("connection refused"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, IsPermanent(tt.err))
		})
	}
}

func TestErrNotFoundMatchesCodeOnly(t *testing.T) {
	assert.ErrorIs(t, &APIError{StatusCode: 404, Code: CodeNotFound}, ErrNotFound)
	assert.NotErrorIs(t, &APIError{StatusCode: 404}, ErrNotFound)
	assert.NotErrorIs(t, &APIError{StatusCode: 405, Code: CodeUnimplemented}, ErrNotFound)
}

func TestAPIErrorMessage(t *testing.T) {
	assert.Equal(t, "kfp: HTTP 404 NOT_FOUND: run x not found",
		(&APIError{StatusCode: 404, Code: CodeNotFound, Message: "run x not found"}).Error())
	assert.Equal(t, "kfp: HTTP 502: Bad Gateway", (&APIError{StatusCode: 502, Message: "Bad Gateway"}).Error())
}

func TestCodeString(t *testing.T) {
	assert.Equal(t, "CANCELLED", CodeCanceled.String())
	assert.Equal(t, "UNAUTHENTICATED", CodeUnauthenticated.String())
	assert.Equal(t, "CODE(42)", Code(42).String())
}

func TestDecodeAPIError(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantCode    Code
		wantMessage string
	}{
		{"rpc status", 404, `{"code":5,"message":"run x not found","details":[]}`, CodeNotFound, "run x not found"},
		{"gateway v1 error field", 400, `{"error":"bad filter","code":3}`, CodeInvalidArgument, "bad filter"},
		{"plain text", 502, "upstream connect error\n", CodeOK, "upstream connect error"},
		{"json without code", 500, `{"detail":"boom"}`, CodeOK, `{"detail":"boom"}`},
		{"empty body", 503, "", CodeOK, "Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}

			apiErr := decodeAPIError(resp, []byte(tt.body), time.Now())

			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, tt.wantCode, apiErr.Code)
			assert.Equal(t, tt.wantMessage, apiErr.Message)
		})
	}
}

func TestDecodeAPIErrorCutsLongBody(t *testing.T) {
	resp := &http.Response{StatusCode: 502, Header: http.Header{}}
	body := strings.Repeat("é", 300)

	apiErr := decodeAPIError(resp, []byte(body), time.Now())

	assert.LessOrEqual(t, len(apiErr.Message), maxErrorMessage+len("…"))
	assert.True(t, strings.HasSuffix(apiErr.Message, "…"))
	assert.NotContains(t, apiErr.Message, "\uFFFD")
}

func TestDecodeAPIErrorRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		header     string
		wantWait   time.Duration
		wantHasKey bool
	}{
		{"seconds on 429", 429, "7", 7 * time.Second, true},
		{"seconds on 503", 503, "120", 2 * time.Minute, true},
		{"http date", 503, "Thu, 01 Jan 2026 12:00:30 GMT", 30 * time.Second, true},
		{"date in the past", 429, "Thu, 01 Jan 2026 11:00:00 GMT", 0, true},
		{"negative seconds", 429, "-5", 0, true},
		{"huge seconds", 429, "99999999999999", time.Duration(maxRetryAfterSeconds) * time.Second, true},
		{"garbage", 429, "soon", 0, false},
		{"missing", 429, "", 0, false},
		{"other status", 500, "7", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.header != "" {
				resp.Header.Set("Retry-After", tt.header)
			}

			err := fmt.Errorf("getting run: %w", decodeAPIError(resp, nil, now))
			wait, ok := RetryAfter(err)

			assert.Equal(t, tt.wantHasKey, ok)
			assert.Equal(t, tt.wantWait, wait)
		})
	}
}

func TestRetryAfterOtherErrors(t *testing.T) {
	_, ok := RetryAfter(errors.New("connection refused"))
	assert.False(t, ok)
	_, ok = RetryAfter(nil)
	assert.False(t, ok)
}
