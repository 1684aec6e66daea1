package httpretry

import (
	"context"
	"fmt"
	"time"
)

// UnknownOutcomeError is the error of a non-replayable call whose effect
// may have happened, because a send failed with an unknown outcome and no
// later check found the effect. A caller must look for the effect before it
// tries again. The clients' RetryAfter functions therefore return no wait
// for this error, because River does not count a snooze as an attempt.
type UnknownOutcomeError struct {
	// Err is the first failure with an unknown outcome.
	Err error
	// Last is the failure that ended the call, when it differs from Err.
	Last error
}

func (e *UnknownOutcomeError) Error() string {
	if e.Last == nil {
		return fmt.Sprintf("outcome unknown: %v", e.Err)
	}
	return fmt.Sprintf("outcome unknown: %v; then: %v", e.Err, e.Last)
}

// Unwrap returns Err, so the status or network error behind it can be
// inspected.
func (e *UnknownOutcomeError) Unwrap() error { return e.Err }

// Once sends a request that must not take effect twice. It calls send, and
// when send fails with an error that unknown reports as an unknown outcome,
// it calls find to learn whether the effect happened. It sends again only
// when find reports that the effect is missing. It sends at most attempts
// times, and waits a short backoff before each find.
//
// NOTE: find cannot see a request that the server is still working on
// after the client gave up, so a slow request that completes after find
// looked can still take effect twice.
func Once[T any](ctx context.Context, attempts int, send func(context.Context) (T, error),
	find func(context.Context) (T, bool, error), unknown func(error) bool) (T, error) {
	var zero T
	attempts = max(attempts, 1)
	var first error
	for attempt := 1; ; attempt++ {
		v, err := send(ctx)
		switch {
		case err == nil:
			return v, nil
		case first != nil && !unknown(err):
			return zero, &UnknownOutcomeError{Err: first, Last: err}
		case !unknown(err):
			return zero, err
		case first == nil:
			first = err
		}

		if err := sleep(ctx, findDelay(attempt)); err != nil {
			return zero, &UnknownOutcomeError{Err: first, Last: err}
		}
		found, ok, err := find(ctx)
		if err != nil {
			return zero, &UnknownOutcomeError{Err: first, Last: err}
		}
		if ok {
			return found, nil
		}
		if attempt >= attempts {
			return zero, &UnknownOutcomeError{Err: first}
		}
	}
}

// findDelay gives a server a moment to finish the write that an unknown
// outcome may hide, before find reads.
func findDelay(attempt int) time.Duration {
	return time.Duration(attempt) * 50 * time.Millisecond
}
