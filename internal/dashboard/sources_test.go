package dashboard

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// gitHubScenario adds to scenario (Azure DevOps: Shop/web and Ops/api) a
// GitHub integration with the repository acme/mobile (project and
// repository 501), and in the window:
//
//   - PR #1 of acme/mobile (the same number as Azure's PR 1 in web): first
//     commit g1 at 7 Nov 10:00, created 11:00, merged 8 Nov 12:00 (merge
//     commit gm): cycle 26 h;
//   - production deployments gd1 (8 Nov 14:00, gm, succeeded), gd2 (9 Nov
//     10:00, failed) and gd3 (9 Nov 12:00, succeeded): lead time of PR #1
//     28 h; one failure of three, recovered after 2 h.
//
// Azure DevOps alone: 4 deployments, 2 failures of 5, lead items 0.5 h and
// 50 h (median 25.25 h), 1 merged PR. GitHub alone: 2 deployments, 1
// failure of 3, lead item 28 h, 1 merged PR. Combined: 6 deployments, 3
// failures of 8, lead items 0.5 h, 28 h, 50 h: the median over the union
// is 28 h, where an average of the two medians would be 26.6 h.
func gitHubScenario(t *testing.T, w world) store.Key {
	t.Helper()
	scenario(t, w)
	in, err := w.db.CreateIntegration(bg, store.Integration{WorkspaceID: w.ws.ID, Provider: "github",
		OrgURL: "https://api.github.com", TokenSealed: "x", WebhookSecretSealed: "y", CreatedAt: t0, UpdatedAt: t0})
	must(t, err)
	k := store.Key{IntegrationID: in.ID, WorkspaceID: w.ws.ID}
	must(t, w.db.UpsertProject(bg, store.Project{Key: k, ProjectID: "501", Name: "acme/mobile"}))
	must(t, w.db.SetProjectSelected(bg, k, "501", true, t0))
	must(t, w.db.UpsertRepository(bg, store.Repository{Key: k, RepoID: "501", ProjectID: "501", Name: "acme/mobile",
		WebURL: "https://github.com/acme/mobile"}))
	for _, c := range []struct {
		sha     string
		day, hr int
		parents []string
	}{{"g1", 7, 10, nil}, {"gm", 8, 12, []string{"g1"}}} {
		must(t, w.db.UpsertCommit(bg, store.Commit{Key: k, RepoID: "501", SHA: c.sha, ProjectID: "501", AuthorEmail: "cat@x",
			AuthorDate: at(c.day, c.hr), CommitterDate: at(c.day, c.hr), Message: "change " + c.sha, Edits: 1, Parents: c.parents}))
	}
	_, err = w.db.UpsertPullRequest(bg, store.PullRequest{Key: k, PRID: 1, ProjectID: "501", RepoID: "501",
		Title: "Offline mode", Status: "completed", AuthorID: "cat", AuthorName: "Cat", CreatedAt: at(7, 11),
		ClosedAt: ptr(at(8, 12)), MergeCommit: "gm", ProviderUpdatedAt: at(8, 12)})
	must(t, err)
	must(t, w.db.AddPRCommit(bg, store.PRRef{IntegrationID: in.ID, RepoID: "501", PRID: 1}, "g1", nil))
	for _, d := range []struct {
		key, result string
		day, hr     int
	}{{"gd1", "succeeded", 8, 14}, {"gd2", "failed", 9, 10}, {"gd3", "succeeded", 9, 12}} {
		must(t, w.db.UpsertDeployment(bg, store.Deployment{Key: k, DeploymentKey: d.key, ProjectID: "501", Source: "environment",
			RepoID: "501", Environment: "prod", IsProduction: true, Result: d.result, SHA: "gm",
			StartedAt: ptr(at(d.day, d.hr).Add(-10 * 60e9)), FinishedAt: ptr(at(d.day, d.hr))}))
	}
	return k
}

// TestSourceFilter: source=azure-devops and source=github split the
// workspace's items; counts add up to the combined figures and the
// combined medians are over the union; CSV, series, the page and the
// per-source breakdown honour the source; an unknown source is refused.
func TestSourceFilter(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "acme")
		gitHubScenario(t, w)
		h := New(db, clock, Config{})
		defer h.Close()

		dora := func(source string) DORAReport {
			t.Helper()
			rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window+"&source="+source)
			must(t, err)
			return decodeJSON[DORAReport](t, rec.Body.String())
		}
		prs := func(source string) PullRequestReport {
			t.Helper()
			rec, err := request(t, h.PullRequests, w, "/api/v1/metrics/pull-requests?"+window+"&source="+source)
			must(t, err)
			return decodeJSON[PullRequestReport](t, rec.Body.String())
		}
		all, az, gh := dora(""), dora("azure-devops"), dora("github")
		for _, c := range []struct {
			name                 string
			r                    DORAReport
			deps, failures, cfrN int
			leadN                int
			lead, cfr            float64
		}{
			{"combined", all, 6, 3, 8, 3, hours(28), 3.0 / 8},
			{"azure-devops", az, 4, 2, 5, 2, hours(25.25), 0.4},
			{"github", gh, 2, 1, 3, 1, hours(28), 1.0 / 3},
		} {
			r := c.r
			if r.DeploymentFrequency.N != c.deps || r.ChangeFailureRate.Failures != c.failures || r.ChangeFailureRate.N != c.cfrN || r.LeadTime.N != c.leadN {
				t.Errorf("%s: deployments %d, failures %d of %d, lead items %d; want %d, %d of %d, %d", c.name,
					r.DeploymentFrequency.N, r.ChangeFailureRate.Failures, r.ChangeFailureRate.N, r.LeadTime.N, c.deps, c.failures, c.cfrN, c.leadN)
			}
			wantFloat(t, c.name+" lead time median", r.LeadTime.Median, c.lead)
			wantFloat(t, c.name+" change failure rate", r.ChangeFailureRate.Value, c.cfr)
		}
		if az.DeploymentFrequency.N+gh.DeploymentFrequency.N != all.DeploymentFrequency.N {
			t.Errorf("deployments per source do not add up to the combined count")
		}
		if all.Window.Source != "" || az.Window.Source != "azure-devops" || gh.Window.Source != "github" {
			t.Errorf("windows name sources %q %q %q", all.Window.Source, az.Window.Source, gh.Window.Source)
		}
		// The combined report carries the split; a narrowed one does not.
		if len(all.BySource) != 2 || all.BySource[0].Source != "azure-devops" || all.BySource[1].Source != "github" ||
			all.BySource[0].DeploymentFrequency.N != 4 || all.BySource[1].DeploymentFrequency.N != 2 {
			t.Errorf("by_source: %+v", all.BySource)
		} else {
			wantFloat(t, "GitHub's lead time in the split", all.BySource[1].LeadTime.Median, hours(28))
		}
		if len(az.BySource) != 0 {
			t.Errorf("a narrowed report has a split: %+v", az.BySource)
		}

		pa, pz, pg := prs(""), prs("azure-devops"), prs("github")
		if pa.Merged != 2 || pz.Merged != 1 || pg.Merged != 1 || pz.Merged+pg.Merged != pa.Merged {
			t.Errorf("merged PRs: combined %d, Azure DevOps %d, GitHub %d", pa.Merged, pz.Merged, pg.Merged)
		}
		wantFloat(t, "combined cycle median", pa.Cycle.Median, hours(26))
		if len(pa.BySource) != 2 || pa.BySource[1].Merged != 1 {
			t.Errorf("pull-request split: %+v", pa.BySource)
		}

		// Series: the source's weekly deployments add up to its count.
		rec, err := request(t, h.Series, w, "/api/v1/metrics/dora/series?"+window+"&interval=week&source=github")
		must(t, err)
		sum := 0
		for _, p := range decodeJSON[SeriesReport](t, rec.Body.String()).Points {
			if p.Deployments != nil {
				sum += *p.Deployments
			}
		}
		if sum != 2 {
			t.Errorf("GitHub's weekly deployments add up to %d, want 2", sum)
		}

		// CSV: rows of the source only, each naming its provider and
		// linking to the item there.
		csvRows := func(h func(http.ResponseWriter, *http.Request) error, target string) [][]string {
			t.Helper()
			rec, err := request(t, h, w, target, "Accept", "text/csv")
			must(t, err)
			rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			must(t, err)
			return rows
		}
		rows := csvRows(h.PullRequests, "/api/v1/metrics/pull-requests?view=pull-requests&"+window+"&source=github")
		col := func(name string) int { return indexOf(rows[0], name) }
		if len(rows) != 2 || rows[1][col("provider")] != "github" || rows[1][col("web_url")] != "https://github.com/acme/mobile/pull/1" {
			t.Errorf("GitHub's PR CSV: %v", rows)
		}
		rows = csvRows(h.PullRequests, "/api/v1/metrics/pull-requests?view=pull-requests&"+window)
		providers := map[string]string{}
		for _, r := range rows[1:] {
			providers[r[indexOf(rows[0], "provider")]] = r[indexOf(rows[0], "web_url")]
		}
		if len(rows) != 3 || providers["azure-devops"] != "https://dev.azure.com/acme/Shop/_git/web/pullrequest/1" ||
			providers["github"] != "https://github.com/acme/mobile/pull/1" {
			t.Errorf("combined PR CSV: %v", rows)
		}
		if rows := csvRows(h.DORA, "/api/v1/metrics/dora?view=deployments&"+window+"&source=azure-devops"); len(rows) != 6 {
			t.Errorf("Azure DevOps' deployments CSV has %d rows, want 5 and the header", len(rows))
		}
		rows = csvRows(h.DORA, "/api/v1/metrics/dora?view=lead-time&"+window+"&source=github")
		if len(rows) != 2 || rows[1][indexOf(rows[0], "web_url")] != "https://github.com/acme/mobile/pull/1" {
			t.Errorf("GitHub's lead time CSV: %v", rows)
		}

		// Incidents are Azure DevOps work items of Azure projects: none under
		// GitHub; the work item report names its source too.
		if rows := csvRows(h.DORA, "/api/v1/metrics/dora?view=incidents&"+window+"&source=github"); len(rows) != 1 {
			t.Errorf("GitHub's incidents CSV: %v", rows)
		}
		if rows := csvRows(h.DORA, "/api/v1/metrics/dora?view=incidents&"+window+"&source=azure-devops"); len(rows) != 3 ||
			rows[1][indexOf(rows[0], "provider")] != "azure-devops" {
			t.Errorf("Azure DevOps' incidents CSV: %v", rows)
		}
		rec, err = request(t, h.WorkItems, w, "/api/v1/metrics/work-items?"+window+"&source=github")
		must(t, err)
		if r := decodeJSON[WorkItemReport](t, rec.Body.String()); r.Window.Source != "github" || r.LeadTime.N != 0 {
			t.Errorf("GitHub's work item report: %+v", r)
		}

		// Refusals: an unknown source names the allowed ones; a project of
		// the other source is not silently emptied.
		_, err = request(t, h.DORA, w, "/api/v1/metrics/dora?"+window+"&source=gitlab")
		if delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), `source "gitlab" is not a known source`) {
			t.Errorf("source=gitlab: %v", err)
		} else if e, ok := errors.AsType[*delivery.Error](err); !ok || !strings.Contains(e.Hint, "source=azure-devops or source=github") {
			t.Errorf("source=gitlab hint: %v", err)
		}
		_, err = request(t, h.DORA, w, "/api/v1/metrics/dora?"+window+"&source=github&project=Shop")
		if delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), "is not a project of source") {
			t.Errorf("a project of another source: %v", err)
		}

		// The page: the selector (two sources), the pickers narrowed to the
		// source, the split under the figures, links keeping the source.
		rec, err = request(t, h.Page, w, "/?"+window)
		must(t, err)
		body := rec.Body.String()
		for _, want := range []string{`<select name="source">`, `<option value="github">GitHub</option>`,
			`Azure DevOps 2 / week`, `GitHub 1 / week`, `href="https://github.com/acme/mobile/pull/1"`,
			`(opens GitHub)`, `<td>GitHub</td>`, `Sources combined:`} {
			if !strings.Contains(body, want) {
				t.Errorf("the combined page lacks %s", want)
			}
		}
		rec, err = request(t, h.Page, w, "/?"+window+"&source=github")
		must(t, err)
		body = rec.Body.String()
		if !strings.Contains(body, `<option value="github" selected>GitHub</option>`) || strings.Contains(body, `>Shop</option>`) ||
			!strings.Contains(body, `>acme/mobile</option>`) {
			t.Errorf("the GitHub page's selectors do not follow the source")
		}
		if strings.Count(body, "source=github") < 8 {
			t.Errorf("presets and exports should keep the source: %d links", strings.Count(body, "source=github"))
		}

		// A workspace of one source shows no selector.
		one := newWorld(t, db, "solo")
		scenario(t, one)
		rec, err = request(t, h.Page, one, "/?"+window)
		must(t, err)
		if strings.Contains(rec.Body.String(), `name="source"`) || strings.Contains(rec.Body.String(), `class="split"`) {
			t.Errorf("a one-source workspace shows the source selector or a split")
		}
	})
}

func indexOf(row []string, name string) int {
	for i, c := range row {
		if c == name {
			return i
		}
	}
	return -1
}
