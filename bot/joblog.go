package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// jobFailure is an error that outcome classified, with the log attributes
// of the job that returned it. River reads err through Error and Unwrap,
// and counted logs cause with attrs.
type jobFailure struct {
	// err is the error for River: cause itself, or a JobSnoozeError or
	// JobCancelError made from it.
	err   error
	cause error
	attrs []any
}

func (f *jobFailure) Error() string { return f.err.Error() }

func (f *jobFailure) Unwrap() error { return f.err }

// logResult logs a job run that failed, once, at the level that matches
// what River does next: WARN for a retry or a snooze for a server's
// Retry-After, ERROR for a cancel or a discard after the last attempt.
// River's own lines about job failures are dropped by QueueLogHandler.
// The error text is the one that outcome logged before, and that River
// stores in the job's errors.
func (w *Workers) logResult(ctx context.Context, job *rivertype.JobRow, err error) {
	// A run cut short by a stopping client is retried without using up the
	// attempt, and River logs it at INFO.
	if err == nil || (ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		return
	}
	attrs := []any{"job_kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts}
	cause := err
	var failure *jobFailure
	if errors.As(err, &failure) {
		attrs = append(attrs, failure.attrs...)
		cause = failure.cause
	}
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	switch {
	case errors.As(err, &snooze):
		// Other snoozes are waits that the worker chose, not failures.
		if failure != nil {
			w.Log.Warn("rate limited; retrying later", append(attrs, "retry_after", snooze.Duration.String(), "error", cause)...)
		}
	case errors.As(err, &cancel):
		if failure == nil {
			cause = cancel.Unwrap()
		}
		w.Log.Error("job failed; cancelled", append(attrs, "error", cause)...)
	case job.Attempt >= job.MaxAttempts:
		w.Log.Error("job failed; discarded", append(attrs, "error", cause)...)
	default:
		w.Log.Warn("job failed; retrying", append(attrs, "error", cause)...)
	}
}

// logPanic logs a job run that panicked with value, as logResult logs an
// error. River records the stack trace in the job's errors.
func (w *Workers) logPanic(job *rivertype.JobRow, value any) {
	attrs := []any{"job_kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts,
		"panic", fmt.Sprint(value)}
	if job.Attempt >= job.MaxAttempts {
		w.Log.Error("job panicked; discarded", attrs...)
		return
	}
	w.Log.Warn("job panicked; retrying", attrs...)
}

// riverFailureMessages end the messages of River's job executor (river
// v0.51.2, internal/jobexecutor) about a job that failed. River logs them
// at INFO (DEBUG for a cancel), whether it retries the job or not.
var riverFailureMessages = []string{
	": Job errored", ": Job errored; retrying", ": Job panicked", ": Job cancelled explicitly",
}

// QueueLogHandler returns a handler for River's client logger that passes
// every record to next except River's reports of failed jobs, because the
// workers log each failure themselves at WARN or ERROR.
func QueueLogHandler(next slog.Handler) slog.Handler {
	return queueLogHandler{next: next}
}

type queueLogHandler struct {
	next slog.Handler
}

func (h queueLogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h queueLogHandler) Handle(ctx context.Context, record slog.Record) error {
	for _, suffix := range riverFailureMessages {
		if strings.HasSuffix(record.Message, suffix) {
			return nil
		}
	}
	return h.next.Handle(ctx, record)
}

func (h queueLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return queueLogHandler{next: h.next.WithAttrs(attrs)}
}

func (h queueLogHandler) WithGroup(name string) slog.Handler {
	return queueLogHandler{next: h.next.WithGroup(name)}
}
