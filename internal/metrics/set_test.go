package metrics

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// split cuts an input by key(project, repository): commits, PRs and
// deployments by theirs (a commit's project is its repository's), work
// items by their project when withItems, as a server reads them.
func split(in Input, key func(project, repo string) string, withItems bool) map[string]Input {
	projectOf := map[string]string{}
	for _, p := range in.PullRequests {
		projectOf[p.RepositoryID] = p.ProjectID
	}
	for _, d := range in.Deployments {
		projectOf[d.RepositoryID] = d.ProjectID
	}
	parts := map[string]Input{}
	put := func(k string, f func(*Input)) {
		p, ok := parts[k]
		if !ok {
			p = Input{Rules: in.Rules, CollectedSince: in.CollectedSince}
		}
		f(&p)
		parts[k] = p
	}
	for _, c := range in.Commits {
		put(key(projectOf[c.RepositoryID], c.RepositoryID), func(p *Input) { p.Commits = append(p.Commits, c) })
	}
	for _, pr := range in.PullRequests {
		put(key(pr.ProjectID, pr.RepositoryID), func(p *Input) { p.PullRequests = append(p.PullRequests, pr) })
	}
	for _, d := range in.Deployments {
		put(key(d.ProjectID, d.RepositoryID), func(p *Input) { p.Deployments = append(p.Deployments, d) })
	}
	for _, w := range in.WorkItems {
		if withItems {
			put(key(w.ProjectID, ""), func(p *Input) { p.WorkItems = append(p.WorkItems, w) })
		}
	}
	return parts
}

// splitByProject cuts an input into one input per project.
func splitByProject(in Input) map[string]Input {
	return split(in, func(project, _ string) string { return project }, true)
}

// splitByRepository cuts one project's input by repository, as the server
// streams it (deployments of no repository form a group of their own).
func splitByRepository(in Input) map[string]Input {
	return split(in, func(_, repo string) string { return repo }, false)
}

// TestSetOfProjectsEqualsWhole: the figures of a Set of per-project
// analyses, compacted, and of a Set built repository by repository, are
// those of one analysis of the whole input, in every window and filter and
// for every list behind a figure.
func TestSetOfProjectsEqualsWhole(t *testing.T) {
	in := realisticScenario()
	whole := Set{Analyze(in)}
	var set Set
	for _, p := range splitByProject(in) {
		set = append(set, Analyze(p).Compact())
	}
	if len(set) != 2 {
		t.Fatalf("scenario has %d projects, want 2", len(set))
	}
	// And repository by repository, as the server reads a large project;
	// and again with one repository read anew and the others' parts
	// reused, as the server does when that repository changed.
	var byRepo, reused Set
	repos := 0
	for _, p := range splitByProject(in) {
		b := NewProjectBuilder(p)
		parts := map[string]RepositoryPart{}
		byRepoOf := splitByRepository(p)
		for _, name := range slices.Sorted(maps.Keys(byRepoOf)) {
			r := byRepoOf[name]
			parts[name] = b.AddRepository(r.Commits, r.PullRequests, r.Deployments)
			repos++
		}
		byRepo = append(byRepo, b.Finish()...)
		again := NewProjectBuilder(p)
		for i, name := range slices.Sorted(maps.Keys(byRepoOf)) {
			if r := byRepoOf[name]; i == 0 {
				again.AddRepository(r.Commits, r.PullRequests, r.Deployments)
			} else {
				again.AddPart(parts[name])
			}
		}
		reused = append(reused, again.Finish()...)
	}
	if repos < 3 {
		t.Fatalf("scenario has %d repositories, want 3 or more", repos)
	}
	all := delivery.Window{From: t0, To: t0.AddDate(0, 0, 35)}
	late := delivery.Window{From: t0.AddDate(0, 0, 12), To: t0.AddDate(0, 0, 26)}
	var windows []delivery.Window
	for _, w := range []delivery.Window{all, late} {
		shop, web, data := w, w, w
		shop.Project, web.Project, web.Repository, data.Project = "shop", "shop", "web", "data"
		windows = append(windows, w, shop, web, data)
	}
	same := func(what string, w delivery.Window, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s over %+v:\n got %+v\nwant %+v", what, w, got, want)
		}
	}
	for _, s := range []struct {
		name string
		set  Set
	}{{"per project", set}, {"per repository", byRepo}, {"with reused repositories", reused}} {
		set := s.set
		for _, w := range windows {
			same(s.name+" DORA", w, set.DORA(w), whole.DORA(w))
			same(s.name+" lead time items", w, set.LeadTimeItems(w), whole.LeadTimeItems(w))
			same(s.name+" deployments", w, set.DeploymentItems(w), whole.DeploymentItems(w))
			same(s.name+" PR flow", w, set.PullRequests(w), whole.PullRequests(w))
			same(s.name+" PR list", w, set.PullRequestList(w), whole.PullRequestList(w))
			same(s.name+" work items", w, set.WorkItems(w, WorkItemFilter{}), whole.WorkItems(w, WorkItemFilter{}))
			same(s.name+" incidents", w, set.Incidents(w), whole.Incidents(w))
			same(s.name+" series", w, set.Series(w, Day), whole.Series(w, Day))
		}
	}
	if n := len(whole.WorkItems(all, WorkItemFilter{}).Items); n < 10 {
		t.Fatalf("scenario too small: %d work items deployed", n)
	}
	if inc := whole.Incidents(all); len(inc.Attributed) == 0 || len(inc.Unattributed) == 0 {
		t.Fatalf("scenario needs attributed and unattributed incidents: %+v", inc)
	}
	f1, l1 := set.Bounds()
	f2, l2 := whole.Bounds()
	if !f1.Equal(f2) || !l1.Equal(l2) || f1.IsZero() {
		t.Errorf("bounds %v..%v, want %v..%v", f1, l1, f2, l2)
	}
	if n := len(whole.LeadTimeItems(all)); n < 50 {
		t.Fatalf("scenario too small: %d lead time items", n)
	}
}

// TestLeadTimeItemsKeepSHAs: packed (40 hex digits) and odd SHAs come back
// as they went in.
func TestLeadTimeItemsKeepSHAs(t *testing.T) {
	hexSHA := "0123456789abcdef0123456789abcdef01234567"
	for _, sha := range []string{hexSHA, "ABCDEF0123456789ABCDEF0123456789ABCDEF01", "short", "0000000000000000000000000000000000000000"} {
		a := Analyze(Input{Commits: []delivery.Commit{{RepositoryID: "r", SHA: sha, AuthoredAt: h(1)}},
			Deployments: []delivery.Deployment{success("d", "r", sha, h(5))}}).Compact()
		items := a.LeadTimeItems(window(0, 24))
		if len(items) != 1 || items[0].CommitSHA != sha || items[0].Span != 4*time.Hour || items[0].DeploymentID != "d" {
			t.Errorf("%s: items = %+v", sha, items)
		}
	}
}

// TestSelectRanksMatchesSort: the order statistics a summary reads are
// those of a full sort, for random values with many repeats.
func TestSelectRanksMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		n := 1 + r.IntN(300)
		spread := 1 + r.IntN(20)
		if trial%5 == 0 {
			spread = 1 << 30
		}
		vals := make([]time.Duration, n)
		for i := range vals {
			vals[i] = time.Duration(r.IntN(spread) - spread/4)
		}
		if trial%7 == 0 {
			slices.Sort(vals) // already sorted input
		}
		got := Summarize(vals)
		sorted, clamped := slices.Clone(vals), 0
		for i := range sorted {
			if sorted[i] < 0 {
				sorted[i], clamped = 0, clamped+1
			}
		}
		slices.Sort(sorted)
		want := Stats{N: n, Clamped: clamped, Median: new(percentile(sorted, 1, 2)), P75: new(percentile(sorted, 3, 4)),
			P90: new(percentile(sorted, 9, 10))}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d (n=%d): got %v/%v/%v, want %v/%v/%v", trial, n, *got.Median, *got.P75, *got.P90,
				*want.Median, *want.P75, *want.P90)
		}
	}
}
