package azure

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

var (
	t0  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	key = store.Key{IntegrationID: "i1", WorkspaceID: "w1"}
)

func at(h int) *time.Time {
	t := t0.Add(time.Duration(h) * time.Hour)
	return &t
}

func stage(name, result string, h int) store.Stage {
	s := store.Stage{RecordID: "rec-" + name, Name: name, State: "completed", Result: result, StartedAt: at(h), FinishedAt: at(h + 1)}
	if result == "skipped" {
		s.StartedAt, s.FinishedAt = nil, nil
	}
	return s
}

func run(id int64, def string, tags string, finished *time.Time, stages ...store.Stage) store.PipelineRun {
	return store.PipelineRun{Key: key, RunID: id, ProjectID: "p1", DefinitionName: def, RepoID: "r1", SourceVersion: fmt.Sprintf("sha%d", id),
		Tags: tags, Status: "completed", Result: "succeeded", StartedAt: at(0), FinishedAt: finished, Stages: stages}
}

func TestDeriveDeployments(t *testing.T) {
	rules := delivery.DefaultRules()
	env := func(id int, run int64, environment, sha string) store.Deployment {
		repo := ""
		if sha != "" {
			repo = "r1"
		}
		return store.Deployment{RepoID: repo, Key: key, DeploymentKey: fmt.Sprintf("env:%d", id), ProjectID: "p1", Source: "environment",
			Environment: environment, IsProduction: rules.Production.MatchString(environment), Result: "succeeded", RunID: run,
			SHA: sha, FinishedAt: at(3)}
	}
	for _, c := range []struct {
		name     string
		runs     []store.PipelineRun
		existing []store.Deployment
		want     []string // key environment production result sha
	}{
		{name: "environment records get the run's commit; its stages add nothing",
			runs:     []store.PipelineRun{run(1, "api-deploy", "", at(5), stage("Deploy_production", "succeeded", 2))},
			existing: []store.Deployment{env(10, 1, "production", "")},
			want:     []string{"env:10 production true succeeded sha1"}},
		{name: "an environment record already complete is left alone",
			runs:     []store.PipelineRun{run(1, "api-deploy", "", at(5))},
			existing: []store.Deployment{env(10, 1, "production", "sha1")}},
		{name: "deploy stages without records: one deployment per stage that ran",
			runs: []store.PipelineRun{run(2, "api-ci", "", at(9), stage("Build", "succeeded", 1), stage("Deploy_dev", "succeeded", 2),
				stage("Deploy_staging", "failed", 3), stage("Deploy_production", "skipped", 4))},
			want: []string{"stage:2:rec-Deploy_dev dev false succeeded sha2", "stage:2:rec-Deploy_staging staging false failed sha2"}},
		{name: "a skipped production stage is no deployment, and the definition name is not used then",
			runs: []store.PipelineRun{run(3, "api-deploy", "", at(9), stage("Build", "succeeded", 1), stage("Deploy_production", "skipped", 4))}},
		{name: "plain build matching the deployment rule by definition name",
			runs: []store.PipelineRun{run(4, "web-release", "", at(9), stage("Build", "succeeded", 1))},
			want: []string{"build:4 web-release false succeeded sha4"}},
		// METRICS.md: production when the matched name matches the production
		// rule. "prod" alone is no deployment name, so the run deploys by
		// "deploy", which is not production (the collector used to say
		// production here while the metrics said not: one classification now).
		{name: "plain build matching by tag: the matched name is its environment",
			runs: []store.PipelineRun{run(5, "nightly", "deploy,prod", at(9))},
			want: []string{"build:5 deploy false succeeded sha5"}},
		{name: "plain build matching by a tag that names production",
			runs: []store.PipelineRun{run(9, "nightly", "ci,deploy-prod", at(9))},
			want: []string{"build:9 deploy-prod true succeeded sha9"}},
		{name: "a build matching nothing is not a deployment",
			runs: []store.PipelineRun{run(6, "unit-tests", "ci", at(9), stage("Test", "succeeded", 1))}},
		{name: "a run still going is not a deployment yet",
			runs: []store.PipelineRun{run(7, "web-release", "", nil)}},
		{name: "a stage named just Deploy keeps its name as the environment",
			runs: []store.PipelineRun{run(8, "x", "", at(9), stage("Deploy", "succeeded", 1))},
			want: []string{"stage:8:rec-Deploy Deploy false succeeded sha8"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, d := range deriveDeployments(c.runs, c.existing, rules) {
				got = append(got, fmt.Sprintf("%s %s %v %s %s", d.DeploymentKey, d.Environment, d.IsProduction, d.Result, d.SHA))
			}
			sort.Strings(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestStageEnvironment(t *testing.T) {
	for in, want := range map[string]string{"Deploy_production": "production", "deploy-staging": "staging", "Deploy": "Deploy",
		"Release to prod": "Release to prod", "DEPLOY prod": "prod"} {
		if got := stageEnvironment(in); got != want {
			t.Errorf("stageEnvironment(%q) = %q, want %q", in, got, want)
		}
	}
}
