package delivery

import (
	"regexp"
	"regexp/syntax"
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

// The default patterns, compiled once: Rules.Classify fills a zero Rules
// with them for every candidate it classifies.
var (
	defaultDeployment = regexp.MustCompile(DefaultDeploymentPattern)
	defaultProduction = regexp.MustCompile(DefaultProductionPattern)
)

// DefaultRules returns the rules METRICS.md defines as defaults.
func DefaultRules() Rules {
	return Rules{
		Deployment:        defaultDeployment,
		Production:        defaultProduction,
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
		if r.Deployment, err = compileRule("deployment", deployment); err != nil {
			return Rules{}, err
		}
	}
	if production != "" {
		if r.Production, err = compileRule("production", production); err != nil {
			return Rules{}, err
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

// OrDefaults fills what a zero Rules value leaves out with METRICS.md's
// defaults, so that callers (and tests) can pass Rules{}.
func (r Rules) OrDefaults() Rules {
	if r.Deployment == nil {
		r.Deployment = defaultDeployment
	}
	if r.Production == nil {
		r.Production = defaultProduction
	}
	if r.Incident.empty() {
		r.Incident = DefaultIncidentRule()
	}
	if r.AttributionWindow <= 0 {
		r.AttributionWindow = DefaultAttributionWindow
	}
	return r
}

// Classify applies the deployment and production rules to one candidate
// (METRICS.md "Deployment"), the one classification the collector (which
// stores deployments) and the metrics (which count them) share. A
// SourceBuildRule candidate is a deployment by the first of its names
// (definition, stages, tags, in that order) that matches the deployment
// rule, preferring one that also matches the production rule, so that
// "Deploy prod" in a stage makes a run called "web-deploy" a production
// deployment; that name becomes its environment, and ok is false when no
// name matches. Any candidate is to production when its environment
// matches the production rule. Outcomes are not judged here.
func (r Rules) Classify(d Deployment) (out Deployment, ok bool) {
	r = r.OrDefaults()
	if d.Source == SourceBuildRule {
		name, found := r.matchedName(d)
		if !found {
			return d, false
		}
		d.Environment = name
	}
	d.Production = r.Production.MatchString(d.Environment)
	return d, true
}

// matchedName picks the name a build-rule candidate is a deployment by.
func (r Rules) matchedName(d Deployment) (string, bool) {
	names := append(append([]string{d.Pipeline}, d.Stages...), d.Tags...)
	first, found := "", false
	for _, n := range names {
		if n == "" || !r.Deployment.MatchString(n) {
			continue
		}
		if r.Production.MatchString(n) {
			return n, true
		}
		if !found {
			first, found = n, true
		}
	}
	return first, found
}

// Bounds of a rule pattern. Go's regular expressions run in linear time,
// but compiling a pattern costs memory and time with its size (a 679 KB
// pattern took 13.7 s and 620 MB), and every dashboard rebuild matches it
// against every run: a rule is a few names, not a program.
const (
	MaxRuleLength = 500  // bytes
	maxRuleInsts  = 5000 // instructions of the compiled program
)

// compileRule compiles a user's pattern within the bounds.
func compileRule(field, pattern string) (*regexp.Regexp, error) {
	if len(pattern) > MaxRuleLength {
		return nil, Errorf(KindInvalid, "%s rule is %d characters long; at most %d are allowed", field, len(pattern), MaxRuleLength).
			WithHint("match names with a short pattern, e.g. (?i)deploy|release")
	}
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, Errorf(KindInvalid, "%s rule is not a valid regular expression", field).Wrap(err).
			WithHint("check the pattern, e.g. (?i)\\bprod(uction)?\\b")
	}
	if prog, err := syntax.Compile(re.Simplify()); err != nil || len(prog.Inst) > maxRuleInsts {
		return nil, Errorf(KindInvalid, "%s rule is too complex", field).
			WithHint("use fewer repetitions such as {1000}; match names with a short pattern")
	}
	return regexp.Compile(pattern)
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
// `incident`, or any item of type Incident; and, so that GitHub works out
// of the box, type Issue tagged `incident` — a GitHub issue without an
// issue type is of type Issue and its labels are its tags (adr/0019).
func DefaultIncidentRule() IncidentRule {
	return IncidentRule{
		Types:       []string{"Incident"},
		TaggedTypes: []string{"Bug", "Incident", "Issue"},
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
