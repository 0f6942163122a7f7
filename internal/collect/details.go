package collect

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// DetailsArgs asks for what an event does not carry, right after the event
// is applied, so that the figures it moves are exact without waiting for a
// reconcile:
//   - a push's commits come without parents (samples/events/git.push.json),
//     so the commit graph cannot place them: what a deployment changed, and
//     lead time, need them;
//   - a classic release deployment's event names its release but not the
//     artifacts it deployed (samples/events/ms.vss-release.deployment-
//     completed-event.json): the deployed commit comes from the release;
//   - a completed pull request's event carries its reviewers' votes but not
//     when they voted, nor its comments (review activity) or its commits'
//     author dates: PR flow needs them, and a PR whose earlier events were
//     never delivered (created before the backfill window) has none stored.
//
// One job per push or PR (unique by its arguments); the source's
// ProjectClient.Details reads the commits through the commits list from
// the push's new head, or the PR with its commits and its threads, as the
// backfill does. When done it marks the event processed again, which moves
// the dashboard's data version. The list above is Azure DevOps'; the
// fields are a source's to fill as its events need.
type DetailsArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"`
	RepoID        string `json:"repo_id"`
	EventID       string `json:"event_id"`
	// A push: its new head and how many commits it brought.
	Head    string `json:"head,omitempty"`
	Commits int    `json:"commits,omitempty"`
	// A completed pull request.
	PRID int `json:"pr_id,omitempty"`
	// A classic release whose deployment completed.
	ReleaseID int `json:"release_id,omitempty"`
}

// Kind names the job in the queue.
func (DetailsArgs) Kind() string { return "event_details" }

// InsertOpts: at most one job per push or PR waiting or running; a few
// attempts (a reconcile reads the same later anyway).
func (DetailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: notCompleted}}
}

type detailsWorker struct {
	river.WorkerDefaults[DetailsArgs]
	c *Collector
}

func (w *detailsWorker) Work(ctx context.Context, job *river.Job[DetailsArgs]) error {
	return w.c.Details(ctx, job.Args)
}

// Details reads and stores what args asks for.
func (c *Collector) Details(ctx context.Context, args DetailsArgs) error {
	src, _, err := c.sourceOf(ctx, args.IntegrationID)
	if err != nil && !delivery.IsNotFound(err) {
		return err
	}
	if src == nil {
		return nil // gone since, or no source: its reconciliation reads the same
	}
	client, in, err := src.Client(ctx, args.IntegrationID)
	if delivery.IsNotFound(err) {
		return nil // disconnected since
	}
	if err != nil {
		return err
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	p, err := c.db.GetProject(ctx, key, args.ProjectID)
	if delivery.IsNotFound(err) || err == nil && !p.Selected {
		return nil
	}
	if err != nil {
		return err
	}
	s := c.newRun(key, p, time.Time{}, c.now(), true)
	if err := client.Project(s).Details(ctx, args); err != nil {
		return err
	}
	if args.PRID != 0 && args.RepoID != "" && c.prObserver != nil {
		// The PR's commits, reviews and comments are stored now: the PR
		// observer hears it, so a PR comment built before them (its size
		// "not known yet", or a push's new commits missing) is brought up
		// to date.
		ref := store.PRRef{IntegrationID: in.ID, RepoID: args.RepoID, PRID: int64(args.PRID)}
		err := c.db.InTx(ctx, func(tx *store.Tx) error { return c.prObserver.PRChanged(ctx, tx, in.WorkspaceID, ref) })
		if err != nil && !delivery.IsNotFound(err) {
			return err
		}
	}
	return c.db.MarkInboxEvent(ctx, args.IntegrationID, args.EventID, statusProcessed, "", c.now())
}
