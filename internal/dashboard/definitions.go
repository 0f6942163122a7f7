package dashboard

import (
	"net/http"

	"github.com/pandev-metrics/pandev/internal/auth"
	"github.com/pandev-metrics/pandev/internal/metrics"
	"github.com/pandev-metrics/pandev/internal/web"
)

// DefinitionsPath is where Definitions is routed (GET): the page every
// figure's "definitions" link and (i) panel point to.
const DefinitionsPath = "/metrics/definitions"

// Definition is one figure's meaning as the dashboard explains it: the
// (i) panel of a tile and the definitions page are both rendered from
// definitions, and definitions_test.go checks the thresholds against the
// band functions of internal/metrics, so the words cannot drift from the
// computation.
type Definition struct {
	Key        string // the API's figure name: lead_time, change_failure_rate, ...
	Name       string
	Unit       string // what the headline value is counted in
	Definition string
	Formula    string
	InWindowBy string // the timestamp that places an item in the window
	// Thresholds are the DORA 2023 bands, best first; empty for figures
	// without a benchmark.
	Thresholds []Threshold
	// LowerIsBetter says which way a change is an improvement.
	LowerIsBetter bool
	// Team says what the team filter keeps of the figure's items
	// (delivery.TeamScope, docs/guide/metrics.md "Teams").
	Team string
	// Combined says how the figure over several sources is computed
	// (docs/guide/metrics.md "Sources").
	Combined string
}

// What a team filter keeps, by kind of figure: the one rule of
// delivery.TeamScope in the dashboard's words.
const (
	// TeamRule is the whole rule, for the definitions page.
	TeamRule = "A team is a named set of people (pull request authors seen in the data) and repositories, kept in Settings → Teams. " +
		"With a team selected, a pull request counts when its repository is one of the team's or its author is a member; " +
		"a deployment, the changes it first deployed (lead time), its failure and recovery, an incident attributed to it and the work items it delivered count when " +
		"the deployment's repository is one of the team's. Deployments ship a repository, not a person's work, so a team of people only has PR figures and no deployment figures. " +
		"Incidents no deployment is blamed for belong to no repository and stay listed, as with the repository filter."
	teamDeployments = "deployments of the team's repositories"
	teamChanges     = "changes first deployed by deployments of the team's repositories"
	teamPRs         = "PRs in the team's repositories or authored by its members"
)

// How a figure over several sources is computed: from the union of their
// items, never from the sources' figures (delivery.SourceScope).
const (
	// SourceRule is the whole rule, for the definitions page.
	SourceRule = "A source is a provider whose integration is connected: Azure DevOps or GitHub (a GitHub repository is a project). " +
		"With a source selected, every figure, chart, list and export keeps the items of that source's projects only; the project and repository lists show only its projects. " +
		"With every source (no source selected), a figure is computed over the union of all sources' items, as if they were one organization: " +
		"counts add up, medians and percentiles are taken over all items together, and a rate is all failures over all deployments — never an average of the sources' own figures. " +
		"Every rule stays local to a project, so no item of one source is ever matched with an item of another. " +
		"When a workspace has several sources, each figure shows the per-source values under the combined one."
	combinedCount  = "the union of the sources' deployments: their counts add up, over the same covered weeks."
	combinedMedian = "one median over all sources' items together, not an average of the sources' medians."
	combinedRate   = "all sources' failures over all their production deployments, not an average of the sources' rates."
	combinedShare  = "all sources' linked merged PRs over all their merged PRs, not an average of the sources' shares."
)

// Threshold is one band of a benchmark table.
type Threshold struct {
	Band string // elite, high, medium, low
	Rule string // "< 1 day"
}

// definitions is the one table of what each figure means (METRICS.md
// metrics-v2 in the dashboard's words), in the order the page shows them.
var definitions = []Definition{
	{Key: "deployment_frequency", Team: teamDeployments, Combined: combinedCount, Name: "Deployment frequency", Unit: "successful production deployments per week",
		Definition: "How often a change reaches production: successful production deployments finished in the window. " +
			"The band is placed by deploy-days — distinct UTC days with at least one successful production deployment.",
		Formula:    "deployments ÷ covered weeks; band: median deploy-days per 7-day block counted back from the window's end (30-day blocks for the monthly rule), partial blocks dropped",
		InWindowBy: "deployment finish",
		Thresholds: []Threshold{{"elite", "median deploy-days per week ≥ 5"}, {"high", "median deploy-days per week ≥ 1"},
			{"medium", "median deploy-days per month ≥ 1"}, {"low", "fewer deploy-days than that"}}},
	{Key: "lead_time", Team: teamChanges, Combined: combinedMedian, Name: "Lead time for changes", Unit: "time (median)", LowerIsBetter: true,
		Definition: "How long a change takes from its first commit to running in production, over merged PRs first deployed in the window; " +
			"a deployed commit that came without a PR counts as its own item.",
		Formula:    "median of (deploy finish − first commit authored time); p75 and p90 beside it; negative spans clamped to 0",
		InWindowBy: "deployment finish",
		Thresholds: []Threshold{{"elite", "< 1 day"}, {"high", "< 1 week"}, {"medium", "< 30 days"}, {"low", "≥ 30 days"}}},
	{Key: "change_failure_rate", Team: teamDeployments, Combined: combinedRate, Name: "Change failure rate", Unit: "share of production deployments", LowerIsBetter: true,
		Definition: "How often a production deployment fails or causes an incident. An incident is blamed on the latest successful " +
			"production deployment of its project that finished at most the attribution window (72 h unless changed in settings) before it was opened.",
		Formula:    "(failed production deployments + successful ones with ≥ 1 attributed incident) ÷ (successful + failed production deployments); changes shown in percentage points (pp)",
		InWindowBy: "deployment finish",
		Thresholds: []Threshold{{"elite", "≤ 5 %"}, {"high", "≤ 10 %"}, {"medium", "≤ 15 %"}, {"low", "> 15 %"}}},
	{Key: "recovery", Team: teamDeployments, Combined: combinedMedian, Name: "Failed deployment recovery", Unit: "time (median)", LowerIsBetter: true,
		Definition: "How long production stays broken after a failure: a failed deployment recovers at the next successful production " +
			"deployment of the same repository and environment; a deployment with an incident recovers when the incident is resolved. " +
			"Failures not yet recovered are listed as open and left out of the median.",
		Formula:    "median of (recovery − failure); p75 and p90 beside it",
		InWindowBy: "failure time",
		Thresholds: []Threshold{{"elite", "< 1 hour"}, {"high", "< 1 day"}, {"medium", "< 1 week"}, {"low", "≥ 1 week"}}},
	{Key: "cycle", Team: teamPRs, Combined: combinedMedian, Name: "PR cycle time", Unit: "time (median)", LowerIsBetter: true,
		Definition: "From a PR's first commit to its merge, for PRs merged in the window: coding + pickup + review.",
		Formula:    "median of (merge − first commit authored); p75 and p90 beside it",
		InWindowBy: "merge time"},
	{Key: "coding", Team: teamPRs, Combined: combinedMedian, Name: "Coding", Unit: "time (median)", LowerIsBetter: true,
		Definition: "From the PR's earliest commit to the PR's creation (or publication, for a draft).",
		Formula:    "median of (created or published − first commit authored)", InWindowBy: "merge time"},
	{Key: "pickup", Team: teamPRs, Combined: combinedMedian, Name: "Pickup", Unit: "time (median)", LowerIsBetter: true,
		Definition: "From the PR's creation or publication to the first review activity (a comment or vote by someone other than the author).",
		Formula:    "median of (first review activity − created or published); PRs merged without review are left out", InWindowBy: "merge time"},
	{Key: "review", Team: teamPRs, Combined: combinedMedian, Name: "Review", Unit: "time (median)", LowerIsBetter: true,
		Definition: "From the first review activity to the merge.",
		Formula:    "median of (merge − first review activity)", InWindowBy: "merge time"},
	{Key: "deploy", Team: teamPRs, Combined: combinedMedian, Name: "Deploy", Unit: "time (median)", LowerIsBetter: true,
		Definition: "From the merge to the finish of the first successful production deployment containing the merge commit.",
		Formula:    "median of (deploy finish − merge)", InWindowBy: "merge time"},
	{Key: "work_item_linked", Team: teamPRs, Combined: combinedShare, Name: "Linked to a work item", Unit: "share of merged PRs",
		Definition: "Merged PRs linked to a work item: through the PR's work item refs, or #1234 in its title or description.",
		Formula:    "linked merged PRs ÷ merged PRs; changes shown in percentage points (pp)", InWindowBy: "merge time"},
}

// definitionOf returns the definition of key; it panics on a key missing
// from the table, which the page test catches.
func definitionOf(key string) Definition {
	for _, d := range definitions {
		if d.Key == key {
			return d
		}
	}
	panic("dashboard: no definition of figure " + key)
}

// DefinitionsPage is what the definitions page shows.
type DefinitionsPage struct {
	web.Chrome
	Version     string
	BandYear    int
	Static      string
	Definitions []Definition
	TeamRule    string
	SourceRule  string
}

var definitionsPage = web.NewPage(templateFiles, "templates/definitions.html", nil)

// Definitions answers GET DefinitionsPath: every figure's definition,
// formula and benchmark bands, from the same table the dashboard's (i)
// panels show.
func (h *Handlers) Definitions(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.FromContext(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	return definitionsPage.Render(w, http.StatusOK, DefinitionsPage{Chrome: web.ChromeFor("Metric definitions", p),
		Version: metrics.Version, BandYear: metrics.BandYear, Static: StaticPrefix, Definitions: definitions, TeamRule: TeamRule,
		SourceRule: SourceRule})
}
