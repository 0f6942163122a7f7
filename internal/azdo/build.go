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

// Build is one build (also a YAML pipeline run: the run id is the build id).
type Build struct {
	ID            int    `json:"id"`
	BuildNumber   string `json:"buildNumber"`
	Status        string `json:"status"` // none, inProgress, completed, cancelling, postponed, notStarted
	Result        string `json:"result"` // succeeded, partiallySucceeded, failed, canceled, none
	QueueTime     Time   `json:"queueTime"`
	StartTime     Time   `json:"startTime"`
	FinishTime    Time   `json:"finishTime"`
	Reason        string `json:"reason"`
	SourceBranch  string `json:"sourceBranch"`
	SourceVersion string `json:"sourceVersion"`
	Definition    struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
		Path string `json:"path"`
	} `json:"definition"`
	Repository struct {
		ID   string `json:"id"`
		Type string `json:"type"` // TfsGit, GitHub, …
		Name string `json:"name"`
	} `json:"repository"`
	RequestedFor IdentityRef       `json:"requestedFor"`
	TriggerInfo  map[string]string `json:"triggerInfo"`
	Project      ProjectRef        `json:"project"`
	Tags         []string          `json:"tags"`
	URI          string            `json:"uri"`
	URL          string            `json:"url"`
	Links        Links             `json:"_links"`
	Deleted      bool              `json:"deleted"`
}

// BuildQuery filters the builds list; zero fields are not sent.
type BuildQuery struct {
	// MinTime/MaxTime apply to the time QueryOrder sorts by.
	MinTime, MaxTime time.Time
	// QueryOrder is queueTimeDescending, finishTimeAscending, …
	QueryOrder     string
	StatusFilter   string
	ResultFilter   string
	ReasonFilter   string
	Definitions    []int
	BranchName     string
	RepositoryID   string
	RepositoryType string
	// DeletedFilter defaults to excludeDeleted: deleted builds stay
	// listable for a while and their timelines later answer 404.
	DeletedFilter string
	PageSize      int
	// ContinuationToken resumes a walk where an earlier one stopped.
	ContinuationToken string
}

// Builds iterates over a project's builds (continuation token paging).
func (c *Client) Builds(ctx context.Context, project string, q BuildQuery) iter.Seq2[Build, error] {
	v := url.Values{}
	setTime(v, "minTime", q.MinTime)
	setTime(v, "maxTime", q.MaxTime)
	for k, s := range map[string]string{"queryOrder": q.QueryOrder, "statusFilter": q.StatusFilter,
		"resultFilter": q.ResultFilter, "reasonFilter": q.ReasonFilter, "branchName": q.BranchName,
		"repositoryId": q.RepositoryID, "repositoryType": q.RepositoryType} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(q.Definitions) > 0 {
		ids := make([]string, len(q.Definitions))
		for i, d := range q.Definitions {
			ids[i] = strconv.Itoa(d)
		}
		v.Set("definitions", strings.Join(ids, ","))
	}
	deleted := q.DeletedFilter
	if deleted == "" {
		deleted = "excludeDeleted"
	}
	v.Set("deletedFilter", deleted)
	top := q.PageSize
	if top <= 0 {
		top = DefaultPageSize
	}
	r := call{ep: epBuilds, method: http.MethodGet, path: seg(project) + "/_apis/build/builds", query: v}
	return items(func(fn pageFunc[Build]) error {
		return walkContinuation(ctx, c, r, "$top", top, q.ContinuationToken, fn)
	})
}

// TimelineRecord is one stage, phase, job, task or checkpoint of a build.
type TimelineRecord struct {
	ID         string `json:"id"`
	ParentID   string `json:"parentId"`
	Type       string `json:"type"` // Stage, Phase, Job, Task, Checkpoint
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
	State      string `json:"state"`
	Result     string `json:"result"`
	StartTime  Time   `json:"startTime"`
	FinishTime Time   `json:"finishTime"`
	Attempt    int    `json:"attempt"`
	Order      int    `json:"order"`
	Log        *struct {
		ID  int    `json:"id"`
		URL string `json:"url"`
	} `json:"log"`
}

// Timeline is a build's timeline.
type Timeline struct {
	ID       string           `json:"id"`
	ChangeID int              `json:"changeId"`
	Records  []TimelineRecord `json:"records"`
}

// BuildTimeline reads a build's timeline (not paged). A build whose YAML
// failed to parse has none: the service answers 204, returned here as an
// empty Timeline. A cleaned-up deleted build answers 404 (KindNotFound).
func (c *Client) BuildTimeline(ctx context.Context, project string, buildID int) (Timeline, error) {
	var t Timeline
	_, err := c.send(ctx, &call{ep: epTimeline, method: http.MethodGet,
		path: seg(project) + "/_apis/build/builds/" + strconv.Itoa(buildID) + "/timeline"}, &t)
	return t, err
}

// Environment is a YAML pipeline environment.
type Environment struct {
	ID             int         `json:"id"`
	Name           string      `json:"name"`
	Description    string      `json:"description"`
	CreatedOn      Time        `json:"createdOn"`
	LastModifiedOn Time        `json:"lastModifiedOn"`
	CreatedBy      IdentityRef `json:"createdBy"`
}

// Environments lists a project's environments (continuation token paging).
// Server 2019 has none: the error is KindPrecondition wrapping ErrUnsupported.
func (c *Client) Environments(ctx context.Context, project string) ([]Environment, error) {
	r := call{ep: epEnvironments, method: http.MethodGet, path: seg(project) + "/_apis/distributedtask/environments"}
	return Collect(items(func(fn pageFunc[Environment]) error {
		return walkContinuation(ctx, c, r, "$top", DefaultPageSize, "", fn)
	}))
}

// EnvironmentDeploymentRecord is one deployment of a run's stage/job to an
// environment. Owner is the run (build).
type EnvironmentDeploymentRecord struct {
	ID            int    `json:"id"`
	EnvironmentID int    `json:"environmentId"`
	PlanID        string `json:"planId"`
	PlanType      string `json:"planType"`
	StageName     string `json:"stageName"`
	JobName       string `json:"jobName"`
	StageAttempt  int    `json:"stageAttempt"`
	JobAttempt    int    `json:"jobAttempt"`
	Definition    struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"definition"`
	Owner struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"owner"`
	QueueTime  Time   `json:"queueTime"`
	StartTime  Time   `json:"startTime"`
	FinishTime Time   `json:"finishTime"`
	Result     string `json:"result"`
}

// EnvironmentDeployments iterates over an environment's deployment records,
// newest first ("top" without $, continuation token paging).
func (c *Client) EnvironmentDeployments(ctx context.Context, project string, environmentID int) iter.Seq2[EnvironmentDeploymentRecord, error] {
	r := call{ep: epEnvRecords, method: http.MethodGet,
		path: seg(project) + "/_apis/distributedtask/environments/" + strconv.Itoa(environmentID) + "/environmentdeploymentrecords"}
	return items(func(fn pageFunc[EnvironmentDeploymentRecord]) error {
		return walkContinuation(ctx, c, r, "top", DefaultPageSize, "", fn)
	})
}
