// Package prcomment keeps one quality comment on each pull request: posted
// once by the integration's account, found again by a marker the provider
// keeps with it, updated in place as the PR changes (at most once a
// minute), never on abandoned PRs or drafts, always through the job queue.
//
// The content, the settings, the lease, the state and the limits are
// provider-neutral; writing the comment is a Provider's (Azure DevOps: a
// thread with a property, prcomment/azure; GitHub: an issue comment with a
// hidden marker, prcomment/github).
package prcomment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// MinInterval is the least time between two updates of one PR's comment.
const MinInterval = time.Minute

// leaseTime bounds how long one job may hold a PR's comment.
const leaseTime = 2 * time.Minute

// historyWindow is how far back the repository comparisons look.
const historyWindow = 90 * 24 * time.Hour

// maxRateLimitWait bounds how long a rate-limited job waits (GitHub's
// primary limit resets within the hour).
const maxRateLimitWait = 65 * time.Minute

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

// Provider writes the comment on one provider's pull requests.
type Provider interface {
	// Provider is the integrations it writes for (store.Integration.Provider).
	Provider() string
	// Writer returns the writer of an integration, and the integration; a
	// delivery.KindNotFound error means the integration is gone.
	Writer(ctx context.Context, integrationID string) (Writer, store.Integration, error)
	// SettingsPath is where an admin turns the comments off, as the
	// comment's footer names it.
	SettingsPath() string
}

// Writer posts and updates one integration's comments.
type Writer interface {
	// Write makes content the PR's comment: it updates the comment loc
	// names; without one (or when that one was deleted) it looks for ours by
	// its marker before creating one, so a lost state row or a process
	// killed between create and save never makes a second comment. It sets
	// loc to where the comment is.
	Write(ctx context.Context, pr store.PullRequest, loc *Location, content string) error
	// Refused says, when err means the token may not write comments (a
	// missing permission or scope, an expired token), what to grant and how:
	// the message the PR comment status and the settings screen show. ""
	// when err is anything else.
	Refused(err error) string
}

// Location is where a PR's comment is: Azure DevOps' thread and its first
// comment; GitHub's issue comment (ThreadID 0).
type Location struct {
	ThreadID  int64
	CommentID int64
}

type txInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
}

// Service decides, builds and posts comments.
type Service struct {
	db        *store.DB
	providers map[string]Provider
	queue     txInserter
	logger    *slog.Logger
	now       func() time.Time
	every     time.Duration // least time between updates of one PR's comment
}

// New returns the Service; attach the providers and the queue once they
// exist. every is the least time between two updates of one comment (0:
// MinInterval).
func New(db *store.DB, logger *slog.Logger, now func() time.Time, every time.Duration) *Service {
	if every <= 0 {
		every = MinInterval
	}
	return &Service{db: db, providers: map[string]Provider{}, logger: logger, now: now, every: every}
}

// AttachProvider adds the writing of one provider's comments.
func (s *Service) AttachProvider(p Provider) { s.providers[p.Provider()] = p }

// settingsPath is where the integration's comments are turned off.
func (s *Service) settingsPath(in store.Integration) string {
	if p := s.providers[in.Provider]; p != nil {
		return p.SettingsPath()
	}
	return "Settings → Integrations"
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
	content, err := s.build(ctx, in, pr)
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

func (s *Service) build(ctx context.Context, in store.Integration, pr store.PullRequest) (string, error) {
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
		now: s.now(), settingsPath: s.settingsPath(in)}), nil
}

type worker struct {
	river.WorkerDefaults[Args]
	s *Service
}

func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	return w.s.post(ctx, job.Args)
}

// post posts or updates the PR's comment.
func (s *Service) post(ctx context.Context, a Args) error {
	in, err := s.db.GetIntegrationByID(ctx, a.IntegrationID)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	p := s.providers[in.Provider]
	if p == nil {
		return river.JobCancel(fmt.Errorf("no PR comments for provider %s in this version", in.Provider))
	}
	w, in, err := p.Writer(ctx, a.IntegrationID)
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
	content, err := s.build(ctx, in, pr)
	if err != nil {
		return err
	}
	hash := sha256.Sum256([]byte(content))
	hashHex := hex.EncodeToString(hash[:])
	if hashHex == state.ContentHash && state.CommentID != 0 {
		if state.Status == "posted" {
			return nil // nothing new to say
		}
		state.Status, state.Error, state.UpdatedAt = "posted", "", s.now() // the comment says it already
		return s.db.SavePRCommentState(ctx, state)
	}
	loc := Location{ThreadID: state.ThreadID, CommentID: state.CommentID}
	if err := w.Write(ctx, pr, &loc, content); err != nil {
		return s.failed(ctx, w, state, err)
	}
	now := s.now()
	state.ThreadID, state.CommentID = loc.ThreadID, loc.CommentID
	state.ContentHash, state.PostedAt, state.Status, state.Error, state.UpdatedAt = hashHex, &now, "posted", "", now
	state.Updates++
	return s.db.SavePRCommentState(ctx, state)
}

// failed records why posting failed. A token that may not write comments
// stops the job (Update token queues it again, RetryFailed); a spent rate
// limit snoozes it until the provider's retry-after (a snooze is not an
// attempt); others are retried with backoff.
func (s *Service) failed(ctx context.Context, w Writer, state store.PRCommentState, err error) error {
	var de *delivery.Error
	msg := err.Error()
	if errors.As(err, &de) {
		msg = de.Message
		if de.Hint != "" {
			msg += " — " + de.Hint
		}
	}
	refused := w.Refused(err)
	if refused != "" {
		msg = refused
	}
	kind := delivery.KindOf(err)
	if kind == delivery.KindRateLimited {
		wait := time.Minute
		if sec := delivery.RetryAfterSeconds(err); sec > 0 {
			wait = min(time.Duration(sec)*time.Second+time.Second, maxRateLimitWait)
		}
		s.logger.Info("rate limited: the PR comment waits", "integration", state.IntegrationID, "wait", wait.String())
		return river.JobSnooze(wait)
	}
	state.Status, state.Error, state.UpdatedAt = "failed", msg, s.now()
	if serr := s.db.SavePRCommentState(ctx, state); serr != nil {
		return serr
	}
	if refused != "" || kind == delivery.KindInvalid {
		return river.JobCancel(err)
	}
	return err
}

// RetryFailed queues again, in tx, the comment of each of the
// integration's PRs whose last attempt failed: Update token calls it, so a
// token given the missing permission posts what was refused.
func (s *Service) RetryFailed(ctx context.Context, tx *store.Tx, integrationID string) error {
	if s.queue == nil {
		return nil
	}
	refs, err := tx.ListPRCommentStates(ctx, integrationID, "failed")
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := s.queue.InsertTx(ctx, tx, Args{IntegrationID: ref.IntegrationID, RepoID: ref.RepoID, PRID: ref.PRID}, nil); err != nil {
			return err
		}
	}
	return nil
}
