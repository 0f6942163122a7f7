package delivery

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDefaultRules(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		name             string
		text             string
		deploy, prodName bool
	}{
		{"deploy stage", "Deploy to staging", true, false},
		{"release pipeline", "web-release", true, false},
		{"prod environment", "prod", false, true},
		{"production environment", "Production", false, true},
		{"prod as a word in a name", "deploy-prod-eu", true, true},
		{"word containing prod", "product-catalog", false, false},
		{"preprod", "preprod", false, false},
		{"build only", "CI build", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Deployment.MatchString(tt.text); got != tt.deploy {
				t.Errorf("deployment rule on %q = %v, want %v", tt.text, got, tt.deploy)
			}
			if got := r.Production.MatchString(tt.text); got != tt.prodName {
				t.Errorf("production rule on %q = %v, want %v", tt.text, got, tt.prodName)
			}
		})
	}
	if r.AttributionWindow != 72*time.Hour {
		t.Errorf("attribution window = %v, want 72h", r.AttributionWindow)
	}
}

func TestNewRules(t *testing.T) {
	r, err := NewRules(`^ship$`, ``, IncidentRule{}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Deployment.MatchString("ship") || r.Deployment.MatchString("deploy") {
		t.Error("custom deployment rule not applied")
	}
	if r.Production.String() != DefaultProductionPattern {
		t.Error("empty production rule did not take the default")
	}
	if r.AttributionWindow != 24*time.Hour {
		t.Errorf("window = %v", r.AttributionWindow)
	}
	if len(r.Incident.Types) == 0 {
		t.Error("empty incident rule did not take the default")
	}
	if _, err := NewRules(`(`, ``, IncidentRule{}, 0); KindOf(err) != KindInvalid {
		t.Errorf("bad pattern: err = %v, want KindInvalid", err)
	}
	if _, err := NewRules(``, ``, IncidentRule{}, -time.Hour); KindOf(err) != KindInvalid {
		t.Errorf("negative window: err = %v, want KindInvalid", err)
	}
}

// TestRulePatternsBounded: a rule is a few names. A pattern past the length
// limit, or one whose compiled program is huge, is refused with the limit
// in the message, before it costs seconds and hundreds of megabytes on
// every rebuild (#16: a 679 KB pattern took 13.7 s and 620 MB).
func TestRulePatternsBounded(t *testing.T) {
	for name, c := range map[string]struct{ pattern, mentions string }{
		"too long":     {strings.Repeat("deploy|", 200), "at most 500"},
		"too complex":  {`(?:a{1000}|b{1000}|c{1000}|d{1000}|e{1000}|f{1000})`, "too complex"},
		"not a regexp": {`(`, "not a valid regular expression"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewRules(c.pattern, ``, IncidentRule{}, 0)
			var de *Error
			if KindOf(err) != KindInvalid || !strings.Contains(err.Error(), c.mentions) || !errors.As(err, &de) || de.Hint == "" {
				t.Fatalf("err = %v, want invalid, mentioning %q, with a hint", err, c.mentions)
			}
			if _, err := NewRules(``, c.pattern, IncidentRule{}, 0); !strings.Contains(fmt.Sprint(err), "production rule") {
				t.Fatalf("production: err = %v, want it to name the production rule", err)
			}
		})
	}
	if _, err := NewRules(`(?i)deploy|release|ship`, `(?i)\bprod(uction)?\b|live`, IncidentRule{}, 0); err != nil {
		t.Fatalf("an ordinary rule: %v", err)
	}
}

func TestIncidentRule(t *testing.T) {
	created := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	resolved := created.Add(5 * time.Hour)
	closed := created.Add(7 * time.Hour)
	tests := []struct {
		name     string
		item     WorkItem
		want     bool
		resolved time.Time
	}{
		{"incident type without tag", WorkItem{Type: "Incident"}, true, time.Time{}},
		{"bug tagged incident", WorkItem{Type: "Bug", Tags: []string{"ui", "Incident"}}, true, time.Time{}},
		{"bug without tag", WorkItem{Type: "Bug", Tags: []string{"ui"}}, false, time.Time{}},
		{"bug tag containing incident is not the tag", WorkItem{Type: "Bug", Tags: []string{"incident-review"}}, false, time.Time{}},
		{"story tagged incident", WorkItem{Type: "User Story", Tags: []string{"incident"}}, false, time.Time{}},
		{"resolved date preferred when earlier", WorkItem{Type: "Incident", ResolvedAt: resolved, ClosedAt: closed}, true, resolved},
		{"closed date when no resolved date", WorkItem{Type: "Incident", ClosedAt: closed}, true, closed},
	}
	rule := DefaultIncidentRule()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.item.CreatedAt = created
			inc, ok := rule.Incident(tt.item)
			if ok != tt.want {
				t.Fatalf("match = %v, want %v", ok, tt.want)
			}
			if ok && (!inc.OpenedAt.Equal(created) || !inc.ResolvedAt.Equal(tt.resolved)) {
				t.Errorf("incident = %+v, want opened %v resolved %v", inc, created, tt.resolved)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	w := Window{From: from, To: from.Add(24 * time.Hour), Project: "p1"}
	if !w.Contains(from) || w.Contains(w.To) || w.Contains(from.Add(-time.Nanosecond)) {
		t.Error("window is not [from, to)")
	}
	if !w.Matches("p1", "any") || w.Matches("p2", "any") {
		t.Error("project filter")
	}
	w.Repository = "r1"
	if !w.Matches("p1", "r1") || w.Matches("p1", "r2") {
		t.Error("repository filter")
	}
}
