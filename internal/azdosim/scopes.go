package azdosim

import "slices"

// The scopes each REST operation accepts come from Microsoft's published
// descriptions (../shared/azure-devops/specs): scopes_spec.go is generated
// from the `security` of every operation the simulator serves, per spec
// folder, by TestScopeTableFromSpecs. The few rules below cover what the
// specs do not describe, each with its source.

// specFolder is the spec folder that describes a simulator mode.
func specFolder(mode, serverVersion string) string {
	if mode != "server" {
		return "7.1"
	}
	switch serverVersion {
	case "2019":
		return "server-5.0"
	case "2020":
		return "server-6.0"
	default:
		return "server-7.0"
	}
}

// specAliases maps a route the specs describe under another path to that
// path: an optional trailing or team segment the service accepts without.
var specAliases = map[string]string{
	// Timeline_Get: {timelineId} is optional in the route template (build.json 7.1).
	"GET {project}/_apis/build/builds/{buildId}/timeline": "GET {project}/_apis/build/builds/{buildId}/timeline/{timelineId}",
	// Wiql_Query By Wiql / Query By Id: {team} is optional (workItemTracking.json 7.1).
	"POST {project?}/_apis/wit/wiql":     "POST {project}/{team}/_apis/wit/wiql",
	"GET {project?}/_apis/wit/wiql/{id}": "GET {project}/{team}/_apis/wit/wiql/{id}",
	// Subscriptions_Replace with the id in the body (serviceHooks.json 7.1).
	"PUT _apis/hooks/subscriptions": "PUT _apis/hooks/subscriptions/{subscriptionId}",
}

// releaseHookScope is what a service hook call on the release host needs:
// the rm publisher lives there (MicrosoftDocs/feedback#916) and subscribing
// to a publisher takes its read scope (PROTOCOL §8).
const releaseHookScope = "vso.release"

// projectReadScopes: the specs accept vso.profile or vso.project for
// Projects_List/Projects_Get. The manual's Step 1 PAT (Code, PR Threads,
// Build, Work Items) has neither, yet the manual promises that Check
// connection reports the count of accessible projects and Step 4 lists them
// (seed/000 Step 3 and 4); every read scope includes reading the project it
// is about ("Scope inheritance: some scopes include others", Microsoft's
// OAuth scopes page). Judgement, unverified against a live organization:
// the project list also accepts the read scopes of the areas we read.
var projectReadScopes = []string{"vso.code", "vso.threads_full", "vso.build", "vso.work", "vso.release", "vso.environment_manage"}

// routeScopes is the scope rule of one route in one spec folder: any one of
// the returned scopes is enough; nil means any authenticated caller.
func routeScopes(folder string, r route) []string {
	key := r.method + " " + r.pattern
	switch key {
	case "GET _apis/ConnectionData", "GET _apis/ResourceAreas", "GET _apis/ResourceAreas/{areaId}":
		// The location area is not in the published specs; any authenticated
		// caller reads it, and connectionData answers the anonymous user too
		// (PROTOCOL §2).
		return nil
	}
	if alias, ok := specAliases[key]; ok {
		key = alias
	}
	scopes, ok := specScopes[folder][key]
	if !ok {
		// Not described for this release: refuse every custom-scoped PAT
		// rather than guess (the route is dropped anyway when the release
		// lacks its location).
		return []string{"vso.no_such_scope"}
	}
	if len(scopes) == 0 && folder != "7.1" {
		// The Server documents list no security for the service hooks area;
		// it is the same service as on Services (serviceHooks.json 7.1).
		scopes = specScopes["7.1"][key]
	}
	if key == "GET _apis/projects" || key == "GET _apis/projects/{projectId}" {
		scopes = append(slices.Clip(scopes), projectReadScopes...)
	}
	return scopes
}
