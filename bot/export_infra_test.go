package bot

import "context"

// SweepStaleActions runs the stale-action part of the sweep, for tests.
func (w *Workers) SweepStaleActions(ctx context.Context) error { return w.sweepStaleActions(ctx) }
