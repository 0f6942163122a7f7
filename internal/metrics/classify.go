package metrics

import (
	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Outcome is what a deployment's result counts as.
type Outcome int

// Outcomes. OutcomeNone — canceled, skipped, never started or still
// running — is not counted by any figure.
const (
	OutcomeNone Outcome = iota
	OutcomeSuccess
	OutcomeFailure
)

// OutcomeOf maps a provider result to an outcome: succeeded and
// partiallySucceeded are successes, failed is a failure, the rest count
// nowhere.
func OutcomeOf(r delivery.Result) Outcome {
	switch r {
	case delivery.ResultSucceeded, delivery.ResultPartiallySucceeded:
		return OutcomeSuccess
	case delivery.ResultFailed:
		return OutcomeFailure
	default:
		return OutcomeNone
	}
}

// Classify returns the candidates that are counted deployments, classified
// by delivery.Rules.Classify (the collector stores them by the same rule);
// zero rule fields take the defaults. It drops candidates whose outcome
// counts nowhere (a skipped production stage — approval timed out,
// condition false — a canceled run, one never started or still running),
// any without a finish time, and build-rule candidates none of whose names
// match the deployment rule.
func Classify(rules delivery.Rules, candidates []delivery.Deployment) []delivery.Deployment {
	rules = rules.OrDefaults()
	var out []delivery.Deployment
	for _, d := range candidates {
		if OutcomeOf(d.Result) == OutcomeNone || d.FinishedAt.IsZero() {
			continue
		}
		if d, ok := rules.Classify(d); ok {
			out = append(out, d)
		}
	}
	return out
}
