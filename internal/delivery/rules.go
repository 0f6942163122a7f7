package delivery

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// Default rule values from METRICS.md.
const (
	DefaultDeploymentPattern = `(?i)deploy|release`
	DefaultProductionPattern = `(?i)\bprod(uction)?\b`
	DefaultAttributionWindow = 72 * time.Hour
)

// Rules decide which runs are deployments, which deployments go to
// production, which work items are incidents and how far back an incident
// looks for the deployment that caused it. They are editable per integration
// and per project; build them with NewRules or DefaultRules.
type Rules struct {
	Deployment        *regexp.Regexp
	Production        *regexp.Regexp
	Incident          IncidentRule
	AttributionWindow time.Duration
}

// DefaultRules returns the rules METRICS.md defines as defaults.
func DefaultRules() Rules {
	return Rules{
		Deployment:        regexp.MustCompile(DefaultDeploymentPattern),
		Production:        regexp.MustCompile(DefaultProductionPattern),
		Incident:          DefaultIncidentRule(),
		AttributionWindow: DefaultAttributionWindow,
	}
}

// NewRules compiles user-edited rules. An empty pattern or a zero window
// takes the default. Errors are of KindInvalid and name the field.
func NewRules(deployment, production string, incident IncidentRule, window time.Duration) (Rules, error) {
	r := DefaultRules()
	var err error
	if deployment != "" {
		if r.Deployment, err = regexp.Compile(deployment); err != nil {
			return Rules{}, Errorf(KindInvalid, "deployment rule is not a valid regular expression").Wrap(err)
		}
	}
	if production != "" {
		if r.Production, err = regexp.Compile(production); err != nil {
			return Rules{}, Errorf(KindInvalid, "production rule is not a valid regular expression").Wrap(err)
		}
	}
	if window < 0 {
		return Rules{}, Errorf(KindInvalid, "attribution window must not be negative")
	}
	if window > 0 {
		r.AttributionWindow = window
	}
	if !incident.empty() {
		r.Incident = incident
	}
	return r, nil
}

// IncidentRule says which work items are incidents: any item whose type is
// in Types, or an item whose type is in TaggedTypes and that carries Tag.
// Types and tags compare case-insensitively.
type IncidentRule struct {
	Types       []string
	TaggedTypes []string
	Tag         string
}

// DefaultIncidentRule is METRICS.md's default: type Bug or Incident tagged
// `incident`, or any item of type Incident.
func DefaultIncidentRule() IncidentRule {
	return IncidentRule{
		Types:       []string{"Incident"},
		TaggedTypes: []string{"Bug", "Incident"},
		Tag:         "incident",
	}
}

func (r IncidentRule) empty() bool {
	return len(r.Types) == 0 && len(r.TaggedTypes) == 0
}

// Matches reports whether w is an incident under the rule.
func (r IncidentRule) Matches(w WorkItem) bool {
	is := func(t string) bool { return strings.EqualFold(t, w.Type) }
	if slices.ContainsFunc(r.Types, is) {
		return true
	}
	return r.Tag != "" && slices.ContainsFunc(r.TaggedTypes, is) && w.HasTag(r.Tag)
}

// Incident returns w as an incident when it matches the rule.
func (r IncidentRule) Incident(w WorkItem) (Incident, bool) {
	if !r.Matches(w) {
		return Incident{}, false
	}
	return Incident{
		WorkItemID: w.ID,
		ProjectID:  w.ProjectID,
		Title:      w.Title,
		OpenedAt:   w.CreatedAt,
		ResolvedAt: w.Resolved(),
	}, true
}
