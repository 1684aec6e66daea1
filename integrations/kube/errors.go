package kube

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// permanentError is a failure that a retry of the same action cannot fix,
// such as an invalid spec or an object that belongs to another request.
type permanentError struct {
	err error
}

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// permanentf returns a permanent error. Like fmt.Errorf, it wraps an error
// given with %w.
func permanentf(format string, args ...any) error {
	return &permanentError{err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether retrying the action that returned err cannot
// succeed, so the caller should cancel the job instead of retrying it.
//
// The package's own rejections are permanent: an invalid spec, an object
// that exists without this request's label, a Secret still referenced by a
// Deployment. So are the API errors that only a person can fix: 400 Bad
// Request, 401 Unauthorized, 403 Forbidden, 404 Not Found, 405 Method Not
// Allowed, 406 Not Acceptable, 413 Request Entity Too Large, 415
// Unsupported Media Type and 422 Invalid. A 403 for a namespace that is
// being terminated is not permanent. Timeouts, 409 Conflict, 429 Too Many Requests, 5xx, network
// errors and unknown errors are not permanent either.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var permanent *permanentError
	if errors.As(err, &permanent) {
		return true
	}
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return false
	}
	switch {
	case apierrors.IsBadRequest(err),
		apierrors.IsUnauthorized(err),
		apierrors.IsForbidden(err),
		apierrors.IsNotFound(err),
		apierrors.IsMethodNotSupported(err),
		apierrors.IsNotAcceptable(err),
		apierrors.IsRequestEntityTooLargeError(err),
		apierrors.IsUnsupportedMediaType(err),
		apierrors.IsInvalid(err):
		return true
	}
	return false
}

// quietError hides the message of an API error about a Secret, because a
// validation message may quote part of a value. It keeps the reason and
// status code in its text and the API error for errors.As and IsPermanent.
type quietError struct {
	action string
	err    error
}

func (e *quietError) Error() string {
	var status apierrors.APIStatus
	if errors.As(e.err, &status) {
		s := status.Status()
		return fmt.Sprintf("%s: %s (HTTP %d; the server's message is not shown because it may contain a secret value)", e.action, s.Reason, s.Code)
	}
	return fmt.Sprintf("%s: %v", e.action, e.err)
}

func (e *quietError) Unwrap() error { return e.err }
