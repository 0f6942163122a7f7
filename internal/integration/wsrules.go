package integration

import (
	"context"
	"sort"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// RuleSet is the rules of a workspace: its default and the projects that
// have their own (METRICS.md's rules: deployments, production, incidents,
// attribution). Rules belong to the workspace, whatever integration its
// projects come from.
type RuleSet struct {
	Default  store.RuleSettings `json:"default"`
	Projects []ProjectRules     `json:"projects"`
}

// ProjectRules are one project's own rules.
type ProjectRules struct {
	ProjectID string             `json:"project_id"`
	Project   string             `json:"project"`
	Provider  string             `json:"provider"`
	Rules     store.RuleSettings `json:"rules"`
}

// Rules reads the workspace's rules.
func (s *Service) Rules(ctx context.Context, workspaceID string) (RuleSet, error) {
	rules, err := s.opts.DB.GetWorkspaceRules(ctx, workspaceID)
	if err != nil {
		return RuleSet{}, err
	}
	projects, err := s.workspaceProjects(ctx, workspaceID)
	if err != nil {
		return RuleSet{}, err
	}
	out := RuleSet{Default: rules.Default, Projects: []ProjectRules{}}
	for id, r := range rules.Projects {
		p := projects[id] // a project no longer listed keeps its rules, shown by id
		out.Projects = append(out.Projects, ProjectRules{ProjectID: id, Project: p.Name, Provider: p.provider, Rules: r})
	}
	sort.Slice(out.Projects, func(i, j int) bool {
		return out.Projects[i].Project+out.Projects[i].ProjectID < out.Projects[j].Project+out.Projects[j].ProjectID
	})
	return out, nil
}

// SetRules replaces the workspace's default rules (projectID "") or one
// project's own, after checking them.
func (s *Service) SetRules(ctx context.Context, workspaceID, projectID string, r store.RuleSettings) (RuleSet, error) {
	if err := checkRuleSettings(r); err != nil {
		return RuleSet{}, err
	}
	if projectID != "" {
		if err := s.knownProject(ctx, workspaceID, projectID); err != nil {
			return RuleSet{}, err
		}
	}
	if err := s.opts.DB.PutRuleSettings(ctx, workspaceID, projectID, r, s.opts.Now()); err != nil {
		return RuleSet{}, err
	}
	return s.Rules(ctx, workspaceID)
}

// ClearProjectRules puts a project back on the workspace's default rules.
func (s *Service) ClearProjectRules(ctx context.Context, workspaceID, projectID string) (RuleSet, error) {
	if err := s.knownProject(ctx, workspaceID, projectID); err != nil {
		return RuleSet{}, err
	}
	if err := s.opts.DB.DeleteProjectRules(ctx, workspaceID, projectID); err != nil {
		return RuleSet{}, err
	}
	return s.Rules(ctx, workspaceID)
}

type workspaceProject struct {
	store.Project
	provider string
}

// workspaceProjects are the projects of every integration of the workspace.
func (s *Service) workspaceProjects(ctx context.Context, workspaceID string) (map[string]workspaceProject, error) {
	ins, err := s.opts.DB.ListIntegrations(ctx, workspaceID, "")
	if err != nil {
		return nil, err
	}
	out := map[string]workspaceProject{}
	for _, in := range ins {
		ps, err := s.opts.DB.ListProjects(ctx, key(in), false)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[p.ProjectID] = workspaceProject{Project: p, provider: in.Provider}
		}
	}
	return out, nil
}

func (s *Service) knownProject(ctx context.Context, workspaceID, projectID string) error {
	projects, err := s.workspaceProjects(ctx, workspaceID)
	if err != nil {
		return err
	}
	if _, ok := projects[projectID]; !ok {
		return delivery.Errorf(delivery.KindNotFound, "%q is not a project of this workspace", projectID).
			WithHint("use a project_id from GET /api/v1/integrations/azure-devops/projects")
	}
	return nil
}
