package store

import (
	"encoding/json"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// Settings is the schema of integrations.settings: what an admin sets under
// Settings → Integrations → Azure DevOps → Advanced.
type Settings struct {
	PostPRComments   bool            `json:"post_pr_comments"`
	ProjectComments  map[string]bool `json:"project_comments,omitempty"` // per-project overrides of PostPRComments
	CommentOnDrafts  bool            `json:"comment_on_drafts,omitempty"`
	DeploymentRule   string          `json:"deployment_rule,omitempty"`
	ProductionRule   string          `json:"production_rule,omitempty"`
	IncidentTypes    []string        `json:"incident_types,omitempty"`
	IncidentTag      string          `json:"incident_tag,omitempty"`
	AttributionHours int             `json:"attribution_hours,omitempty"`
}

// ParseSettings reads a settings document; a damaged one reads as defaults.
func ParseSettings(doc string) Settings {
	var s Settings
	_ = json.Unmarshal([]byte(doc), &s)
	return s
}

// Rules are the METRICS.md rules these settings choose (defaults where unset).
func (s Settings) Rules() (delivery.Rules, error) {
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
func (s Settings) RulesOrDefault() delivery.Rules {
	r, err := s.Rules()
	if err != nil {
		return delivery.DefaultRules()
	}
	return r
}
