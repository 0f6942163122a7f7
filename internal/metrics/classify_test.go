package metrics

import (
	"regexp"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

func TestClassify(t *testing.T) {
	env := func(name string, r delivery.Result) delivery.Deployment {
		d := success("d", "r1", "a", h(1))
		d.Environment, d.Result = name, r
		return d
	}
	build := func(pipeline string, stages, tags []string) delivery.Deployment {
		d := success("d", "r1", "a", h(1))
		d.Source, d.Environment, d.Pipeline, d.Stages, d.Tags = delivery.SourceBuildRule, "", pipeline, stages, tags
		return d
	}
	release := env("Production", delivery.ResultSucceeded)
	release.Source = delivery.SourceRelease
	running := env("prod", delivery.ResultInProgress)
	noFinish := env("prod", delivery.ResultSucceeded)
	noFinish.FinishedAt = time.Time{}

	tests := []struct {
		name       string
		candidate  delivery.Deployment
		counted    bool
		production bool
		outcome    Outcome
		envName    string
	}{
		{"succeeded production environment deployment", env("prod", delivery.ResultSucceeded), true, true, OutcomeSuccess, "prod"},
		{"partiallySucceeded is a success", env("prod", delivery.ResultPartiallySucceeded), true, true, OutcomeSuccess, "prod"},
		{"failed is a failure", env("prod", delivery.ResultFailed), true, true, OutcomeFailure, "prod"},
		{"skipped production stage is not a deployment", env("prod", delivery.ResultSkipped), false, false, OutcomeNone, ""},
		{"canceled run is not counted", env("prod", delivery.ResultCanceled), false, false, OutcomeNone, ""},
		{"never started is not counted", env("prod", delivery.ResultNotStarted), false, false, OutcomeNone, ""},
		{"still running is not counted", running, false, false, OutcomeNone, ""},
		{"no finish time is not counted", noFinish, false, false, OutcomeSuccess, ""},
		{"classic release to Production", release, true, true, OutcomeSuccess, "Production"},
		{"staging is not production", env("staging", delivery.ResultSucceeded), true, false, OutcomeSuccess, "staging"},
		{"preprod is not production", env("preprod", delivery.ResultSucceeded), true, false, OutcomeSuccess, "preprod"},
		{"build rule: stage name matches both rules", build("web-ci", []string{"Build", "Deploy prod"}, nil), true, true, OutcomeSuccess, "Deploy prod"},
		{"build rule: production stage preferred over deploy definition", build("web-deploy", []string{"Deploy prod"}, nil), true, true, OutcomeSuccess, "Deploy prod"},
		{"build rule: deploy definition without production name", build("web-deploy", []string{"Test"}, nil), true, false, OutcomeSuccess, "web-deploy"},
		{"build rule: tag matches", build("web-ci", nil, []string{"release-prod"}), true, true, OutcomeSuccess, "release-prod"},
		{"build rule: nothing matches the deployment rule", build("web-ci", []string{"Build", "prod tests"}, nil), false, false, OutcomeSuccess, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OutcomeOf(tt.candidate.Result); got != tt.outcome {
				t.Errorf("OutcomeOf(%q) = %v, want %v", tt.candidate.Result, got, tt.outcome)
			}
			got := Classify(delivery.Rules{}, []delivery.Deployment{tt.candidate})
			if (len(got) == 1) != tt.counted {
				t.Fatalf("counted = %v, want %v", len(got) == 1, tt.counted)
			}
			if !tt.counted {
				return
			}
			if got[0].Production != tt.production || got[0].Environment != tt.envName {
				t.Errorf("production, environment = %v, %q; want %v, %q", got[0].Production, got[0].Environment, tt.production, tt.envName)
			}
		})
	}
}

func TestClassifyCustomRules(t *testing.T) {
	rules := delivery.Rules{Deployment: regexp.MustCompile(`^ship`), Production: regexp.MustCompile(`^live$`)}
	d := success("d", "r1", "a", h(1))
	d.Environment = "live"
	b := d
	b.Source, b.Pipeline = delivery.SourceBuildRule, "deploy-web"
	got := Classify(rules, []delivery.Deployment{d, b})
	if len(got) != 1 || !got[0].Production {
		t.Errorf("got %+v; want only the environment deployment, to production", got)
	}
}
