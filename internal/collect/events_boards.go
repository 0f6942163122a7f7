package collect

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/store"
)

// applyWorkItem stores a work item from created/updated/restored/deleted
// events. An updated event's resource is the update; the item's full state
// is in resource.revision. The revision number orders versions.
func applyWorkItem(ctx context.Context, tx *store.Tx, ev event) (string, error) {
	var r struct {
		ID         int64          `json:"id"`
		WorkItemID int64          `json:"workItemId"`
		Rev        int            `json:"rev"`
		Fields     workItemFields `json:"fields"`
		Relations  []relation     `json:"relations"`
		Revision   *struct {
			ID        int64          `json:"id"`
			Rev       int            `json:"rev"`
			Fields    workItemFields `json:"fields"`
			Relations []relation     `json:"relations"`
		} `json:"revision"`
	}
	if err := decodeResource(ev, &r); err != nil {
		return "", err
	}
	id, rev, fields, relations := r.ID, r.Rev, r.Fields, r.Relations
	if r.Revision != nil { // workitem.updated
		id, rev, fields, relations = r.Revision.ID, r.Revision.Rev, r.Revision.Fields, r.Revision.Relations
		if r.WorkItemID != 0 {
			id = r.WorkItemID
		}
	}
	if id == 0 {
		return "", &badPayload{err: errors.New("work item event without an id")}
	}
	state := fields.str("System.State")
	created := fields.time("System.CreatedDate").or(ev.CreatedDate)
	row := store.WorkItem{Key: ev.Key, WorkItemID: id, ProjectID: ev.ProjectID, Rev: rev,
		Type: fields.str("System.WorkItemType"), Title: fields.str("System.Title"), State: state,
		StateCategory: stateCategory(state), Tags: fields.str("System.Tags"), AreaPath: fields.str("System.AreaPath"),
		CreatedAt: created, ChangedAt: fields.time("System.ChangedDate").or(ev.CreatedDate),
		ResolvedAt: fields.time("Microsoft.VSTS.Common.ResolvedDate").ptr(),
		ClosedAt:   fields.time("Microsoft.VSTS.Common.ClosedDate").ptr(),
		IsDeleted:  ev.EventType == "workitem.deleted"}
	wrote, err := tx.UpsertWorkItem(ctx, row)
	if err != nil {
		return "", err
	}
	if !wrote {
		return "older than the stored revision", nil
	}
	for _, rel := range relations {
		if err := linkArtifact(ctx, tx, ev.Key, id, rel); err != nil {
			return "", err
		}
	}
	return "", nil
}

// linkArtifact stores a work item's artifact link to a commit
// (vstfs:///Git/Commit/{project}%2F{repo}%2F{sha}) or a pull request
// (vstfs:///Git/PullRequestId/{project}%2F{repo}%2F{id}).
func linkArtifact(ctx context.Context, tx *store.Tx, k store.Key, workItemID int64, rel relation) error {
	if rel.Rel != "ArtifactLink" {
		return nil
	}
	kind, rest, ok := strings.Cut(strings.TrimPrefix(rel.URL, "vstfs:///Git/"), "/")
	if !ok {
		return nil
	}
	decoded, err := url.PathUnescape(rest)
	if err != nil {
		return nil
	}
	parts := strings.Split(decoded, "/")
	if len(parts) != 3 {
		return nil
	}
	switch kind {
	case "Commit":
		return tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, WorkItemID: workItemID, TargetKind: "commit",
			TargetID: parts[1] + ":" + parts[2], Origin: "artifact"})
	case "PullRequestId":
		if _, err := strconv.ParseInt(parts[2], 10, 64); err != nil {
			return nil
		}
		return tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, WorkItemID: workItemID, TargetKind: "pull_request",
			TargetID: parts[2], Origin: "artifact"})
	}
	return nil
}
