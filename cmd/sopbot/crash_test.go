//go:build crash

package main

import (
	"os"
	"testing"
	"time"
)

// TestCrash runs the crash harness at full size: SOPBOT_CRASH_DELIVERIES
// deliveries (10,000 by default) for 40 promotions, with 20 SIGKILLs. The
// jobs a killed process left running are made available at each restart,
// unless SOPBOT_CRASH_REVIVE=0 leaves them to River's rescuer.
//
// NOTE: with SOPBOT_CRASH_REVIVE=0 a run takes several times as long. A
// process_delivery job that a kill stranded blocks the later deliveries of
// its issue until the rescuer frees it, 5 minutes after it started, and
// those deliveries snooze every 100 ms meanwhile. River does not count a
// snooze as an attempt, so the worker's limit of 50 ordering waits never
// lets them go ahead.
func TestCrash(t *testing.T) {
	deliveries := envInt(t, "SOPBOT_CRASH_DELIVERIES", 10000)
	runCrashHarness(t, crashPlan{Deliveries: deliveries, Requests: 40, Kills: 20, Seed: 1, Settle: 20 * time.Minute,
		ReviveInterrupted: os.Getenv("SOPBOT_CRASH_REVIVE") != "0"})
}
