package azure

import (
	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/store"
)

// Keys of Azure DevOps items in the store (docs/adr/0016-providers-seam.md):
// a PR is keyed by its repository and number, a work item by its container
// and id.

// azureContainer is the work item container of Azure DevOps: work item
// ids are unique per collection, so one container holds them all.
const azureContainer = ""

// azureWorkItem is an Azure DevOps work item's key.
func azureWorkItem(id int64) store.WorkItemRef {
	return store.WorkItemRef{Container: azureContainer, ID: id}
}

// azurePR is a fetched Azure DevOps PR's key.
func azurePR(integrationID string, pr azdo.PullRequest) store.PRRef {
	return store.PRRef{IntegrationID: integrationID, RepoID: pr.Repository.ID, PRID: int64(pr.PullRequestID)}
}

// ref is a PR event's key.
func (pr pullRequest) ref(integrationID string) store.PRRef {
	return store.PRRef{IntegrationID: integrationID, RepoID: pr.Repository.ID, PRID: pr.PullRequestID}
}
