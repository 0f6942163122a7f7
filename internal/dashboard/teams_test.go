package dashboard

import (
	"encoding/csv"
	"net/url"
	"strings"
	"testing"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// teamScenario adds to scenario PR 2 by bob in Ops/api (merged 9 Nov) and
// three teams:
//
//   - Web: the repository web (r1), nobody: deployments d1, d2, d4
//     succeeded and d3 failed (n = 3, failures d3 and d2 with incident 100:
//     2 of 4 = 50 %), lead time items c1 and PR 1 (median 25.25 h); PR 1.
//   - Bob: bob, no repository: no deployment figures; PR 2.
//   - Mixed: the repository api (r2) and ann: deployment d5 (n = 1, its
//     lead time unknown: x1 is not stored); PR 1 (ann's) and PR 2 (in api).
//
// Everyone: 4 deployments, 2 of 5 failures (40 %), PRs 1 and 2.
func teamScenario(t *testing.T, w world) map[string]store.Team {
	t.Helper()
	scenario(t, w)
	_, err := w.db.UpsertPullRequest(bg, store.PullRequest{Key: w.key, PRID: 2, ProjectID: "p2", RepoID: "r2",
		Title: "Rate limit", Status: "completed", AuthorID: "bob", AuthorName: "Bob", CreatedAt: at(9, 10), ClosedAt: ptr(at(9, 12)),
		MergeCommit: "x1", ProviderUpdatedAt: at(9, 12)})
	must(t, err)
	teams := map[string]store.Team{}
	for _, c := range []struct {
		name           string
		members, repos []store.TeamRef
	}{
		{"Web", nil, []store.TeamRef{{ID: "r1"}}},
		{"Bob", []store.TeamRef{{ID: "bob"}}, nil},
		{"Mixed", []store.TeamRef{{ID: "ann"}}, []store.TeamRef{{ID: "r2"}}},
	} {
		team, err := w.db.CreateTeam(bg, w.ws.ID, store.TeamChange{Name: &c.name, Members: &c.members, Repositories: &c.repos}, t0)
		must(t, err)
		teams[c.name] = team
	}
	return teams
}

func TestTeamFilter(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "acme")
		teams := teamScenario(t, w)
		other := newWorld(t, db, "other")
		theirs, err := db.CreateTeam(bg, other.ws.ID, store.TeamChange{Name: new("Web")}, t0)
		must(t, err)
		h := New(db, clock, Config{})
		defer h.Close()

		dora := func(team string) DORAReport {
			t.Helper()
			rec, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window+"&team="+url.QueryEscape(team))
			must(t, err)
			return decodeJSON[DORAReport](t, rec.Body.String())
		}
		prs := func(team string) PullRequestReport {
			t.Helper()
			rec, err := request(t, h.PullRequests, w, "/api/v1/metrics/pull-requests?"+window+"&team="+url.QueryEscape(team))
			must(t, err)
			return decodeJSON[PullRequestReport](t, rec.Body.String())
		}
		for _, c := range []struct {
			team               string
			deployments, leadN int
			failures, failureN int
			cfr                float64
			merged             int
			windowTeam         string
		}{
			{"", 4, 2, 2, 5, 0.4, 2, ""},
			{teams["Web"].ID, 3, 2, 2, 4, 0.5, 1, "Web"},
			{"web", 3, 2, 2, 4, 0.5, 1, "Web"}, // by name, any case
			{teams["Bob"].ID, 0, 0, 0, 0, 0, 1, "Bob"},
			{teams["Mixed"].ID, 1, 0, 0, 1, 0, 2, "Mixed"},
		} {
			r := dora(c.team)
			if r.DeploymentFrequency.N != c.deployments || r.LeadTime.N != c.leadN ||
				r.ChangeFailureRate.Failures != c.failures || r.ChangeFailureRate.N != c.failureN {
				t.Errorf("team %q: deployments %d, lead items %d, failures %d of %d; want %d, %d, %d of %d", c.team,
					r.DeploymentFrequency.N, r.LeadTime.N, r.ChangeFailureRate.Failures, r.ChangeFailureRate.N,
					c.deployments, c.leadN, c.failures, c.failureN)
			}
			if c.failureN > 0 {
				wantFloat(t, "change failure rate of "+c.team, r.ChangeFailureRate.Value, c.cfr)
			}
			if c.leadN > 0 {
				wantFloat(t, "lead time median of "+c.team, r.LeadTime.Median, hours(25.25))
			}
			if got := (r.Window.Team != nil && r.Window.Team.Name == c.windowTeam) || (r.Window.Team == nil && c.windowTeam == ""); !got {
				t.Errorf("team %q: window names %+v", c.team, r.Window.Team)
			}
			if p := prs(c.team); p.Merged != c.merged {
				t.Errorf("team %q: merged PRs %d, want %d", c.team, p.Merged, c.merged)
			}
		}
		if p := prs(teams["Web"].ID); p.Cycle.N != 1 {
			t.Errorf("Web's cycle time: %+v", p.Cycle)
		} else {
			wantFloat(t, "Web's cycle time", p.Cycle.Median, hours(26))
		}

		// Series: the same rule bucket by bucket.
		rec, err := request(t, h.Series, w, "/api/v1/metrics/dora/series?"+window+"&interval=week&team="+teams["Web"].ID)
		must(t, err)
		sum := 0
		for _, p := range decodeJSON[SeriesReport](t, rec.Body.String()).Points {
			if p.Deployments != nil {
				sum += *p.Deployments
			}
		}
		if sum != 3 {
			t.Errorf("Web's weekly deployments add up to %d, want 3", sum)
		}

		// CSV: the drill-downs' exports keep only the team's rows.
		csvRows := func(target string) [][]string {
			t.Helper()
			rec, err := request(t, h.DORA, w, target, "Accept", "text/csv")
			if strings.Contains(target, "pull-requests") {
				rec, err = request(t, h.PullRequests, w, target, "Accept", "text/csv")
			}
			must(t, err)
			rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
			must(t, err)
			return rows[1:]
		}
		if rows := csvRows("/api/v1/metrics/dora?view=deployments&" + window + "&team=" + teams["Web"].ID); len(rows) != 4 {
			t.Errorf("Web's deployments CSV has %d rows, want d1 d2 d3 d4: %v", len(rows), rows)
		}
		if rows := csvRows("/api/v1/metrics/dora?view=deployments&" + window); len(rows) != 5 {
			t.Errorf("everyone's deployments CSV has %d rows, want 5", len(rows))
		}
		rows := csvRows("/api/v1/metrics/pull-requests?view=pull-requests&" + window + "&team=" + teams["Bob"].ID)
		if len(rows) != 1 || !strings.Contains(strings.Join(rows[0], ","), "Rate limit") {
			t.Errorf("Bob's PR CSV: %v", rows)
		}

		// An unknown team, and another workspace's, are refused alike.
		for _, team := range []string{"nope", theirs.ID} {
			_, err := request(t, h.DORA, w, "/api/v1/metrics/dora?"+window+"&team="+team)
			if delivery.KindOf(err) != delivery.KindInvalid || !strings.Contains(err.Error(), "is not a team of this workspace") {
				t.Errorf("team %q: %v", team, err)
			}
		}

		// The page: the selector, the team named above the figures, links
		// and presets keeping the team.
		rec, err = request(t, h.Page, w, "/?"+window+"&team="+teams["Web"].ID)
		must(t, err)
		body := rec.Body.String()
		for _, want := range []string{
			`<option value="` + teams["Web"].ID + `" selected>Web</option>`,
			`Team <strong>Web</strong> (0 people, 1 repository)`,
			`view=deployments&amp;format=csv&amp;from=2026-11-02&amp;team=` + teams["Web"].ID,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
		if strings.Count(body, "team="+teams["Web"].ID) < 8 {
			t.Errorf("presets and exports should keep the team: %d links", strings.Count(body, "team="+teams["Web"].ID))
		}
	})
}

// TestEveryDefinitionSaysWhatATeamKeeps: the (i) panels and the
// definitions page say for each figure what the team filter keeps.
func TestEveryDefinitionSaysWhatATeamKeeps(t *testing.T) {
	for _, d := range definitions {
		if d.Team == "" {
			t.Errorf("definition %s does not say what a team keeps", d.Key)
		}
	}
}
