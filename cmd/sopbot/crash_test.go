//go:build crash

package main

import (
	"testing"
	"time"
)

// TestCrash runs the crash harness at full size: SOPBOT_CRASH_DELIVERIES
// deliveries (10,000 by default) for 40 promotions, with 20 SIGKILLs. The
// jobs a killed process left running are requeued by the next process as
// it starts.
func TestCrash(t *testing.T) {
	deliveries := envInt(t, "SOPBOT_CRASH_DELIVERIES", 10000)
	runCrashHarness(t, crashPlan{Deliveries: deliveries, Requests: 40, Kills: 20, Seed: 1, Settle: 20 * time.Minute})
}
