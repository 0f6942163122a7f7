package azdo

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReleaseDeployment is one classic release deployment (an attempt to deploy
// a release to one stage).
type ReleaseDeployment struct {
	ID      int `json:"id"`
	Release struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
		// Artifacts are not always listed here (see Releases).
		Artifacts []ReleaseArtifact `json:"artifacts"`
	} `json:"release"`
	ReleaseDefinition struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"releaseDefinition"`
	ReleaseEnvironment struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"releaseEnvironment"`
	DefinitionEnvironmentID int         `json:"definitionEnvironmentId"`
	DeploymentStatus        string      `json:"deploymentStatus"` // succeeded, partiallySucceeded, failed, inProgress, notDeployed
	OperationStatus         string      `json:"operationStatus"`
	Attempt                 int         `json:"attempt"`
	Reason                  string      `json:"reason"`
	QueuedOn                Time        `json:"queuedOn"`
	StartedOn               Time        `json:"startedOn"`
	CompletedOn             Time        `json:"completedOn"`
	LastModifiedOn          Time        `json:"lastModifiedOn"`
	RequestedBy             IdentityRef `json:"requestedBy"`
	RequestedFor            IdentityRef `json:"requestedFor"`
	ProjectReference        *ProjectRef `json:"projectReference,omitempty"`
}

// FinishedOn tells whether the deployment has finished, and when:
// completedOn, else lastModifiedOn. Finished deployments do not always carry
// completedOn: none of the 17 finished ones in Microsoft's captured list
// (samples/rest/release.deployments.list.json) does, and all carry
// lastModifiedOn. Finished means succeeded, partiallySucceeded or failed,
// or notDeployed with an operation status that ends it (canceled, rejected,
// a failed gate or phase: the sample's notDeployed one is PhaseFailed); a
// notDeployed deployment still queued, pending or waiting is not.
func (d ReleaseDeployment) FinishedOn() (time.Time, bool) {
	if !d.CompletedOn.IsZero() {
		return d.CompletedOn.Time, true
	}
	if d.LastModifiedOn.IsZero() {
		return time.Time{}, false
	}
	switch strings.ToLower(d.DeploymentStatus) {
	case "succeeded", "partiallysucceeded", "failed":
		return d.LastModifiedOn.Time, true
	case "notdeployed":
		switch strings.ToLower(d.OperationStatus) {
		case "canceled", "rejected", "phasecanceled", "phasefailed", "phasesucceeded", "phasepartiallysucceeded", "gatefailed":
			return d.LastModifiedOn.Time, true
		}
	}
	return time.Time{}, false
}

// ReleaseArtifact is an artifact a release deployed: a build (Type "Build",
// version the build id) or a Git repository (Type "Git", version the commit,
// definition the repository id).
type ReleaseArtifact struct {
	Type                string                       `json:"type"`
	Alias               string                       `json:"alias"`
	IsPrimary           bool                         `json:"isPrimary"`
	DefinitionReference map[string]ArtifactSourceRef `json:"definitionReference"`
}

// ArtifactSourceRef is one entry of an artifact's definition reference.
type ArtifactSourceRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Ref returns the entry of the definition reference named key, whatever
// its case: REST answers write "version", event payloads "Version".
func (a ReleaseArtifact) Ref(key string) ArtifactSourceRef {
	for k, v := range a.DefinitionReference {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ArtifactSourceRef{}
}

// Release is a classic release with its artifacts.
type Release struct {
	ID        int               `json:"id"`
	Name      string            `json:"name"`
	Artifacts []ReleaseArtifact `json:"artifacts"`
}

// maxReleaseIDs bounds the ids of one Releases call (releaseIdFilter is a
// comma-separated list in the query string).
const maxReleaseIDs = 50

// Releases reads releases by id with their artifacts (Releases_List with
// releaseIdFilter and $expand=artifacts, on the release host; Release:
// Read). The release deployments list does not always carry them.
func (c *Client) Releases(ctx context.Context, project string, ids []int) ([]Release, error) {
	var out []Release
	for start := 0; start < len(ids); start += maxReleaseIDs {
		chunk := ids[start:min(start+maxReleaseIDs, len(ids))]
		parts := make([]string, len(chunk))
		for i, id := range chunk {
			parts[i] = strconv.Itoa(id)
		}
		v := url.Values{}
		v.Set("releaseIdFilter", strings.Join(parts, ","))
		v.Set("$expand", "artifacts")
		v.Set("$top", strconv.Itoa(len(chunk)))
		var l listOf[Release]
		if _, err := c.send(ctx, &call{ep: epReleases, method: http.MethodGet, release: true,
			path: seg(project) + "/_apis/release/releases", query: v}, &l); err != nil {
			return out, err
		}
		out = append(out, l.Value...)
	}
	return out, nil
}

// ReleaseDeploymentQuery filters the release deployments list.
type ReleaseDeploymentQuery struct {
	MinStartedTime, MaxStartedTime   time.Time
	MinModifiedTime, MaxModifiedTime time.Time
	// DeploymentStatus: succeeded, partiallySucceeded, failed, inProgress,
	// notDeployed or all.
	DeploymentStatus   string
	DefinitionID       int
	LatestAttemptsOnly bool
	// QueryOrder is descending (default) or ascending.
	QueryOrder string
	PageSize   int
}

// ReleaseDeployments iterates over a project's classic release deployments,
// on the release host (vsrm on Services, found through resourceAreas), with
// continuation token paging.
func (c *Client) ReleaseDeployments(ctx context.Context, project string, q ReleaseDeploymentQuery) iter.Seq2[ReleaseDeployment, error] {
	v := url.Values{}
	setTime(v, "minStartedTime", q.MinStartedTime)
	setTime(v, "maxStartedTime", q.MaxStartedTime)
	setTime(v, "minModifiedTime", q.MinModifiedTime)
	setTime(v, "maxModifiedTime", q.MaxModifiedTime)
	if q.DeploymentStatus != "" {
		v.Set("deploymentStatus", q.DeploymentStatus)
	}
	if q.DefinitionID != 0 {
		v.Set("definitionId", strconv.Itoa(q.DefinitionID))
	}
	if q.LatestAttemptsOnly {
		v.Set("latestAttemptsOnly", "true")
	}
	if q.QueryOrder != "" {
		v.Set("queryOrder", q.QueryOrder)
	}
	r := call{ep: epReleaseDeploys, method: http.MethodGet, release: true, path: seg(project) + "/_apis/release/deployments", query: v}
	return items(func(fn pageFunc[ReleaseDeployment]) error {
		return walkContinuation(ctx, c, r, "$top", q.PageSize, "", fn)
	})
}
