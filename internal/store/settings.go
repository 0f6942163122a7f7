package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Settings is the schema of integrations.settings: the PR comment settings
// of an integration. The rule fields are the workspace's default rules
// (workspace_rules), carried here for the settings API and form that show
// both; an integration's stored document no longer decides them.
type Settings struct {
	PostPRComments  bool            `json:"post_pr_comments"`
	ProjectComments map[string]bool `json:"project_comments,omitempty"` // per-project overrides of PostPRComments
	CommentOnDrafts bool            `json:"comment_on_drafts,omitempty"`
	// AutoOwners are GitHub users and organizations whose new repositories
	// are selected when the repository list is refreshed ("whole
	// organization").
	AutoOwners []string `json:"auto_owners,omitempty"`
	RuleSettings
}

// ParseSettings reads a settings document; a damaged one reads as defaults.
func ParseSettings(doc string) Settings {
	var s Settings
	_ = json.Unmarshal([]byte(doc), &s)
	return s
}

// RuleSettings are the rules an admin sets for a workspace, or for one of
// its projects (METRICS.md): the zero value means METRICS.md's defaults.
type RuleSettings struct {
	DeploymentRule   string   `json:"deployment_rule,omitempty"`
	ProductionRule   string   `json:"production_rule,omitempty"`
	IncidentTypes    []string `json:"incident_types,omitempty"`
	IncidentTag      string   `json:"incident_tag,omitempty"`
	AttributionHours int      `json:"attribution_hours,omitempty"`
}

// Rules are the METRICS.md rules these settings choose (defaults where unset).
func (s RuleSettings) Rules() (delivery.Rules, error) {
	incident := delivery.IncidentRule{}
	if len(s.IncidentTypes) > 0 || s.IncidentTag != "" {
		incident = delivery.DefaultIncidentRule()
		if len(s.IncidentTypes) > 0 {
			incident.TaggedTypes = s.IncidentTypes
		}
		if s.IncidentTag != "" {
			incident.Tag = s.IncidentTag
		}
	}
	return delivery.NewRules(s.DeploymentRule, s.ProductionRule, incident, time.Duration(s.AttributionHours)*time.Hour)
}

// RulesOrDefault is Rules, falling back to the defaults if the stored rules
// no longer compile (they are checked when saved).
func (s RuleSettings) RulesOrDefault() delivery.Rules {
	r, err := s.Rules()
	if err != nil {
		return delivery.DefaultRules()
	}
	return r
}

// WorkspaceRules are a workspace's default rules and its projects' own.
type WorkspaceRules struct {
	Default  RuleSettings
	Projects map[string]RuleSettings // project id → rules that replace the default for it
}

// For is the rule settings that apply to a project: its own, else the
// workspace's default.
func (w WorkspaceRules) For(projectID string) RuleSettings {
	if r, ok := w.Projects[projectID]; ok && projectID != "" {
		return r
	}
	return w.Default
}

// GetWorkspaceRules reads a workspace's rules (the zero value when none
// were set).
func (q queries) GetWorkspaceRules(ctx context.Context, workspaceID string) (WorkspaceRules, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT project_id, rules FROM workspace_rules WHERE workspace_id = $1`, workspaceID)
	type row struct {
		project string
		rules   RuleSettings
	}
	got, err := collect(rows, err, func(r rowScanner) (row, error) {
		var x row
		var doc string
		if err := r.Scan(&x.project, &doc); err != nil {
			return x, mapErr(err)
		}
		_ = json.Unmarshal([]byte(doc), &x.rules) // a damaged document reads as defaults
		return x, nil
	})
	out := WorkspaceRules{Projects: map[string]RuleSettings{}}
	for _, x := range got {
		if x.project == "" {
			out.Default = x.rules
		} else {
			out.Projects[x.project] = x.rules
		}
	}
	return out, err
}

// PutRuleSettings sets the workspace's default rules (projectID "") or one
// project's own.
func (q queries) PutRuleSettings(ctx context.Context, workspaceID, projectID string, r RuleSettings, now time.Time) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = q.q.ExecContext(ctx, `INSERT INTO workspace_rules (workspace_id, project_id, rules, updated_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (workspace_id, project_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
		workspaceID, projectID, string(doc), utc(now))
	return mapErr(err)
}

// DeleteProjectRules drops a project's own rules: the workspace's default
// applies to it again. Deleting rules a project does not have is a no-op.
func (q queries) DeleteProjectRules(ctx context.Context, workspaceID, projectID string) error {
	if projectID == "" {
		return delivery.Errorf(delivery.KindInvalid, "the workspace's default rules cannot be deleted").
			WithHint("set them to the defaults instead")
	}
	_, err := q.q.ExecContext(ctx, `DELETE FROM workspace_rules WHERE workspace_id = $1 AND project_id = $2`, workspaceID, projectID)
	return mapErr(err)
}
