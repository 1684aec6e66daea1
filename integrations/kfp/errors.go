package kfp

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrNotFound matches, with errors.Is, an APIError whose code is NOT_FOUND,
// which the API server returns for a missing run.
var ErrNotFound = errors.New("kfp: resource not found")

// Code is a google.rpc.Code, the code field of a googleRpcStatus.
type Code int32

// The google.rpc.Code values.
const (
	CodeOK                 Code = 0
	CodeCanceled           Code = 1
	CodeUnknown            Code = 2
	CodeInvalidArgument    Code = 3
	CodeDeadlineExceeded   Code = 4
	CodeNotFound           Code = 5
	CodeAlreadyExists      Code = 6
	CodePermissionDenied   Code = 7
	CodeResourceExhausted  Code = 8
	CodeFailedPrecondition Code = 9
	CodeAborted            Code = 10
	CodeOutOfRange         Code = 11
	CodeUnimplemented      Code = 12
	CodeInternal           Code = 13
	CodeUnavailable        Code = 14
	CodeDataLoss           Code = 15
	CodeUnauthenticated    Code = 16
)

var codeNames = map[Code]string{
	CodeOK:                 "OK",
	CodeCanceled:           "CANCELLED",
	CodeUnknown:            "UNKNOWN",
	CodeInvalidArgument:    "INVALID_ARGUMENT",
	CodeDeadlineExceeded:   "DEADLINE_EXCEEDED",
	CodeNotFound:           "NOT_FOUND",
	CodeAlreadyExists:      "ALREADY_EXISTS",
	CodePermissionDenied:   "PERMISSION_DENIED",
	CodeResourceExhausted:  "RESOURCE_EXHAUSTED",
	CodeFailedPrecondition: "FAILED_PRECONDITION",
	CodeAborted:            "ABORTED",
	CodeOutOfRange:         "OUT_OF_RANGE",
	CodeUnimplemented:      "UNIMPLEMENTED",
	CodeInternal:           "INTERNAL",
	CodeUnavailable:        "UNAVAILABLE",
	CodeDataLoss:           "DATA_LOSS",
	CodeUnauthenticated:    "UNAUTHENTICATED",
}

// String returns the code's name as google/rpc/code.proto spells it, such
// as "NOT_FOUND", or "CODE(42)" for a value outside the enum.
func (c Code) String() string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return fmt.Sprintf("CODE(%d)", int32(c))
}

// APIError is an error response from the KFP API server.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the googleRpcStatus code. It is CodeOK (0) when the body was
	// not a googleRpcStatus, for example an error page from a proxy.
	Code Code
	// Message is the googleRpcStatus message, or the start of any other
	// body. The client removes its bearer token from it.
	Message string

	// retryAfter is the Retry-After wait of a 429 or 503 response, valid
	// when hasRetryAfter is set.
	retryAfter    time.Duration
	hasRetryAfter bool
}

// Error returns the status, code and message.
func (e *APIError) Error() string {
	if e.Code == CodeOK {
		return fmt.Sprintf("kfp: HTTP %d: %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("kfp: HTTP %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Is reports whether target is ErrNotFound and e has the code NOT_FOUND.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Code == CodeNotFound
}

// invalidArgumentError is an argument the client rejects before sending.
type invalidArgumentError struct {
	message string
}

func (e *invalidArgumentError) Error() string { return e.message }

func invalidArgument(format string, args ...any) error {
	return &invalidArgumentError{message: fmt.Sprintf(format, args...)}
}

// IsPermanent reports whether retrying the call that returned err cannot
// succeed: an APIError with a 4xx status other than 408 and 429, or an
// argument the client rejected before sending. Server errors, network
// errors and unknown errors are not permanent.
func IsPermanent(err error) bool {
	var invalid *invalidArgumentError
	if errors.As(err, &invalid) {
		return true
	}

	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	if apiErr.StatusCode == http.StatusRequestTimeout || apiErr.StatusCode == http.StatusTooManyRequests {
		return false
	}
	return apiErr.StatusCode >= 400 && apiErr.StatusCode < 500
}

// RetryAfter returns the wait that the server requested in the Retry-After
// header of a 429 or 503 response, as seconds or an HTTP date, and false
// when err carries no such wait. A date in the past gives 0.
func RetryAfter(err error) (time.Duration, bool) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !apiErr.hasRetryAfter {
		return 0, false
	}
	return apiErr.retryAfter, true
}

// decodeAPIError builds an APIError from a googleRpcStatus body, or from
// the start of any other body. grpc-gateway v1 also sent the message in an
// "error" field, which is read when "message" is empty.
func decodeAPIError(resp *http.Response, body []byte, now time.Time) *APIError {
	apiErr := &APIError{StatusCode: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		apiErr.retryAfter, apiErr.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}

	var status struct {
		Code    *int32 `json:"code"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(body, &status); err == nil && status.Code != nil {
		apiErr.Code = Code(*status.Code)
		apiErr.Message = status.Message
		if apiErr.Message == "" {
			apiErr.Message = status.Error
		}
		return apiErr
	}

	message := strings.TrimSpace(string(body))
	if len(message) > maxErrorMessage {
		message = strings.ToValidUTF8(message[:maxErrorMessage], "") + "…"
	}
	if message == "" {
		message = http.StatusText(resp.StatusCode)
	}
	apiErr.Message = message
	return apiErr
}

// maxRetryAfterSeconds is the largest wait a time.Duration can hold, in
// seconds. A larger Retry-After is capped to it.
const maxRetryAfterSeconds = int64(math.MaxInt64 / int64(time.Second))

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		seconds = min(max(seconds, 0), maxRetryAfterSeconds)
		return time.Duration(seconds) * time.Second, true
	}
	if at, err := http.ParseTime(value); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
