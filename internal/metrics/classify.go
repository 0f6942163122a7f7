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

// Classify returns the candidates that are counted deployments, with
// Production set by the production rule; zero rule fields take the
// defaults. It drops:
//   - candidates whose outcome counts nowhere (a skipped production stage —
//     approval timed out, condition false — a canceled run, one never started
//     or still running), and any without a finish time;
//   - build-rule candidates none of whose names (definition, stages, tags)
//     match the deployment rule.
//
// For a build-rule candidate the environment becomes the matched name, the
// first matched name that is also a production name if there is one, so that
// "Deploy prod" in a stage makes the run a production deployment even when
// the definition is called "web-deploy".
func Classify(rules delivery.Rules, candidates []delivery.Deployment) []delivery.Deployment {
	rules = withDefaults(rules)
	var out []delivery.Deployment
	for _, d := range candidates {
		if OutcomeOf(d.Result) == OutcomeNone || d.FinishedAt.IsZero() {
			continue
		}
		if d.Source == delivery.SourceBuildRule {
			name, ok := matchedName(rules, d)
			if !ok {
				continue
			}
			d.Environment = name
		}
		d.Production = rules.Production.MatchString(d.Environment)
		out = append(out, d)
	}
	return out
}

// matchedName picks the name a build-rule candidate is a deployment by.
func matchedName(rules delivery.Rules, d delivery.Deployment) (string, bool) {
	names := append(append([]string{d.Pipeline}, d.Stages...), d.Tags...)
	first, found := "", false
	for _, n := range names {
		if n == "" || !rules.Deployment.MatchString(n) {
			continue
		}
		if rules.Production.MatchString(n) {
			return n, true
		}
		if !found {
			first, found = n, true
		}
	}
	return first, found
}

// withDefaults fills what a zero Rules value leaves out with METRICS.md's
// defaults, so that callers (and tests) can pass delivery.Rules{}.
func withDefaults(r delivery.Rules) delivery.Rules {
	def := delivery.DefaultRules()
	if r.Deployment == nil {
		r.Deployment = def.Deployment
	}
	if r.Production == nil {
		r.Production = def.Production
	}
	if len(r.Incident.Types) == 0 && len(r.Incident.TaggedTypes) == 0 {
		r.Incident = def.Incident
	}
	if r.AttributionWindow <= 0 {
		r.AttributionWindow = def.AttributionWindow
	}
	return r
}
