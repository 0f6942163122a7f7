package dashboard

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/store"
)

// The drill-downs show names where the metrics keep ids, and link each row
// to the item in Azure DevOps or GitHub. The names are kept beside the analysis as it
// is built (a PR's title cut to titleMax), so a page never reads the store
// for them.

// deploymentName is what the drill-down shows of a deployment beyond the
// metrics' facts: the run (build) that made it and its pipeline's name.
type deploymentName struct {
	RunID    int64
	Pipeline string
}

// prName is a PR's title and author, for the drill-down.
type prName struct {
	Title, Author string
}

// titleMax caps a kept PR title (bytes, cut at a rune boundary).
const titleMax = 120

func shortTitle(s string) string {
	if len(s) <= titleMax {
		return s
	}
	cut := titleMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// names resolves ids of a snapshot to names and Azure DevOps web URLs.
type names struct {
	orgURL   string // https://dev.azure.com/org, without a trailing slash
	projects map[string]string
	// sites are the projects' own integration URLs (an Azure DevOps
	// organization, a GitHub site), without a trailing slash; github holds
	// the projects that are GitHub repositories.
	sites  map[string]string
	github map[string]bool
	repos  map[string]string // repository id → name
	deps   map[string]deploymentName
	prs    map[string]map[int]prName // repository id → PR id → name
}

// names are built once per snapshot, on first use.
func (s *Snapshot) names() names {
	s.namesOnce.Do(func() { s.nm = s.buildNames() })
	return s.nm
}

func (s *Snapshot) buildNames() names {
	n := names{orgURL: strings.TrimRight(s.orgURL, "/"), projects: map[string]string{}, repos: map[string]string{},
		deps: map[string]deploymentName{}, prs: map[string]map[int]prName{}}
	n.sites, n.github = map[string]string{}, map[string]bool{}
	for _, sc := range s.Scopes {
		n.projects[sc.ProjectID] = sc.Name
		if sc.SiteURL != "" {
			n.sites[sc.ProjectID] = strings.TrimRight(sc.SiteURL, "/")
		}
		n.github[sc.ProjectID] = sc.Provider == "github"
		for _, r := range sc.Repositories {
			n.repos[r.RepoID] = r.Name
		}
	}
	for _, p := range s.projects {
		for k, v := range p.deps {
			n.deps[k] = v
		}
		for repo, m := range p.prs {
			n.prs[repo] = m
		}
	}
	return n
}

func (n names) project(id string) string {
	if name := n.projects[id]; name != "" {
		return name
	}
	return id
}

func (n names) repository(id string) string {
	if name := n.repos[id]; name != "" {
		return name
	}
	return id
}

// projectURL is the project's web address; "" without an organization URL
// or a project name.
func (n names) projectURL(project string) string {
	name, site := n.projects[project], n.orgURL
	if s := n.sites[project]; s != "" {
		site = s
	}
	if site == "" || name == "" {
		return ""
	}
	if n.github[project] { // a repository, owner/name
		owner, repo, ok := strings.Cut(name, "/")
		if !ok {
			return ""
		}
		return site + "/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	}
	return site + "/" + url.PathEscape(name)
}

// pullRequestURL is the web address of PR id in repository repo.
func (n names) pullRequestURL(project, repo string, id int) string {
	if n.github[project] {
		return n.githubURL(project, "/pull/"+strconv.Itoa(id))
	}
	p, name := n.projectURL(project), n.repos[repo]
	if p == "" || name == "" {
		return ""
	}
	return p + "/_git/" + url.PathEscape(name) + "/pullrequest/" + strconv.Itoa(id)
}

// githubURL is a page of a GitHub repository (the project); "" when its
// name or site is unknown.
func (n names) githubURL(project, page string) string {
	p := n.projectURL(project)
	if p == "" {
		return ""
	}
	return p + page
}

// workItemURL is the web address of a work item: in a GitHub repository
// its issue (the html_url; an issue's number is its repository's).
func (n names) workItemURL(project string, id int) string {
	if n.github[project] {
		return n.githubURL(project, "/issues/"+strconv.Itoa(id))
	}
	p := n.projectURL(project)
	if p == "" {
		return ""
	}
	return p + "/_workitems/edit/" + strconv.Itoa(id)
}

// commitURL is the web address of a commit.
func (n names) commitURL(project, repo, sha string) string {
	if n.github[project] && sha != "" {
		return n.githubURL(project, "/commit/"+url.PathEscape(sha))
	}
	p, name := n.projectURL(project), n.repos[repo]
	if p == "" || name == "" || sha == "" {
		return ""
	}
	return p + "/_git/" + url.PathEscape(name) + "/commit/" + url.PathEscape(sha)
}

// deploymentURL is the web address of what made a deployment: the
// pipeline run's results (environment, stage and build-rule deployments)
// or the classic release (release:<release>:<environment>:<attempt>).
func (n names) deploymentURL(project, key string) string {
	p := n.projectURL(project)
	if p == "" || n.github[project] { // GitHub's deployments: not linked yet
		return ""
	}
	if rest, ok := strings.CutPrefix(key, "release:"); ok {
		id, _, _ := strings.Cut(rest, ":")
		if _, err := strconv.Atoi(id); err == nil {
			return p + "/_release?releaseId=" + id + "&_a=release-summary"
		}
		return ""
	}
	if run := n.deps[key].RunID; run != 0 {
		return p + "/_build/results?buildId=" + strconv.FormatInt(run, 10)
	}
	return ""
}

// deploymentLabel names a deployment for people: its pipeline and run, or
// its release, never the internal key ("env:1744").
func (n names) deploymentLabel(key string) string {
	d := n.deps[key]
	if rest, ok := strings.CutPrefix(key, "release:"); ok {
		id, _, _ := strings.Cut(rest, ":")
		return "Release " + id
	}
	switch {
	case d.Pipeline != "" && d.RunID != 0:
		return d.Pipeline + " #" + strconv.FormatInt(d.RunID, 10)
	case d.RunID != 0:
		return "Run #" + strconv.FormatInt(d.RunID, 10)
	}
	return key
}

func (n names) pullRequest(repo string, id int) prName { return n.prs[repo][id] }

// deploymentNames maps the stored deployments' keys to their run and
// pipeline.
func deploymentNames(rows []store.DeploymentDetail) map[string]deploymentName {
	out := make(map[string]deploymentName, len(rows))
	for _, d := range rows {
		out[d.DeploymentKey] = deploymentName{RunID: d.RunID, Pipeline: d.DefinitionName}
	}
	return out
}
