// Package prcomment keeps one quality comment on each pull request: posted
// once by the integration's account, found again by a thread property,
// updated in place as the PR changes (at most once a minute), never on
// abandoned PRs or drafts, always through the job queue.
package prcomment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// MinInterval is the least time between two updates of one PR's comment.
const MinInterval = time.Minute

// leaseTime bounds how long one job may hold a PR's comment.
const leaseTime = 2 * time.Minute

// historyWindow is how far back the repository comparisons look.
const historyWindow = 90 * 24 * time.Hour

// SettingsPath is where an admin turns comments off.
const SettingsPath = "Settings → Integrations → Azure DevOps → Advanced"

// Args is the job that posts or updates one PR's comment.
type Args struct {
	IntegrationID string `json:"integration_id"`
	// RepoID is empty in a job queued before PRs were keyed per
	// repository (migration 00017): its number names one Azure DevOps PR.
	RepoID string `json:"repo_id,omitempty"`
	PRID   int64  `json:"pr_id"`
}

func (a Args) ref() store.PRRef {
	return store.PRRef{IntegrationID: a.IntegrationID, RepoID: a.RepoID, PRID: a.PRID}
}

// Kind names the job.
func (Args) Kind() string { return "pr_comment" }

// Every PR change queues a job (River's uniqueness would skip a change that
// arrives while a job runs, and lose it). Jobs of one PR take turns through
// a lease in the database, and a job with nothing new to say posts nothing.

// ClientSource gives an integration's Azure DevOps client.
type ClientSource interface {
	Client(ctx context.Context, integrationID string) (*azdo.Client, store.Integration, error)
}

type txInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Service decides, builds and posts comments.
type Service struct {
	db      *store.DB
	clients ClientSource
	queue   txInserter
	logger  *slog.Logger
	now     func() time.Time
	every   time.Duration // least time between updates of one PR's comment
}

// New returns the Service; attach the queue once it exists. every is the
// least time between two updates of one comment (0: MinInterval).
func New(db *store.DB, clients ClientSource, logger *slog.Logger, now func() time.Time, every time.Duration) *Service {
	if every <= 0 {
		every = MinInterval
	}
	return &Service{db: db, clients: clients, logger: logger, now: now, every: every}
}

// AttachQueue sets the job queue.
func (s *Service) AttachQueue(q txInserter) { s.queue = q }

// Register adds the comment worker.
func (s *Service) Register(workers *river.Workers) { river.AddWorker(workers, &worker{s: s}) }

func readSettings(in store.Integration) store.Settings { return store.ParseSettings(in.Settings) }

// enabled applies the workspace toggle and the per-project override.
func enabled(st store.Settings, projectID string) bool {
	if on, ok := st.ProjectComments[projectID]; ok {
		return on
	}
	return st.PostPRComments
}

// skipReason says why a PR gets no comment, or "".
func skipReason(st store.Settings, pr store.PullRequest) string {
	switch {
	case !enabled(st, pr.ProjectID):
		return "PR comments are off for this project"
	case pr.Status == "abandoned":
		return "the PR is abandoned"
	case pr.IsDraft && !st.CommentOnDrafts:
		return "the PR is a draft"
	}
	return ""
}

// PRChanged is called, in the transaction that stored a PR change, by the
// collector; it queues the comment job when comments are on.
func (s *Service) PRChanged(ctx context.Context, tx *store.Tx, workspaceID string, ref store.PRRef) error {
	if s.queue == nil {
		return nil
	}
	in, err := tx.GetIntegrationByID(ctx, ref.IntegrationID)
	if err != nil {
		return err
	}
	pr, err := tx.GetPullRequest(ctx, workspaceID, ref)
	if err != nil {
		return err
	}
	if skipReason(readSettings(in), pr) != "" {
		return nil
	}
	return s.queue.InsertTx(ctx, tx, Args{IntegrationID: ref.IntegrationID, RepoID: ref.RepoID, PRID: ref.PRID}, nil)
}

// Preview builds the comment a PR would get now, without posting. A ref
// without a repository names the PR by its number alone, which must be
// unique in the integration (Azure DevOps numbers PRs per collection).
func (s *Service) Preview(ctx context.Context, workspaceID string, ref store.PRRef) (string, string, error) {
	in, err := s.db.GetIntegration(ctx, workspaceID, ref.IntegrationID)
	if err != nil {
		return "", "", err
	}
	pr, err := s.pullRequest(ctx, workspaceID, ref)
	if err != nil {
		return "", "", err
	}
	content, err := s.build(ctx, pr)
	return content, skipReason(readSettings(in), pr), err
}

// pullRequest reads the PR ref names; without a repository, the one PR of
// the integration with that number.
func (s *Service) pullRequest(ctx context.Context, workspaceID string, ref store.PRRef) (store.PullRequest, error) {
	if ref.RepoID != "" {
		return s.db.GetPullRequest(ctx, workspaceID, ref)
	}
	prs, err := s.db.PullRequestsNumbered(ctx, workspaceID, ref.IntegrationID, ref.PRID)
	switch {
	case err != nil:
		return store.PullRequest{}, err
	case len(prs) == 0:
		return store.PullRequest{}, delivery.ErrNotFound
	case len(prs) > 1:
		return store.PullRequest{}, delivery.Errorf(delivery.KindInvalid, "pull request #%d is in %d repositories", ref.PRID, len(prs)).
			WithHint("name its repository too (repository=<repository id>)")
	}
	return prs[0], nil
}

func (s *Service) build(ctx context.Context, pr store.PullRequest) (string, error) {
	details, err := s.db.GetPRDetails(ctx, pr.Ref())
	if err != nil {
		return "", err
	}
	size, err := s.db.GetPRSize(ctx, pr.Ref())
	if err != nil {
		return "", err
	}
	history, err := s.db.ListRepoPRs(ctx, pr.IntegrationID, pr.RepoID, s.now().Add(-historyWindow))
	if err != nil {
		return "", err
	}
	return render(facts{pr: pr, details: details, size: size, history: history, threshold: p90(history),
		now: s.now(), settingsPath: SettingsPath}), nil
}

type worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	return w.s.post(ctx, job.Args)
}

// post posts or updates the PR's comment thread.
func (s *Service) post(ctx context.Context, a Args) error {
	c, in, err := s.clients.Client(ctx, a.IntegrationID)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	a.IntegrationID = in.ID
	pr, err := s.pullRequest(ctx, in.WorkspaceID, a.ref())
	if delivery.IsNotFound(err) {
		return nil
	}
	if delivery.KindOf(err) == delivery.KindInvalid {
		return river.JobCancel(err) // an old job's number in several repositories stays ambiguous
	}
	if err != nil {
		return err
	}
	key := store.Key{IntegrationID: in.ID, WorkspaceID: in.WorkspaceID}
	leased, err := s.db.LeasePRComment(ctx, in.WorkspaceID, pr.Ref(), s.now(), s.now().Add(leaseTime))
	if err != nil {
		return err
	}
	if !leased {
		return river.JobSnooze(time.Second) // another job of this PR is posting
	}
	defer s.db.ReleasePRComment(context.WithoutCancel(ctx), pr.Ref()) //nolint:errcheck // the lease also expires
	state, err := s.db.GetPRCommentState(ctx, pr.Ref())               // read under the lease: the last job may just have posted
	if err != nil {
		return err
	}
	state.Key = key
	if reason := skipReason(readSettings(in), pr); reason != "" {
		state.Status, state.Error, state.UpdatedAt = "skipped", reason, s.now()
		return s.db.SavePRCommentState(ctx, state)
	}
	if state.PostedAt != nil {
		if wait := state.PostedAt.Add(s.every).Sub(s.now()); wait > 0 {
			return river.JobSnooze(wait) // at most one update a minute
		}
	}
	content, err := s.build(ctx, pr)
	if err != nil {
		return err
	}
	hash := sha256.Sum256([]byte(content))
	hashHex := hex.EncodeToString(hash[:])
	if hashHex == state.ContentHash && state.ThreadID != 0 {
		return nil // nothing new to say
	}
	if err := s.write(ctx, c, pr, &state, content); err != nil {
		return s.failed(ctx, state, err)
	}
	now := s.now()
	state.ContentHash, state.PostedAt, state.Status, state.Error, state.UpdatedAt = hashHex, &now, "posted", "", now
	state.Updates++
	return s.db.SavePRCommentState(ctx, state)
}

// write updates the known comment, or finds our thread by its property, or
// creates it.
func (s *Service) write(ctx context.Context, c *azdo.Client, pr store.PullRequest, state *store.PRCommentState, content string) error {
	if state.ThreadID == 0 {
		threads, err := c.PullRequestThreads(ctx, pr.ProjectID, pr.RepoID, int(pr.PRID))
		if err != nil {
			return err
		}
		for _, t := range threads {
			if _, ours := t.Properties[Marker]; ours && !t.IsDeleted && len(t.Comments) > 0 {
				state.ThreadID, state.CommentID = int64(t.ID), int64(t.Comments[0].ID)
				break
			}
		}
	}
	if state.ThreadID != 0 {
		_, err := c.UpdateComment(ctx, pr.ProjectID, pr.RepoID, int(pr.PRID), int(state.ThreadID), int(state.CommentID), content)
		if !delivery.IsNotFound(err) {
			return err
		}
		state.ThreadID, state.CommentID = 0, 0 // the thread was deleted: post a new one
	}
	t, err := c.CreateThread(ctx, pr.ProjectID, pr.RepoID, int(pr.PRID), azdo.NewThread{Content: content,
		Properties: map[string]string{Marker: "1"}})
	if err != nil {
		return err
	}
	if len(t.Comments) == 0 {
		return errors.New("the created thread has no comment")
	}
	state.ThreadID, state.CommentID = int64(t.ID), int64(t.Comments[0].ID)
	return nil
}

// failed records why posting failed. Errors an admin must fix (the PAT
// lacks the scope) stop the job; others are retried with backoff.
func (s *Service) failed(ctx context.Context, state store.PRCommentState, err error) error {
	var de *delivery.Error
	msg := err.Error()
	if errors.As(err, &de) {
		msg = de.Message
		if de.Hint != "" {
			msg += " — " + de.Hint
		}
	}
	if k := delivery.KindOf(err); k == delivery.KindUnauthorized || k == delivery.KindForbidden {
		_, fix := azdo.ScopeAdvice(azdo.ScopeThreadsWrite)
		msg = "PR comments cannot be posted: the PAT lacks Pull Request Threads: Read & write, or has expired — " + fix
	}
	state.Status, state.Error, state.UpdatedAt = "failed", msg, s.now()
	if serr := s.db.SavePRCommentState(ctx, state); serr != nil {
		return serr
	}
	switch delivery.KindOf(err) {
	case delivery.KindUnauthorized, delivery.KindForbidden, delivery.KindInvalid:
		return river.JobCancel(err)
	}
	return err
}
