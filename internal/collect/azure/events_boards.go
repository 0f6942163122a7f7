package azure

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/pandev-metrics/pandev/internal/collect"
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
		return "", collect.Unreadable(errors.New("work item event without an id"))
	}
	state := fields.str("System.State")
	created := fields.time("System.CreatedDate").or(ev.At)
	row := store.WorkItem{Key: ev.Key, Container: azureContainer, WorkItemID: id, ProjectID: ev.ProjectID, Rev: rev,
		Type: fields.str("System.WorkItemType"), Title: fields.str("System.Title"), State: state,
		StateCategory: stateCategory(state), Tags: fields.str("System.Tags"), AreaPath: fields.str("System.AreaPath"),
		CreatedAt: created, ChangedAt: fields.time("System.ChangedDate").or(ev.At),
		ResolvedAt: fields.time("Microsoft.VSTS.Common.ResolvedDate").ptr(),
		ClosedAt:   fields.time("Microsoft.VSTS.Common.ClosedDate").ptr(),
		IsDeleted:  ev.EventType == "workitem.deleted"}
	if r.Revision != nil {
		// The updated event carries the change (System.State old → new) but
		// not always the item's ResolvedDate or ClosedDate (the sample has
		// neither): a transition into a Resolved or Completed state category
		// resolves the item at that update's System.ChangedDate (METRICS.md,
		// Incident). The store keeps the first such time while the state stays.
		transitionTimes(&row, r.Fields)
	}
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
// (vstfs:///Git/PullRequestId/{project}%2F{repo}%2F{id}, target
// "<repo>:<id>": the PR's key).
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
		return tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, Container: azureContainer, WorkItemID: workItemID,
			TargetKind: "commit", TargetID: parts[1] + ":" + parts[2], Origin: "artifact"})
	case "PullRequestId":
		id, err := strconv.ParseInt(parts[2], 10, 64)
		if err != nil || parts[1] == "" {
			return nil
		}
		return tx.AddWorkItemLink(ctx, store.WorkItemLink{Key: k, Container: azureContainer, WorkItemID: workItemID,
			TargetKind: "pull_request", TargetID: store.PRTarget(parts[1], id), Origin: "artifact"})
	}
	return nil
}

// transitionTimes fills a work item's ResolvedAt or ClosedAt from the state
// change of a work item update (fields of old and new values), where the
// revision did not carry the date field.
func transitionTimes(row *store.WorkItem, update workItemFields) {
	var state struct {
		Old string `json:"oldValue"`
		New string `json:"newValue"`
	}
	var changed struct {
		New azTime `json:"newValue"`
	}
	if json.Unmarshal(update["System.State"], &state) != nil || state.New == "" {
		return
	}
	at := row.ChangedAt
	if json.Unmarshal(update["System.ChangedDate"], &changed) == nil {
		at = changed.New.or(at)
	}
	before, after := stateCategory(state.Old), stateCategory(state.New)
	switch {
	case after == "Resolved" && before != "Resolved" && before != "Completed" && row.ResolvedAt == nil:
		row.ResolvedAt = &at
	case after == "Completed" && before != "Completed" && row.ClosedAt == nil:
		row.ClosedAt = &at
	}
}
