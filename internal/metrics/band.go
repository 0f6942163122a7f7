package metrics

import "time"

// Band is a performance band of the DORA 2023 benchmark table.
type Band string

// Bands, best first. BandNone means the figure has no data, or the window
// is too short to place it.
const (
	BandNone   Band = ""
	BandElite  Band = "elite"
	BandHigh   Band = "high"
	BandMedium Band = "medium"
	BandLow    Band = "low"
)

const (
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day // the benchmark's "month" is a 30-day block
)

// LeadTimeBand places a lead time median: < 1 day, < 1 week, < 30 days.
func LeadTimeBand(s Stats) Band {
	if s.NoData() {
		return BandNone
	}
	return durationBand(*s.Median, day, week, month)
}

// RecoveryBand places a recovery time median: < 1 hour, < 1 day, < 1 week.
func RecoveryBand(s Stats) Band {
	if s.NoData() {
		return BandNone
	}
	return durationBand(*s.Median, time.Hour, day, week)
}

func durationBand(median, elite, high, medium time.Duration) Band {
	switch {
	case median < elite:
		return BandElite
	case median < high:
		return BandHigh
	case median < medium:
		return BandMedium
	default:
		return BandLow
	}
}

// ChangeFailureBand places a change failure rate: ≤ 5 %, ≤ 10 %, ≤ 15 %.
// The comparison is on counts (100·failures ≤ 5·n), so a rate of exactly
// 5 % is Elite without floating-point doubt.
func ChangeFailureBand(r Rate) Band {
	switch {
	case r.N == 0:
		return BandNone
	case 100*r.Count <= 5*r.N:
		return BandElite
	case 100*r.Count <= 10*r.N:
		return BandHigh
	case 100*r.Count <= 15*r.N:
		return BandMedium
	default:
		return BandLow
	}
}

// FrequencyBand places deployment frequency from the median deploy-days per
// 7-day block and per 30-day block (nil when the window holds no full
// block): weekly ≥ 5 Elite, weekly ≥ 1 High, monthly ≥ 1 Medium, else Low.
// When the weekly median is below 1 and there is no full 30-day block, the
// band cannot be told apart from Medium and Low, so it is BandNone.
func FrequencyBand(weekly, monthly *float64) Band {
	switch {
	case weekly == nil:
		return BandNone
	case *weekly >= 5:
		return BandElite
	case *weekly >= 1:
		return BandHigh
	case monthly == nil:
		return BandNone
	case *monthly >= 1:
		return BandMedium
	default:
		return BandLow
	}
}
