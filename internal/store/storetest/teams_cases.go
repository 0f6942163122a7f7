package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

func init() {
	AddCases(
		NewCase("teams: names unique per workspace whatever the case, bounded, no control characters", testTeamNames),
		NewCase("teams: members are identities seen in the data, repositories the workspace's; delete removes them", testTeamParts),
		NewCase("teams: another workspace's team is not found", testTeamIsolation),
	)
}

// teamData stores two PR authors (one renamed later) and two repositories.
func teamData(t *testing.T, db *store.DB, f fixture) {
	t.Helper()
	for _, r := range []store.Repository{{Key: f.key, RepoID: "r1", ProjectID: "p1", Name: "api"},
		{Key: f.key, RepoID: "r2", ProjectID: "p1", Name: "web"}} {
		must(t, db.UpsertRepository(ctx, r))
	}
	for i, pr := range []struct {
		id     int64
		author string
		name   string
		at     time.Time
	}{{1, "u-ann", "Ann Old", t0}, {2, "u-ann", "Ann Lee", t0.Add(time.Hour)}, {3, "u-bob", "Bob", t0}} {
		_, err := db.UpsertPullRequest(ctx, store.PullRequest{Key: f.key, PRID: pr.id, ProjectID: "p1", RepoID: "r1",
			Status: "active", AuthorID: pr.author, AuthorName: pr.name, CreatedAt: pr.at, ProviderUpdatedAt: pr.at.Add(time.Duration(i))})
		must(t, err)
	}
}

func testTeamNames(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	team, err := db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr("  Payments ")}, t0)
	must(t, err)
	eq(t, "trimmed", team.Name, "Payments")
	_, err = db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr("PAYMENTS")}, t0)
	wantKind(t, err, delivery.KindConflict)
	if !strings.Contains(err.Error(), `"PAYMENTS" already exists`) {
		t.Fatalf("the conflict names the team: %v", err)
	}
	_, err = db.CreateTeam(ctx, other.ws.ID, store.TeamChange{Name: ptr("payments")}, t0)
	must(t, err) // another workspace may use the name
	for _, bad := range []string{"", "   ", strings.Repeat("é", store.MaxTeamNameLength+1), "a\tb", "line\nbreak", "bell\x07"} {
		_, err := db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr(bad)}, t0)
		wantKind(t, err, delivery.KindInvalid)
	}
	_, err = db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr(strings.Repeat("é", store.MaxTeamNameLength))}, t0)
	must(t, err) // 80 characters (160 bytes) is allowed
	_, err = db.CreateTeam(ctx, f.ws.ID, store.TeamChange{}, t0)
	wantKind(t, err, delivery.KindInvalid)

	// Rename: to another case of itself is fine, onto another team is not.
	second, err := db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr("Mobile")}, t0)
	must(t, err)
	_, err = db.UpdateTeam(ctx, f.ws.ID, second.ID, store.TeamChange{Name: ptr("payments")}, t0.Add(time.Minute))
	wantKind(t, err, delivery.KindConflict)
	got, err := db.UpdateTeam(ctx, f.ws.ID, second.ID, store.TeamChange{Name: ptr("MOBILE")}, t0.Add(time.Minute))
	must(t, err)
	eq(t, "renamed", got.Name, "MOBILE")
	eq(t, "updated", got.UpdatedAt.Equal(t0.Add(time.Minute)), true)
	_, err = db.UpdateTeam(ctx, f.ws.ID, second.ID, store.TeamChange{Name: ptr("x\x00")}, t0)
	wantKind(t, err, delivery.KindInvalid)
	got, err = db.GetTeam(ctx, f.ws.ID, second.ID)
	must(t, err)
	eq(t, "a refused rename changes nothing", got.Name, "MOBILE")
	teams, err := db.ListTeams(ctx, f.ws.ID)
	must(t, err)
	eq(t, "listed by name", len(teams), 3)
	eq(t, "first by name", teams[0].Name, "MOBILE")
}

func testTeamParts(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	teamData(t, db, f)
	people, err := db.ListIdentities(ctx, f.ws.ID)
	must(t, err)
	eq(t, "two people", len(people), 2)
	eq(t, "the newest name", people[0].DisplayName, "Ann Lee")
	eq(t, "her PRs", people[0].PullRequests, 2)
	eq(t, "keyed by integration", people[0].IntegrationID, f.in.ID)

	v0, err := db.DataVersion(ctx, f.ws.ID, t0)
	must(t, err)
	team, err := db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr("Core"),
		Members:      &[]store.TeamRef{{ID: "u-ann"}},
		Repositories: &[]store.TeamRef{{IntegrationID: f.in.ID, ID: "r2"}}}, t0)
	must(t, err)
	eq(t, "one member", len(team.Members), 1)
	eq(t, "member's name as last seen", team.Members[0].DisplayName, "Ann Lee")
	eq(t, "member's integration", team.Members[0].IntegrationID, f.in.ID)
	eq(t, "one repository", len(team.Repositories), 1)
	eq(t, "repository named", team.Repositories[0].Name, "web")
	v1, err := db.DataVersion(ctx, f.ws.ID, t0)
	must(t, err)
	eq(t, "the data version moved", v1.Teams != v0.Teams && v1.String() != v0.String(), true)

	// Unknown references are refused and change nothing.
	_, err = db.UpdateTeam(ctx, f.ws.ID, team.ID, store.TeamChange{Members: &[]store.TeamRef{{ID: "u-bob"}, {ID: "u-nobody"}}}, t0)
	wantKind(t, err, delivery.KindInvalid)
	_, err = db.UpdateTeam(ctx, f.ws.ID, team.ID, store.TeamChange{Repositories: &[]store.TeamRef{{ID: "r9"}}}, t0)
	wantKind(t, err, delivery.KindInvalid)
	_, err = db.UpdateTeam(ctx, f.ws.ID, team.ID, store.TeamChange{Members: &[]store.TeamRef{{IntegrationID: "other", ID: "u-bob"}}}, t0)
	wantKind(t, err, delivery.KindInvalid)
	got, err := db.GetTeam(ctx, f.ws.ID, team.ID)
	must(t, err)
	eq(t, "members kept", len(got.Members), 1)
	eq(t, "repositories kept", len(got.Repositories), 1)

	// Replace members (a nil list keeps the repositories).
	got, err = db.UpdateTeam(ctx, f.ws.ID, team.ID, store.TeamChange{Members: &[]store.TeamRef{{ID: "u-bob"}, {ID: "u-ann"}, {ID: "u-bob"}}}, t0.Add(time.Hour))
	must(t, err)
	eq(t, "two members, by name", len(got.Members), 2)
	eq(t, "Ann first", got.Members[0].IdentityID, "u-ann")
	eq(t, "repositories untouched", len(got.Repositories), 1)
	got, err = db.UpdateTeam(ctx, f.ws.ID, team.ID, store.TeamChange{Repositories: &[]store.TeamRef{}}, t0.Add(time.Hour))
	must(t, err)
	eq(t, "repositories emptied", len(got.Repositories), 0)

	must(t, db.DeleteTeam(ctx, f.ws.ID, team.ID))
	_, err = db.GetTeam(ctx, f.ws.ID, team.ID)
	wantKind(t, err, delivery.KindNotFound)
	var n int
	must(t, db.SQL().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM team_members) + (SELECT COUNT(*) FROM team_repositories)`).Scan(&n))
	eq(t, "members and repositories deleted with the team", n, 0)
	wantKind(t, db.DeleteTeam(ctx, f.ws.ID, team.ID), delivery.KindNotFound)
}

func testTeamIsolation(t *testing.T, db *store.DB) {
	f := newFixture(t, db, "acme")
	other := newFixture(t, db, "other")
	teamData(t, db, f)
	team, err := db.CreateTeam(ctx, f.ws.ID, store.TeamChange{Name: ptr("Core"), Members: &[]store.TeamRef{{ID: "u-ann"}}}, t0)
	must(t, err)
	_, err = db.GetTeam(ctx, other.ws.ID, team.ID)
	wantKind(t, err, delivery.KindNotFound)
	_, err = db.UpdateTeam(ctx, other.ws.ID, team.ID, store.TeamChange{Name: ptr("Mine")}, t0)
	wantKind(t, err, delivery.KindNotFound)
	wantKind(t, db.DeleteTeam(ctx, other.ws.ID, team.ID), delivery.KindNotFound)
	theirs, err := db.ListTeams(ctx, other.ws.ID)
	must(t, err)
	eq(t, "another workspace lists none", len(theirs), 0)
	people, err := db.ListIdentities(ctx, other.ws.ID)
	must(t, err)
	eq(t, "nor sees the people", len(people), 0)
	// Another workspace cannot add this workspace's people or repositories.
	mine, err := db.CreateTeam(ctx, other.ws.ID, store.TeamChange{Name: ptr("Core")}, t0)
	must(t, err)
	_, err = db.UpdateTeam(ctx, other.ws.ID, mine.ID, store.TeamChange{Members: &[]store.TeamRef{{ID: "u-ann"}}}, t0)
	wantKind(t, err, delivery.KindInvalid)
	_, err = db.UpdateTeam(ctx, other.ws.ID, mine.ID, store.TeamChange{Repositories: &[]store.TeamRef{{ID: "r1"}}}, t0)
	wantKind(t, err, delivery.KindInvalid)
	got, err := db.GetTeam(ctx, f.ws.ID, team.ID)
	must(t, err)
	eq(t, "untouched", got.Name+"/"+got.Members[0].IdentityID, "Core/u-ann")
}
