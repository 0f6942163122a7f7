package github_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/collect"
	ghcollect "github.com/pandev-metrics/pandev/internal/collect/github"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
	"github.com/pandev-metrics/pandev/internal/githubsim"
	"github.com/pandev-metrics/pandev/internal/netguard"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
	"github.com/pandev-metrics/pandev/internal/store/storetest"
)

// clients is the ClientSource of one integration.
type clients struct {
	c  *githubapi.Client
	in store.Integration
}

func (s clients) Client(context.Context, string) (*githubapi.Client, store.Integration, error) {
	return s.c, s.in, nil
}

// ghEnv is one GitHub integration of its own workspace, collecting every
// repository of the simulator by one pull-request path.
type ghEnv struct {
	db       *store.DB
	sim      *githubsim.Sim
	in       store.Integration
	client   *githubapi.Client
	c        *collect.Collector
	projects []store.Project
}

func startSim(t testing.TB, profile string) *githubsim.Sim {
	t.Helper()
	return startSimWith(t, githubsim.Options{Seed: 1, Profile: profile})
}

// startSimWith starts a simulator of opts, closed when the test ends.
func startSimWith(t testing.TB, opts githubsim.Options) *githubsim.Sim {
	t.Helper()
	sim, err := githubsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sim.Close() })
	return sim
}

// newGHEnv connects a new workspace to sim with the token the manual
// creates (the simulator's classic token with the product's scopes), by
// the simulator's address: an Enterprise Server (/api/v3, /api/graphql).
func newGHEnv(t testing.TB, db *store.DB, sim *githubsim.Sim, name string, path ghcollect.PullsPath) *ghEnv {
	t.Helper()
	return newGHEnvHTTP(t, db, sim, name, path, sim.HTTPClient())
}

// newGHEnvHTTP is newGHEnv sending through hc.
func newGHEnvHTTP(t testing.TB, db *store.DB, sim *githubsim.Sim, name string, path ghcollect.PullsPath, hc *http.Client) *ghEnv {
	t.Helper()
	ctx := context.Background()
	ws, err := db.EnsureWorkspace(ctx, name, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	api, err := githubapi.ParseAPI(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	client, err := githubapi.New(githubapi.Options{API: api, Token: secret.New(sim.Token()), HTTPClient: hc, Hosts: netguard.MustParse(sim.Host())})
	if err != nil {
		t.Fatal(err)
	}
	in, err := db.CreateIntegration(ctx, store.Integration{WorkspaceID: ws.ID, Provider: ghcollect.Provider, OrgURL: sim.URL(),
		TokenSealed: "sealed", WebhookSecretSealed: "sealed", CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	e := &ghEnv{db: db, sim: sim, in: in, client: client, c: collect.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)}
	e.c.AttachSource(ghcollect.New(clients{c: client, in: in}).WithPulls(path))
	key := store.Key{IntegrationID: in.ID, WorkspaceID: ws.ID}
	for _, tr := range sim.Truth() {
		id := strconv.FormatInt(tr.ID, 10)
		if err := db.UpsertProject(ctx, store.Project{Key: key, ProjectID: id, Name: tr.FullName}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetProjectSelected(ctx, key, id, true, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if e.projects, err = db.ListProjects(ctx, key, true); err != nil {
		t.Fatal(err)
	}
	return e
}

// backfill runs every repository's backfill of the window (days). A
// rate limit's wait is waited out on the simulator's clock (a job would
// snooze until then) and the backfill resumed; it returns the waits.
func (e *ghEnv) backfill(t testing.TB, days int) int {
	t.Helper()
	waits := 0
	for _, p := range e.projects {
		for {
			err := e.c.Backfill(context.Background(), collect.BackfillArgs{IntegrationID: e.in.ID, ProjectID: p.ProjectID, Days: days})
			if delivery.KindOf(err) == delivery.KindRateLimited && waits < 100 {
				waits++
				e.sim.Advance(time.Duration(max(60, delivery.RetryAfterSeconds(err))+1) * time.Second)
				continue
			}
			if err != nil {
				t.Fatalf("after %d waits: %v (%s)", waits, err, delivery.KindOf(err))
			}
			break
		}
	}
	return waits
}

// prTables are the tables a pull request's backfill writes.
var prTables = []string{"pull_requests", "pr_reviewers", "pr_comments", "pr_commits", "commits"}

// rows is a table's rows of the integration, every column but the
// integration's and workspace's ids, as sorted text.
func (e *ghEnv) rows(t testing.TB, table string) []string {
	t.Helper()
	rs, err := e.db.SQL().QueryContext(context.Background(), "SELECT * FROM "+table+" WHERE integration_id = $1", e.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, c := range cols {
			if c == "integration_id" || c == "workspace_id" {
				continue
			}
			v := vals[i]
			switch x := v.(type) {
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			case []byte:
				v = string(x)
			}
			parts = append(parts, fmt.Sprintf("%s=%v", c, v))
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestPullsGraphQLEqualsREST, on both engines: a backfill whose pull
// requests are read by GraphQL stores exactly the rows a REST backfill
// stores, table by table — through Enterprise Server's paths, as the
// product reaches the simulator — and the PRs stored are the simulator's truth of the window.
// A reconciliation after a few changes (by REST, as the product does; by
// GraphQL for PullsGraphQLAlways) brings them to the same rows again.
func TestPullsGraphQLEqualsREST(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := startSim(t, "small")
		rest := newGHEnv(t, db, sim, "rest", ghcollect.PullsREST)
		gql := newGHEnv(t, db, sim, "graphql", ghcollect.PullsGraphQL)
		always := newGHEnv(t, db, sim, "graphql-always", ghcollect.PullsGraphQLAlways)
		rest.backfill(t, 0)
		gql.backfill(t, 0)
		always.backfill(t, 0)
		if s := gql.client.Calls().Snapshot(); s.GraphQLCalls == 0 || s.Points == 0 {
			t.Fatalf("the GraphQL backfill sent no GraphQL query: %+v", s)
		}
		if s := rest.client.Calls().Snapshot(); s.GraphQLCalls != 0 {
			t.Fatalf("the REST backfill sent %d GraphQL queries", s.GraphQLCalls)
		}
		same(t, rest, gql)
		// The truth: every PR updated in the window, and none other.
		from := window(t, gql)
		want := 0
		for _, tr := range sim.Truth() {
			for _, p := range tr.Pulls {
				if !p.UpdatedAt.Before(from) {
					want++
				}
			}
		}
		if got := len(gql.rows(t, "pull_requests")); got != want || want == 0 {
			t.Fatalf("%d pull requests stored, the truth has %d in the window", got, want)
		}

		// A few changes, then a reconciliation of each.
		for _, kind := range []string{"pull_request_opened", "review", "review_comment", "pull_request_merged"} {
			if _, err := sim.Activity(githubsim.ActivityRequest{Kind: kind, Commits: 2}); err != nil {
				t.Fatal(err)
			}
		}
		calls := always.client.Calls().Snapshot().GraphQLCalls
		for _, e := range []*ghEnv{rest, gql, always} {
			if _, err := e.c.Reconcile(context.Background(), e.in.ID); err != nil {
				t.Fatal(err)
			}
		}
		same(t, rest, gql)
		same(t, rest, always)
		if always.client.Calls().Snapshot().GraphQLCalls == calls {
			t.Fatal("PullsGraphQLAlways reconciled without GraphQL")
		}
		if got := len(gql.rows(t, "pull_requests")); got != want+1 {
			t.Fatalf("%d pull requests stored after the reconciliation, want %d", got, want+1)
		}
	})
}

// same fails unless both integrations hold the same rows.
func same(t *testing.T, a, b *ghEnv) {
	t.Helper()
	for _, table := range prTables {
		ra, rb := a.rows(t, table), b.rows(t, table)
		if len(ra) == 0 {
			t.Fatalf("%s: no rows", table)
		}
		if !slices.Equal(ra, rb) {
			for i := range max(len(ra), len(rb)) {
				var x, y string
				if i < len(ra) {
					x = ra[i]
				}
				if i < len(rb) {
					y = rb[i]
				}
				if x != y {
					t.Fatalf("%s differs (%d rows by REST, %d by GraphQL); first difference:\n REST:    %s\n GraphQL: %s", table, len(ra), len(rb), x, y)
				}
			}
		}
	}
}

// window is the backfill window's start.
func window(t testing.TB, e *ghEnv) time.Time {
	t.Helper()
	ps, err := collect.Progress(context.Background(), e.db, store.Key{IntegrationID: e.in.ID, WorkspaceID: e.in.WorkspaceID}, ghcollect.Resources)
	if err != nil || len(ps) == 0 || ps[0].From == nil {
		t.Fatalf("no backfill progress: %v %v", ps, err)
	}
	return *ps[0].From
}

// TestPullsGraphQLForbidden: a fine-grained token without Pull requests:
// Read gets GitHub's FORBIDDEN for repository.pullRequests; the backfill
// fails naming the permission (as the REST path's 403 does).
func TestPullsGraphQLForbidden(t *testing.T) {
	sim := startSim(t, "small")
	perms := map[string]string{}
	for k, v := range githubsim.ProductPermissions {
		if k != "pull_requests" {
			perms[k] = v
		}
	}
	tok := sim.NewFineGrainedToken(perms)
	api, _ := githubapi.ParseAPI(sim.URL())
	client, err := githubapi.New(githubapi.Options{API: api, Token: secret.New(tok), HTTPClient: sim.HTTPClient(), Hosts: netguard.MustParse(sim.Host())})
	if err != nil {
		t.Fatal(err)
	}
	var out struct{}
	err = client.GraphQL(context.Background(), `query { repository(owner: "`+sim.Org()+`", name: "`+strings.Split(sim.Repos()[0], "/")[1]+`") { pullRequests(first: 1) { totalCount } } rateLimit { cost } }`, nil, &out)
	var mp *githubapi.MissingPermission
	if err == nil || !errors.As(err, &mp) || !strings.Contains(err.Error(), "repository.pullRequests") {
		t.Fatalf("GraphQL without pull_requests: %v", err)
	}
}

// failNth fails the nth GraphQL request (a connection cut) and passes
// every other request on.
type failNth struct {
	next http.RoundTripper
	n    int
	seen int
}

func (f *failNth) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/graphql") {
		f.seen++
		if f.seen == f.n {
			return nil, fmt.Errorf("connection cut before query %d", f.n)
		}
	}
	return f.next.RoundTrip(r)
}

// TestPullsGraphQLResumes, on both engines: a GraphQL backfill cut after
// its first page (a killed process, a lost connection) resumes from its
// checkpoint and ends with exactly the rows of an uninterrupted REST
// backfill; the page written before the cut is not written again.
func TestPullsGraphQLResumes(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		sim := startSim(t, "medium")
		hc := sim.HTTPClient()
		next := hc.Transport
		if next == nil {
			next = http.DefaultTransport
		}
		cut := &failNth{next: next, n: 2}
		hc.Transport = cut
		gql := newGHEnvHTTP(t, db, sim, "graphql", ghcollect.PullsGraphQL, hc)
		rest := newGHEnv(t, db, sim, "rest", ghcollect.PullsREST)
		rest.projects, gql.projects = rest.projects[:1], gql.projects[:1] // one repository: 150 PRs, two pages
		rest.backfill(t, 120)
		err := gql.c.Backfill(context.Background(), collect.BackfillArgs{IntegrationID: gql.in.ID, ProjectID: gql.projects[0].ProjectID, Days: 120})
		if err == nil || !strings.Contains(err.Error(), "connection cut") {
			t.Fatalf("the cut backfill: %v", err)
		}
		first := len(gql.rows(t, "pull_requests"))
		if first != 100 {
			t.Fatalf("%d pull requests stored before the cut, the first page has 100", first)
		}
		gql.backfill(t, 120)
		for _, table := range prTables[:4] {
			if a, b := rest.rows(t, table), gql.rows(t, table); !slices.Equal(a, b) {
				t.Fatalf("%s: %d rows by REST, %d by the resumed GraphQL backfill", table, len(a), len(b))
			}
		}
		if n := len(gql.rows(t, "pull_requests")); n != 150 {
			t.Fatalf("%d pull requests after the resume, want 150", n)
		}
	})
}
