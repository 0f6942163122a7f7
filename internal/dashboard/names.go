package dashboard

import (
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pandev-metrics/pandev/internal/store"
)

// The drill-downs show names where the metrics keep ids, and link each row
// to the item on its provider: Azure DevOps web URLs built from the
// organization and the project's name, GitHub's from the repository's
// html_url. The names are kept beside the analysis as it
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

// The providers names knows how to link to.
const (
	providerAzure  = "azure-devops"
	providerGitHub = "github"
)

// names resolves ids of a snapshot to names and web URLs on the provider.
type names struct {
	orgURL    string // https://dev.azure.com/org, without a trailing slash
	projects  map[string]string
	providers map[string]string // project id → provider
	sites     map[string]string // project id → its integration's URL, without a trailing slash
	repos     map[string]string // repository id → name
	repoWeb   map[string]string // repository id → web URL (GitHub's html_url)
	deps      map[string]deploymentName
	prs       map[string]map[int]prName // repository id → PR id → name
}

// names are built once per snapshot, on first use.
func (s *Snapshot) names() names {
	s.namesOnce.Do(func() { s.nm = s.buildNames() })
	return s.nm
}

func (s *Snapshot) buildNames() names {
	n := names{orgURL: strings.TrimRight(s.orgURL, "/"), projects: map[string]string{}, providers: map[string]string{},
		repos: map[string]string{}, repoWeb: map[string]string{}, sites: map[string]string{}, deps: map[string]deploymentName{}, prs: map[string]map[int]prName{}}
	for _, sc := range s.Scopes {
		n.projects[sc.ProjectID] = sc.Name
		n.providers[sc.ProjectID] = sc.Provider
		if sc.SiteURL != "" {
			n.sites[sc.ProjectID] = strings.TrimRight(sc.SiteURL, "/")
		}
		for _, r := range sc.Repositories {
			n.repos[r.RepoID] = r.Name
			n.repoWeb[r.RepoID] = strings.TrimRight(r.WebURL, "/")
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

// provider is the source of a project's items ("azure-devops", "github").
func (n names) provider(project string) string { return n.providers[project] }

// github reports whether a project is a GitHub repository.
func (n names) github(project string) bool { return n.providers[project] == providerGitHub }

// githubURL is a GitHub repository's web address with path appended; ""
// when neither its html_url nor its site and name are known.
func (n names) githubURL(repo, path string) string {
	web := n.repoWeb[repo]
	if !strings.HasPrefix(web, "https://") && !strings.HasPrefix(web, "http://") {
		// Without its html_url, the repository (which is its project,
		// owner/name) under its integration's site.
		owner, name, ok := strings.Cut(n.projects[repo], "/")
		site := n.sites[repo]
		if !ok || site == "" {
			return ""
		}
		web = site + "/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
	}
	return web + path
}

// projectURL is the Azure DevOps project's web address; "" without an
// organization URL or a project name, or for another provider's project.
func (n names) projectURL(project string) string {
	name, site := n.projects[project], n.orgURL
	if s := n.sites[project]; s != "" {
		site = s // the project's own organization, where a workspace has several
	}
	if site == "" || name == "" || n.github(project) {
		return ""
	}
	return site + "/" + url.PathEscape(name)
}

// pullRequestURL is the web address of PR id in repository repo.
func (n names) pullRequestURL(project, repo string, id int) string {
	if n.github(project) {
		return n.githubURL(repo, "/pull/"+strconv.Itoa(id))
	}
	p, name := n.projectURL(project), n.repos[repo]
	if p == "" || name == "" {
		return ""
	}
	return p + "/_git/" + url.PathEscape(name) + "/pullrequest/" + strconv.Itoa(id)
}

// workItemURL is the web address of a work item: on GitHub an issue of
// the repository that is the project.
func (n names) workItemURL(project string, id int) string {
	if n.github(project) {
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
	if n.github(project) && sha != "" {
		return n.githubURL(repo, "/commit/"+url.PathEscape(sha))
	}
	p, name := n.projectURL(project), n.repos[repo]
	if p == "" || name == "" || sha == "" {
		return ""
	}
	return p + "/_git/" + url.PathEscape(name) + "/commit/" + url.PathEscape(sha)
}

// deploymentURL is the web address of what made a deployment: the
// pipeline run's results (environment, stage and build-rule deployments)
// or the classic release (release:<release>:<environment>:<attempt>); on
// GitHub the workflow run, or the repository's deployments page (GitHub
// gives a deployment no page of its own).
func (n names) deploymentURL(project, key string) string {
	if n.github(project) {
		if run := n.deps[key].RunID; run != 0 {
			return n.githubURL(project, "/actions/runs/"+strconv.FormatInt(run, 10))
		}
		return n.githubURL(project, "/deployments")
	}
	p := n.projectURL(project)
	if p == "" {
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
	if id, ok := strings.CutPrefix(key, "deployment:"); ok && d.RunID == 0 {
		return "Deployment " + id // GitHub's Deployments API
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
