package azdo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// WorkItemRef is {id, url} as WIQL returns it.
type WorkItemRef struct {
	ID  int    `json:"id"`
	URL string `json:"url"`
}

// FieldRef names a work item field.
type FieldRef struct {
	ReferenceName string `json:"referenceName"`
	Name          string `json:"name"`
	URL           string `json:"url,omitempty"`
}

// WorkItemLink is one row of a link query.
type WorkItemLink struct {
	Rel    string       `json:"rel"`
	Source *WorkItemRef `json:"source"`
	Target *WorkItemRef `json:"target"`
}

// WiqlResult is a WIQL answer: ids only (flat) or links.
type WiqlResult struct {
	QueryType         string         `json:"queryType"`
	QueryResultType   string         `json:"queryResultType"`
	AsOf              Time           `json:"asOf"`
	Columns           []FieldRef     `json:"columns"`
	WorkItems         []WorkItemRef  `json:"workItems"`
	WorkItemRelations []WorkItemLink `json:"workItemRelations"`
}

// IDs returns the work item ids of a flat result.
func (r WiqlResult) IDs() []int {
	ids := make([]int, len(r.WorkItems))
	for i, w := range r.WorkItems {
		ids[i] = w.ID
	}
	return ids
}

// Wiql runs a WIQL query in a project (or the whole organization when project
// is empty). top caps the result (0 = none). Without a top, a query matching
// more work items than the service returns (20,000 on Services) fails with a
// *WiqlLimitError in its chain (errors.As): split it and ask again. Dates are
// compared with time precision, not by day. A read-only POST: retried.
func (c *Client) Wiql(ctx context.Context, project, query string, top int) (WiqlResult, error) {
	v := url.Values{"timePrecision": {"true"}}
	if top > 0 {
		v.Set("$top", strconv.Itoa(top))
	}
	var out WiqlResult
	_, err := c.send(ctx, &call{ep: epWiql, method: http.MethodPost, path: projectPrefix(project) + "_apis/wit/wiql",
		query: v, body: map[string]string{"query": query}, idempotent: true}, &out)
	return out, err
}

// WorkItemRelation is one relation of a work item (needs Expand "relations").
type WorkItemRelation struct {
	Rel        string         `json:"rel"`
	URL        string         `json:"url"`
	Attributes map[string]any `json:"attributes"`
}

// WorkItem is a work item with its fields (System.Title, System.State, …).
type WorkItem struct {
	ID        int                `json:"id"`
	Rev       int                `json:"rev"`
	Fields    map[string]any     `json:"fields"`
	Relations []WorkItemRelation `json:"relations,omitempty"`
	URL       string             `json:"url"`
}

// Field returns a field's value as text ("" when absent); identity fields
// give the display name.
func (w WorkItem) Field(name string) string {
	switch v := w.Fields[name].(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case map[string]any:
		if s, ok := v["displayName"].(string); ok {
			return s
		}
	}
	return fmt.Sprint(w.Fields[name])
}

// WorkItemsOptions shapes a batch read. Fields and Expand cannot be combined.
type WorkItemsOptions struct {
	Fields []string
	// Expand is none, relations, fields, links or all.
	Expand string
	AsOf   time.Time
}

// MaxWorkItemsPerBatch is the service's cap on ids per workitemsbatch call.
const MaxWorkItemsPerBatch = 200

// WorkItems reads work items through POST workitemsbatch, 200 ids per call,
// skipping ids that no longer exist (errorPolicy omit).
func (c *Client) WorkItems(ctx context.Context, project string, ids []int, o WorkItemsOptions) ([]WorkItem, error) {
	if len(o.Fields) > 0 && o.Expand != "" && o.Expand != "none" {
		return nil, &delivery.Error{Kind: delivery.KindInternal, Message: "work items: fields and $expand cannot be combined"}
	}
	var out []WorkItem
	for start := 0; start < len(ids); start += MaxWorkItemsPerBatch {
		chunk := ids[start:min(start+MaxWorkItemsPerBatch, len(ids))]
		body := map[string]any{"ids": chunk, "errorPolicy": "omit"}
		if len(o.Fields) > 0 {
			body["fields"] = o.Fields
		}
		if o.Expand != "" {
			body["$expand"] = o.Expand
		}
		if !o.AsOf.IsZero() {
			body["asOf"] = o.AsOf.UTC().Format(time.RFC3339Nano)
		}
		var l listOf[*WorkItem]
		if _, err := c.send(ctx, &call{ep: epWorkItemsBatch, method: http.MethodPost,
			path: projectPrefix(project) + "_apis/wit/workitemsbatch", body: body, idempotent: true}, &l); err != nil {
			return out, err
		}
		for _, w := range l.Value {
			if w != nil { // errorPolicy omit answers null for missing ids
				out = append(out, *w)
			}
		}
	}
	return out, nil
}

// WorkItemUpdate is one update of a work item (Updates_List): the fields
// it changed, each with its old and new value.
type WorkItemUpdate struct {
	ID          int                    `json:"id"`
	Rev         int                    `json:"rev"`
	RevisedDate Time                   `json:"revisedDate"`
	Fields      map[string]FieldChange `json:"fields"`
}

// FieldChange is a field's value before and after an update.
type FieldChange struct {
	OldValue any `json:"oldValue"`
	NewValue any `json:"newValue"`
}

// updatesPageSize is the $top of the updates list; the service returns at
// most 200 per page (an inference: the spec gives no maximum).
const updatesPageSize = 200

// WorkItemUpdates lists a work item's updates, oldest first ($top/$skip).
// It needs Work Items: Read only, and tells when the item changed state
// where its fields carry no ResolvedDate or ClosedDate.
func (c *Client) WorkItemUpdates(ctx context.Context, project string, id int) ([]WorkItemUpdate, error) {
	var out []WorkItemUpdate
	r := call{ep: epWorkItemUpdates, method: http.MethodGet, path: projectPrefix(project) + "_apis/wit/workItems/" + strconv.Itoa(id) + "/updates"}
	err := walkTopSkip(ctx, c, r, "$top", "$skip", updatesPageSize, 0, func(page []WorkItemUpdate) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

func projectPrefix(project string) string {
	if project == "" {
		return ""
	}
	return seg(project) + "/"
}
