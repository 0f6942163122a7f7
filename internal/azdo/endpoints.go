package azdo

import (
	"net/url"
)

// endpoint describes one REST resource for metrics, versions and errors.
type endpoint struct {
	name       string  // metric label
	area       apiArea // api-version rule
	what       string  // what the call does, for messages: "listing builds"
	permission string  // the Azure DevOps permission a 403 means is missing
}

// call is one request, relative to the organization base or the release host.
type call struct {
	ep      endpoint
	method  string
	release bool   // on the release host (vsrm on Services)
	path    string // escaped, relative to the base, without a leading slash
	query   url.Values
	body    any
	version string // api-version; empty means the endpoint's area rule
	// idempotent marks calls that are safe to repeat after an ambiguous
	// failure (5xx, reset, timeout). GET, PUT, DELETE and read-only POSTs are;
	// a POST that creates is not.
	idempotent bool
}

var (
	epConnectionData  = endpoint{"location.connectiondata", areaLocation, "reading the connection data", "View instance-level information"}
	epLocations       = endpoint{"location.options", areaLocation, "reading the resource locations", "View instance-level information"}
	epResourceAreas   = endpoint{"location.resourceareas", areaLocation, "reading the resource areas", "View instance-level information"}
	epProjects        = endpoint{"core.projects", areaGA, "listing projects", "View project-level information"}
	epRepositories    = endpoint{"git.repositories", areaGA, "listing repositories", "Read (Git repositories)"}
	epCommits         = endpoint{"git.commits", areaGA, "listing commits", "Read (Git repositories)"}
	epCommit          = endpoint{"git.commit", areaGA, "reading a commit", "Read (Git repositories)"}
	epPushes          = endpoint{"git.pushes", areaGA, "listing pushes", "Read (Git repositories)"}
	epPushCommits     = endpoint{"git.pushes.commits", areaGA, "listing the commits of a push", "Read (Git repositories)"}
	epRefs            = endpoint{"git.refs", areaGA, "listing branches", "Read (Git repositories)"}
	epPullRequests    = endpoint{"git.pullrequests", areaGA, "listing pull requests", "Read (Git repositories)"}
	epPullRequest     = endpoint{"git.pullrequest", areaGA, "reading a pull request", "Read (Git repositories)"}
	epThreads         = endpoint{"git.pullrequest.threads", areaGA, "reading pull request threads", "Read (Git repositories)"}
	epThreadCreate    = endpoint{"git.pullrequest.threads.create", areaGA, "posting a pull request comment", "Contribute to pull requests"}
	epCommentUpdate   = endpoint{"git.pullrequest.comments.update", areaGA, "updating a pull request comment", "Contribute to pull requests"}
	epReviewers       = endpoint{"git.pullrequest.reviewers", areaGA, "reading pull request reviewers", "Read (Git repositories)"}
	epPRWorkItems     = endpoint{"git.pullrequest.workitems", areaGA, "reading pull request work items", "Read (Git repositories)"}
	epPRCommits       = endpoint{"git.pullrequest.commits", areaGA, "reading pull request commits", "Read (Git repositories)"}
	epBuilds          = endpoint{"build.builds", areaGA, "listing builds", "View builds"}
	epTimeline        = endpoint{"build.timeline", areaGA, "reading a build timeline", "View builds"}
	epEnvironments    = endpoint{"distributedtask.environments", areaEnvironments, "listing environments", "View environment (User role on the environment)"}
	epEnvRecords      = endpoint{"distributedtask.environmentdeploymentrecords", areaEnvironments, "listing environment deployments", "View environment (User role on the environment)"}
	epReleaseDeploys  = endpoint{"release.deployments", areaGA, "listing release deployments", "View releases"}
	epReleases        = endpoint{"release.releases", areaGA, "reading releases", "View releases"}
	epWiql            = endpoint{"wit.wiql", areaGA, "querying work items", "View work items in this node"}
	epWorkItemsBatch  = endpoint{"wit.workitemsbatch", areaGA, "reading work items", "View work items in this node"}
	epWorkItemUpdates = endpoint{"wit.workitemupdates", areaGA, "reading work item updates", "View work items in this node"}
	epHooks           = endpoint{"hooks.subscriptions", areaGA, "managing service hook subscriptions", "Edit subscriptions (service hooks)"}
)
