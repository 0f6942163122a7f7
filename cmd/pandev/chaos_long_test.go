//go:build longchaos

package main

// The long chaos suite, for nightly-style runs on demand:
//
//	go test -tags longchaos -run 'Chaos' -timeout 60m ./cmd/pandev
//
// It repeats the quick chaos tests at several points of the run, with 20 %
// of the Azure DevOps calls failing (5xx, 429 with Retry-After, resets,
// truncated bodies) on top, on SQLite and PostgreSQL.

import (
	"os"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
)

// Backfills under 20 % faults wait out Retry-After and retries: allow
// them far longer than the quick suite does. And give their jobs 20 s
// (slices of 10 s): a backfill writes and checkpoints a chunk of PRs or
// runs at a time, and the quick suite's 2 s slices under 20 % faults
// (1 s Retry-After waits) often ended before a chunk did, so the work was
// done again and again. Production slices are 5 minutes.
func init() {
	if os.Getenv("PANDEV_TEST_WAIT") == "" {
		waitLimit = 10 * time.Minute
	}
	chaosJobTimeout = "20s"
}

// longFaults fails a fifth of the REST calls, in every way the simulator
// can, plus latency so that a kill lands mid-run.
var longFaults = azdosim.FaultConfig{Latency: "5ms", Rules: []azdosim.FaultRule{
	{Rate: 0.06, Status: 503, RetryAfter: 1},
	{Rate: 0.05, Status: 429, RetryAfter: 1},
	{Rate: 0.04, Status: 500},
	{Rate: 0.03, Reset: true},
	{Rate: 0.02, Truncate: true},
}}

// TestChaosLongKillDuringBackfillWithFaults: kill -9 at 10 %, 50 % and
// 80 % of a backfill under 20 % API faults; each ends with the same rows
// as an uninterrupted backfill without faults.
func TestChaosLongKillDuringBackfillWithFaults(t *testing.T) {
	bin := pandevBinary(t)
	sim := chaosSim(t, 21, "medium")
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			if err := sim.SetFaults(azdosim.FaultConfig{Latency: "5ms"}); err != nil {
				t.Fatal(err)
			}
			clean, cleanToken := connectAndBackfill(t, bin, sim, eng.dsn(t), 0)
			want, wantCounts := exportDigest(t, clean, cleanToken)
			if err := sim.SetFaults(longFaults); err != nil {
				t.Fatal(err)
			}
			for _, at := range []float64{0.1, 0.5, 0.8} {
				killed, token := connectAndBackfill(t, bin, sim, eng.dsn(t), at)
				got, gotCounts := exportDigest(t, killed, token)
				if got != want {
					t.Fatalf("kill at %.0f%% under faults: data differs from a clean backfill:\nclean  %v\nkilled %v", at*100, wantCounts, gotCounts)
				}
			}
		})
	}
}

// TestChaosLongIngestBursts repeats the kill-during-burst test five times
// per engine.
func TestChaosLongIngestBursts(t *testing.T) {
	bin := pandevBinary(t)
	sim := chaosSim(t, 22, "small")
	for _, eng := range chaosEngines() {
		t.Run(eng.name, func(t *testing.T) {
			for range 5 {
				killDuringIngestBurst(t, bin, sim, eng.dsn(t))
			}
		})
	}
}
