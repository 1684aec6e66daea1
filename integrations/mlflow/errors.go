package mlflow

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sopbot/sopbot/integrations/httpretry"
)

// ErrNotFound matches, with errors.Is, an APIError whose code is
// RESOURCE_DOES_NOT_EXIST.
var ErrNotFound = errors.New("mlflow: resource does not exist")

// codeNotFound is MLflow's error code for a missing model, version or alias.
const codeNotFound = "RESOURCE_DOES_NOT_EXIST"

// APIError is an error response from the MLflow server.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is MLflow's error_code, such as RESOURCE_DOES_NOT_EXIST. It is
	// empty when the body was not an MLflow error, for example from a proxy.
	Code string
	// Message is MLflow's message, or the start of a non-JSON body.
	Message string
	// RetryAfter is the wait the response's Retry-After header asked for,
	// or 0 without one.
	RetryAfter time.Duration
}

// Error returns the status, code and message.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("mlflow: HTTP %d: %s", e.StatusCode, e.Message)
	}
	return fmt.Sprintf("mlflow: HTTP %d %s: %s", e.StatusCode, e.Code, e.Message)
}

// Is reports whether target is ErrNotFound and e is RESOURCE_DOES_NOT_EXIST.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Code == codeNotFound
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
// succeed: an APIError with a 4xx status other than 408 and 429, an
// argument the client rejected before sending, or ErrLimitExceeded.
// Server errors, network errors and unknown errors are not permanent.
func IsPermanent(err error) bool {
	var invalid *invalidArgumentError
	if errors.As(err, &invalid) || errors.Is(err, ErrLimitExceeded) {
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

// RetryAfter returns how long to wait before retrying the call that
// returned err: the time left of a Retry-After that held the request back
// (*httpretry.WaitError), or the Retry-After of an error response. It
// returns false without a wait, and for an *httpretry.UnknownOutcomeError,
// whose effect the caller must look for before it tries again.
func RetryAfter(err error) (time.Duration, bool) {
	var unknown *httpretry.UnknownOutcomeError
	if errors.As(err, &unknown) {
		return 0, false
	}
	if wait, ok := httpretry.RetryAfter(err); ok {
		return wait, true
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return apiErr.RetryAfter, true
	}
	return 0, false
}
