package azure

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// derive turns the project's stored runs, stages and environment records
// into deployments (METRICS.md "Deployment"). What a deployment changed is
// computed by the metrics from the commit graph when a figure asks; it is
// not stored: one implementation, in internal/metrics.
func (s *syncer) derive(ctx context.Context, cp *collect.Checkpoint) error {
	since := s.From.Add(-24 * time.Hour) // runs finishing around the boundary
	deps, err := s.listDeployments(ctx, time.Time{})
	if err != nil {
		return err
	}
	runsSince := since
	for _, d := range deps {
		// Records read again without their commit (it comes from the run) reach back to their run.
		if t := firstTime(d.StartedAt, d.FinishedAt); d.SHA == "" && d.RunID != 0 && t != nil && t.Before(runsSince) {
			runsSince = t.Add(-24 * time.Hour)
		}
	}
	runs, err := s.listRuns(ctx, runsSince)
	if err != nil {
		return err
	}
	derived := deriveDeployments(runs, deps, s.Rules)
	superseded := supersededStages(deps)
	cp.Total = int64(len(derived))
	return s.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteDeployments(ctx, s.Key.IntegrationID, superseded); err != nil {
			return err
		}
		for _, d := range derived {
			if err := tx.UpsertDeployment(ctx, d); err != nil {
				return err
			}
		}
		cp.Done = cp.Total
		return nil
	})
}

// listRuns pages through the project's runs finished (or queued) since.
func (s *syncer) listRuns(ctx context.Context, since time.Time) ([]store.PipelineRun, error) {
	f := store.Filter{WorkspaceID: s.Key.WorkspaceID, ProjectID: s.Project.ProjectID, From: since, Limit: 500}
	var out []store.PipelineRun
	for {
		page, err := s.DB.ListPipelineRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if r.IntegrationID == s.Key.IntegrationID {
				out = append(out, r)
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		c := page[len(page)-1].Cursor()
		f.After = &c
	}
}

// listDeployments pages through the project's deployments finished since.
func (s *syncer) listDeployments(ctx context.Context, since time.Time) ([]store.Deployment, error) {
	f := store.Filter{WorkspaceID: s.Key.WorkspaceID, ProjectID: s.Project.ProjectID, From: since, Limit: 500}
	var out []store.Deployment
	for {
		page, err := s.DB.ListDeployments(ctx, f, false)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			if d.IntegrationID == s.Key.IntegrationID {
				out = append(out, d)
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		c := page[len(page)-1].Cursor()
		f.After = &c
	}
}

// deriveDeployments applies METRICS.md's three sources, in order, to each
// run, and returns the deployments to write (a deploy stage as soon as it
// finished, even while later stages of its run still run):
//  1. the run's environment deployment records (stored as "env:<id>"; this
//     fills in their repository and deployed commit from the run), else its
//     stages whose names match the deployment rule ("stage:<run>:<record>"),
//     one per stage that ran — a skipped stage is no deployment;
//  2. classic release deployments are stored as they are read and need
//     nothing here;
//  3. else, when the definition name or a tag matches the deployment rule,
//     the run itself ("build:<run>").
//
// The environment of a stage is its name without a leading "deploy" (so
// "Deploy_production" deploys to "production"); of a build, the definition
// name. Production follows the production rule on that name (and, for
// builds, on the tags).
func deriveDeployments(runs []store.PipelineRun, existing []store.Deployment, rules delivery.Rules) []store.Deployment {
	byRun := map[int64]store.PipelineRun{}
	for _, r := range runs {
		byRun[r.RunID] = r
	}
	hasEnv := runsWithRecords(existing)
	var out []store.Deployment
	for _, d := range existing {
		if !isRecord(d) {
			continue
		}
		r, ok := byRun[d.RunID]
		if !ok || (d.RepoID == r.RepoID && d.SHA == r.SourceVersion) {
			continue
		}
		d.RepoID, d.SHA = r.RepoID, r.SourceVersion
		out = append(out, d)
	}
	for _, r := range runs {
		if hasEnv[r.RunID] {
			continue
		}
		var deployStages []store.Stage
		for _, st := range r.Stages {
			if rules.Deployment.MatchString(st.Name) {
				deployStages = append(deployStages, st)
			}
		}
		if len(deployStages) > 0 {
			for _, st := range deployStages {
				if !ranTo(st) {
					continue
				}
				env := stageEnvironment(st.Name)
				out = append(out, store.Deployment{Key: r.Key, DeploymentKey: fmt.Sprintf("stage:%d:%s", r.RunID, st.RecordID),
					ProjectID: r.ProjectID, Source: "environment", RepoID: r.RepoID, Environment: env,
					IsProduction: toProduction(rules, env), Result: st.Result, RunID: r.RunID, SHA: r.SourceVersion,
					StartedAt: st.StartedAt, FinishedAt: firstTime(st.FinishedAt, r.FinishedAt)})
			}
			continue
		}
		if r.FinishedAt == nil {
			continue // a deploy stage counts when it finishes; the run itself when it does
		}
		cand := delivery.Deployment{Source: delivery.SourceBuildRule, Pipeline: r.DefinitionName}
		for _, st := range r.Stages {
			cand.Stages = append(cand.Stages, st.Name)
		}
		if r.Tags != "" {
			cand.Tags = strings.Split(r.Tags, ",")
		}
		cand, ok := rules.Classify(cand)
		if !ok {
			continue
		}
		out = append(out, store.Deployment{Key: r.Key, DeploymentKey: fmt.Sprintf("build:%d", r.RunID), ProjectID: r.ProjectID,
			Source: "build", RepoID: r.RepoID, Environment: cand.Environment, IsProduction: cand.Production, Result: r.Result,
			RunID: r.RunID, SHA: r.SourceVersion, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt})
	}
	return out
}

// toProduction says whether a deployment to env is to production, by the
// classification the metrics apply (delivery.Rules.Classify).
func toProduction(rules delivery.Rules, env string) bool {
	d, _ := rules.Classify(delivery.Deployment{Source: delivery.SourceEnvironment, Environment: env})
	return d.Production
}

// supersededStages are the stage deployments of runs whose environment
// deployment records are stored: a run's stages stand for its deployments
// only while its records are not readable or not read yet (the webhook of a
// run names its stages, and a later reconcile reads the records); counting
// both would count one deployment twice.
func supersededStages(deps []store.Deployment) []string {
	withRecords := runsWithRecords(deps)
	var out []string
	for _, d := range deps {
		if strings.HasPrefix(d.DeploymentKey, "stage:") && withRecords[d.RunID] {
			out = append(out, d.DeploymentKey)
		}
	}
	return out
}

// isRecord reports whether a stored deployment is an environment
// deployment record of a known run.
func isRecord(d store.Deployment) bool {
	return d.Source == "environment" && strings.HasPrefix(d.DeploymentKey, "env:") && d.RunID != 0
}

// runsWithRecords are the runs that environment records stand for.
func runsWithRecords(deps []store.Deployment) map[int64]bool {
	out := map[int64]bool{}
	for _, d := range deps {
		if isRecord(d) {
			out[d.RunID] = true
		}
	}
	return out
}

// ranTo reports whether a stage actually ran to an outcome (a skipped or
// never-started stage is not a deployment).
func ranTo(st store.Stage) bool {
	switch strings.ToLower(st.Result) {
	case "succeeded", "succeededwithissues", "partiallysucceeded", "failed", "canceled":
		return st.FinishedAt != nil
	}
	return false
}

// stageEnvironment names the environment a deploy stage targets.
func stageEnvironment(stage string) string {
	name := stage
	if len(name) >= 6 && strings.EqualFold(name[:6], "deploy") {
		name = strings.TrimLeft(name[6:], "_- .:")
	}
	if name == "" {
		return stage
	}
	return name
}

func firstTime(ts ...*time.Time) *time.Time {
	for _, t := range ts {
		if t != nil {
			return t
		}
	}
	return nil
}

// eventRunID is the run a pipeline event is about (0 when it names none).
func eventRunID(ev event) int64 {
	var r struct {
		ID    int64 `json:"id"`
		RunID int64 `json:"runId"`
		Run   struct {
			ID int64 `json:"id"`
		} `json:"run"`
	}
	if decodeResource(ev, &r) != nil {
		return 0
	}
	switch {
	case r.Run.ID != 0:
		return r.Run.ID
	case r.RunID != 0:
		return r.RunID
	}
	return r.ID
}

// deriveRun derives, in tx, the deployments of the run an event just
// stored, with the integration's rules.
func deriveRun(ctx context.Context, tx *store.Tx, ev event, rules delivery.Rules) error {
	id := eventRunID(ev)
	if id == 0 {
		return nil
	}
	run, err := tx.PipelineRun(ctx, ev.IntegrationID, id)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	existing, err := tx.RunDeployments(ctx, ev.IntegrationID, id)
	if err != nil {
		return err
	}
	for _, d := range deriveDeployments([]store.PipelineRun{run}, existing, rules) {
		if err := tx.UpsertDeployment(ctx, d); err != nil {
			return err
		}
	}
	return nil
}
