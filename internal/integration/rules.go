package integration

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// RulesPreview shows what deployment and production rules would match in
// the last 30 days of collected data, before they are saved.
type RulesPreview struct {
	// Runs are recent finished pipeline runs and whether the deployment rule
	// (on definition name, stage names or tags) makes them a deployment.
	Runs []RunMatch `json:"runs"`
	// Environments are the environment names deployments went to, and
	// whether the production rule calls them production.
	Environments []EnvironmentMatch `json:"environments"`
}

// RunMatch is one run under the rules.
type RunMatch struct {
	ID          int64  `json:"id"`
	Definition  string `json:"definition"`
	Deployment  bool   `json:"deployment"`
	MatchedName string `json:"matched_name,omitempty"`
	Production  bool   `json:"production"`
}

// EnvironmentMatch is one environment name under the production rule.
type EnvironmentMatch struct {
	Name       string `json:"name"`
	Production bool   `json:"production"`
	Count      int    `json:"deployments"`
}

// PreviewRules applies candidate rules to recent data. Invalid rules are a
// 400 naming the rule.
func (s *Service) PreviewRules(ctx context.Context, workspaceID string, st Settings) (RulesPreview, error) {
	if err := checkRules(st); err != nil {
		return RulesPreview{}, err
	}
	rules, _ := st.Rules()
	out := RulesPreview{Runs: []RunMatch{}, Environments: []EnvironmentMatch{}}
	f := store.Filter{WorkspaceID: workspaceID, From: s.opts.Now().Add(-30 * 24 * time.Hour), Limit: 100}
	runs, err := s.opts.DB.ListPipelineRuns(ctx, f)
	if err != nil {
		return out, err
	}
	for _, r := range runs {
		if r.FinishedAt == nil {
			continue
		}
		cand := delivery.Deployment{Source: delivery.SourceBuildRule, Pipeline: r.DefinitionName,
			Result: delivery.ResultSucceeded, FinishedAt: *r.FinishedAt}
		if r.Tags != "" {
			cand.Tags = strings.Split(r.Tags, ",")
		}
		for _, st := range r.Stages {
			cand.Stages = append(cand.Stages, st.Name)
		}
		m := RunMatch{ID: r.RunID, Definition: r.DefinitionName}
		if got, ok := rules.Classify(cand); ok {
			m.Deployment, m.MatchedName, m.Production = true, got.Environment, got.Production
		}
		out.Runs = append(out.Runs, m)
	}
	f.Limit = 1000
	deps, err := s.opts.DB.ListDeployments(ctx, f, false)
	if err != nil {
		return out, err
	}
	counts := map[string]int{}
	for _, d := range deps {
		if d.Environment != "" && d.Source != "build" {
			counts[d.Environment]++
		}
	}
	for name, n := range counts {
		env, _ := rules.Classify(delivery.Deployment{Source: delivery.SourceEnvironment, Environment: name})
		out.Environments = append(out.Environments, EnvironmentMatch{Name: name, Production: env.Production, Count: n})
	}
	sort.Slice(out.Environments, func(i, j int) bool { return out.Environments[i].Name < out.Environments[j].Name })
	return out, nil
}
