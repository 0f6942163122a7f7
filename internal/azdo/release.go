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
