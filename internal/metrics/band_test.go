package metrics

import (
	"testing"
	"time"
)

func TestDurationBands(t *testing.T) {
	stats := func(d time.Duration) Stats { return Summarize([]time.Duration{d}) }
	tests := []struct {
		name   string
		band   func(Stats) Band
		median time.Duration
		want   Band
	}{
		{"lead time just under a day is elite", LeadTimeBand, day - time.Second, BandElite},
		{"lead time of exactly a day is high", LeadTimeBand, day, BandHigh},
		{"lead time of exactly a week is medium", LeadTimeBand, week, BandMedium},
		{"lead time just under 30 days is medium", LeadTimeBand, month - time.Second, BandMedium},
		{"lead time of 30 days is low", LeadTimeBand, month, BandLow},
		{"recovery under an hour is elite", RecoveryBand, time.Hour - time.Second, BandElite},
		{"recovery of exactly an hour is high", RecoveryBand, time.Hour, BandHigh},
		{"recovery of exactly a day is medium", RecoveryBand, day, BandMedium},
		{"recovery of exactly a week is low", RecoveryBand, week, BandLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.band(stats(tt.median)); got != tt.want {
				t.Errorf("band(%v) = %q, want %q", tt.median, got, tt.want)
			}
		})
	}
	if LeadTimeBand(Stats{}) != BandNone || RecoveryBand(Stats{}) != BandNone {
		t.Error("no data must have no band")
	}
}

func TestChangeFailureBand(t *testing.T) {
	tests := []struct {
		name     string
		failures int
		n        int
		want     Band
	}{
		{"no deployments has no band", 0, 0, BandNone},
		{"no failures is elite", 0, 10, BandElite},
		{"exactly 5 % is elite", 1, 20, BandElite},
		{"just over 5 % is high", 1, 19, BandHigh},
		{"exactly 10 % is high", 1, 10, BandHigh},
		{"exactly 15 % is medium", 3, 20, BandMedium},
		{"just over 15 % is low", 2, 13, BandLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ChangeFailureBand(newRate(tt.failures, tt.n)); got != tt.want {
				t.Errorf("band(%d/%d) = %q, want %q", tt.failures, tt.n, got, tt.want)
			}
		})
	}
}

func TestFrequencyBand(t *testing.T) {
	tests := []struct {
		name            string
		weekly, monthly *float64
		want            Band
	}{
		{"no full week has no band", nil, nil, BandNone},
		{"5 deploy-days a week is elite", num(5), num(20), BandElite},
		{"4.5 deploy-days a week is high", num(4.5), num(18), BandHigh},
		{"1 deploy-day a week is high", num(1), num(4), BandHigh},
		{"under a day a week but one a month is medium", num(0.5), num(1), BandMedium},
		{"under one a month is low", num(0), num(0.5), BandLow},
		{"under a day a week and no full month has no band", num(0), nil, BandNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FrequencyBand(tt.weekly, tt.monthly); got != tt.want {
				t.Errorf("band = %q, want %q", got, tt.want)
			}
		})
	}
}
