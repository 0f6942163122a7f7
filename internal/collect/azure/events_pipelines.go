package azure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/store"
)

// applyBuild stores a build from build.complete, in the modern (2.0) shape
// or the old XAML-era shape (status carries the outcome, sourceGetVersion
// the commit).
func applyBuild(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var b struct {
		ID               int64    `json:"id"`
		Status           string   `json:"status"`
		Result           string   `json:"result"`
		QueueTime        azTime   `json:"queueTime"`
		StartTime        azTime   `json:"startTime"`
		FinishTime       azTime   `json:"finishTime"`
		SourceBranch     string   `json:"sourceBranch"`
		SourceVersion    string   `json:"sourceVersion"`
		SourceGetVersion string   `json:"sourceGetVersion"`
		Tags             []string `json:"tags"`
		Definition       struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		} `json:"definition"`
		Repository struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"repository"`
	}
	if err := decodeResource(ev, &b); err != nil {
		return "", err
	}
	if b.ID == 0 {
		return "", collect.Unreadable(errors.New("build without id"))
	}
	status, result := b.Status, b.Result
	if result == "" { // old shape: "succeeded", "failed", "partiallySucceeded", "stopped"
		status, result = "completed", b.Status
		if result == "stopped" {
			result = "canceled"
		}
	}
	branch, version := b.SourceBranch, b.SourceVersion
	if version == "" && strings.HasPrefix(b.SourceGetVersion, "LG:") { // LG:refs/heads/main:<sha>
		if i := strings.LastIndexByte(b.SourceGetVersion, ':'); i > 3 {
			branch, version = b.SourceGetVersion[3:i], b.SourceGetVersion[i+1:]
		}
	}
	repoID := ""
	if strings.EqualFold(b.Repository.Type, "TfsGit") {
		repoID = b.Repository.ID
	}
	return "", tx.UpsertPipelineRun(ctx, store.PipelineRun{Key: ev.Key, RunID: b.ID, ProjectID: ev.ProjectID,
		DefinitionID: b.Definition.ID, DefinitionName: b.Definition.Name, RepoID: repoID, SourceBranch: branch,
		SourceVersion: version, Tags: strings.Join(b.Tags, ","), Status: status, Result: result,
		QueuedAt: b.QueueTime.ptr(), StartedAt: b.StartTime.ptr(), FinishedAt: b.FinishTime.ptr()})
}

type pipelineStage struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	State      string `json:"state"`
	Result     string `json:"result"`
	StartTime  azTime `json:"startTime"`
	FinishTime azTime `json:"finishTime"`
}

// applyPipelineRun stores a YAML run (and its stages) from the run- and
// stage-state-changed events. The run's repository and commit come from
// the event's repositories list (the "self" checkout).
func applyPipelineRun(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var r struct {
		RunID int64 `json:"runId"`
		Run   struct {
			ID           int64  `json:"id"`
			Name         string `json:"name"`
			State        string `json:"state"`
			Result       string `json:"result"`
			CreatedDate  azTime `json:"createdDate"`
			FinishedDate azTime `json:"finishedDate"`
			Pipeline     struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"pipeline"`
			Resources struct {
				Repositories struct {
					Self struct {
						RefName string `json:"refName"`
						Version string `json:"version"`
					} `json:"self"`
				} `json:"repositories"`
			} `json:"resources"`
		} `json:"run"`
		Stage        *pipelineStage  `json:"stage"`
		Stages       []pipelineStage `json:"stages"`
		Repositories []struct {
			Alias  string `json:"alias"`
			ID     string `json:"id"`
			Type   string `json:"type"`
			Change struct {
				Version string `json:"version"`
			} `json:"change"`
		} `json:"repositories"`
	}
	if err := decodeResource(ev, &r); err != nil {
		return "", err
	}
	id := r.Run.ID
	if id == 0 {
		id = r.RunID
	}
	if id == 0 {
		return "", collect.Unreadable(errors.New("pipeline event without a run id"))
	}
	run := store.PipelineRun{Key: ev.Key, RunID: id, ProjectID: ev.ProjectID, DefinitionID: r.Run.Pipeline.ID,
		DefinitionName: r.Run.Pipeline.Name, SourceBranch: r.Run.Resources.Repositories.Self.RefName,
		SourceVersion: r.Run.Resources.Repositories.Self.Version, Status: r.Run.State, Result: r.Run.Result,
		QueuedAt: r.Run.CreatedDate.ptr(), StartedAt: r.Run.CreatedDate.ptr(), FinishedAt: r.Run.FinishedDate.ptr()}
	for _, repo := range r.Repositories {
		if repo.Alias == "self" || len(r.Repositories) == 1 {
			run.RepoID = repo.ID
			if run.SourceVersion == "" {
				run.SourceVersion = repo.Change.Version
			}
		}
	}
	stages := r.Stages
	if r.Stage != nil {
		stages = append(stages, *r.Stage)
	}
	for _, s := range stages {
		if s.ID == "" || s.Name == "__default" {
			continue
		}
		run.Stages = append(run.Stages, store.Stage{RecordID: s.ID, Name: s.Name, State: s.State, Result: s.Result,
			StartedAt: s.StartTime.ptr(), FinishedAt: s.FinishTime.ptr()})
	}
	return "", tx.UpsertPipelineRun(ctx, run)
}

// applyReleaseDeployment stores a classic release deployment (release ×
// environment × attempt: a redeploy of a stage is a deployment of its own,
// METRICS.md) when it completes; the integration's production rule decides
// whether it went to production. The key is the one the backfill gives the
// same attempt, whichever path comes first: release:{release}:{release
// environment}:{attempt}.
func applyReleaseDeployment(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var r struct {
		Environment struct {
			ID          int64  `json:"id"`
			ReleaseID   int64  `json:"releaseId"`
			Name        string `json:"name"`
			Status      string `json:"status"`
			ModifiedOn  azTime `json:"modifiedOn"`
			DeploySteps []struct {
				Attempt        int    `json:"attempt"`
				Status         string `json:"status"`
				QueuedOn       azTime `json:"queuedOn"`
				LastModifiedOn azTime `json:"lastModifiedOn"`
				Phases         []struct {
					StartedOn azTime `json:"startedOn"`
				} `json:"releaseDeployPhases"`
			} `json:"deploySteps"`
			Release struct {
				ID int64 `json:"id"`
			} `json:"release"`
		} `json:"environment"`
		// Not in the service's 3.0-preview.1 payload: the backfill shapes a
		// listed deployment with it.
		Deployment *struct {
			ID               int64  `json:"id"`
			Attempt          int    `json:"attempt"`
			DeploymentStatus string `json:"deploymentStatus"`
			StartedOn        azTime `json:"startedOn"`
			CompletedOn      azTime `json:"completedOn"`
			LastModifiedOn   azTime `json:"lastModifiedOn"`
		} `json:"deployment"`
	}
	if err := decodeResource(ev, &r); err != nil {
		return "", err
	}
	env := r.Environment
	releaseID := env.Release.ID
	if releaseID == 0 {
		releaseID = env.ReleaseID
	}
	if releaseID == 0 || env.ID == 0 {
		return "", collect.Unreadable(errors.New("release deployment without release or environment id"))
	}
	attempt, status := 0, env.Status
	started, finished := env.ModifiedOn.ptr(), env.ModifiedOn.or(ev.At)
	if d := r.Deployment; d != nil {
		attempt = max(d.Attempt, 1)
		status = firstNonEmpty(d.DeploymentStatus, status)
		// A finished deployment does not always carry completedOn (none of
		// samples/rest/release.deployments.list.json's 17 does); its
		// lastModifiedOn is then when it finished.
		started, finished = d.StartedOn.ptr(), d.CompletedOn.or(d.LastModifiedOn.or(finished))
	} else if len(env.DeploySteps) > 0 {
		// The event names no deployment: the attempt that completed is the
		// environment's last deploy step (DeploymentAttempt, 7.1 release.json).
		last := 0
		for i, s := range env.DeploySteps {
			if s.Attempt >= env.DeploySteps[last].Attempt {
				last = i
			}
		}
		s := env.DeploySteps[last]
		attempt, status = s.Attempt, firstNonEmpty(s.Status, status)
		finished, started = s.LastModifiedOn.or(finished), s.QueuedOn.ptr()
		var phaseStart *time.Time // it started when its first phase did
		for _, p := range s.Phases {
			if t := p.StartedOn.ptr(); t != nil && (phaseStart == nil || t.Before(*phaseStart)) {
				phaseStart = t
			}
		}
		if phaseStart != nil {
			started = phaseStart
		}
	}
	if attempt <= 0 {
		// No deploy steps (the docs sample has none): the attempt stored
		// with this finish time, else the one after the last stored — a
		// redeploy is never taken for attempt 1 and never overwrites it; the
		// next reconciliation writes the service's numbers over these.
		stored, err := tx.ReleaseAttempts(ctx, ev.IntegrationID, releaseID, env.ID)
		if err != nil {
			return "", err
		}
		for n, fin := range stored {
			if fin.Equal(finished) {
				attempt = n
				break
			}
		}
		if attempt <= 0 {
			attempt = 1
			for n := range stored {
				attempt = max(attempt, n+1)
			}
		}
	}
	ws, err := tx.GetWorkspaceRules(ctx, ev.WorkspaceID)
	if err != nil {
		return "", err
	}
	rules := ws.For(ev.ProjectID).RulesOrDefault()
	return "", tx.UpsertDeployment(ctx, store.Deployment{Key: ev.Key,
		DeploymentKey: fmt.Sprintf("release:%d:%d:%d", releaseID, env.ID, attempt), ProjectID: ev.ProjectID,
		Source: "release", Environment: env.Name, IsProduction: toProduction(rules, env.Name),
		Result: releaseResult(status), StartedAt: started, FinishedAt: &finished})
}

// releaseResult maps release environment statuses onto run results.
func releaseResult(status string) string {
	switch strings.ToLower(status) {
	case "succeeded":
		return "succeeded"
	case "partiallysucceeded":
		return "partiallySucceeded"
	case "rejected", "failed":
		return "failed"
	case "canceled", "cancelled":
		return "canceled"
	}
	return strings.ToLower(status)
}
