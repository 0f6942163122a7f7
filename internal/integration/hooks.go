package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pandev-metrics/pandev/internal/azdo"
	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/store"
)

// hookSpec is one service-hook subscription PanDev registers per project.
type hookSpec struct {
	path        string // our ingest endpoint (DESIGN.md's table)
	publisher   string
	eventType   string
	version     string     // resourceVersion
	scope       azdo.Scope // the PAT scope the publisher needs
	serverSince int        // first Server release that has the event (0: all)
}

// hookCatalog is what each selected project subscribes to (PROTOCOL §8).
var hookCatalog = []hookSpec{
	{"/v1/azure/webhook/project", "tfs", "git.push", "1.0", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/project", "tfs", "git.repo.created", "1.0-preview.1", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/project", "tfs", "git.repo.renamed", "1.0-preview.1", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/project", "tfs", "git.repo.deleted", "1.0-preview.1", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/merge-request", "tfs", "git.pullrequest.created", "1.0", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/merge-request", "tfs", "git.pullrequest.updated", "1.0", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/merge-request", "tfs", "git.pullrequest.merged", "1.0", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/merge-request", "tfs", "ms.vss-code.git-pullrequest-comment-event", "2.0", azdo.ScopeCodeRead, 0},
	{"/v1/azure/webhook/boards", "tfs", "workitem.created", "1.0", azdo.ScopeWorkItemsRead, 0},
	{"/v1/azure/webhook/boards", "tfs", "workitem.updated", "1.0", azdo.ScopeWorkItemsRead, 0},
	{"/v1/azure/webhook/boards", "tfs", "workitem.deleted", "1.0", azdo.ScopeWorkItemsRead, 0},
	{"/v1/azure/webhook/boards", "tfs", "workitem.restored", "1.0", azdo.ScopeWorkItemsRead, 0},
	{"/v1/azure/webhook/pipeline", "tfs", "build.complete", "2.0", azdo.ScopeBuildRead, 0},
	{"/v1/azure/webhook/pipeline", "pipelines", "ms.vss-pipelines.run-state-changed-event", "5.1-preview.1", azdo.ScopeBuildRead, 2020},
	{"/v1/azure/webhook/pipeline", "pipelines", "ms.vss-pipelines.stage-state-changed-event", "5.1-preview.1", azdo.ScopeBuildRead, 2020},
	// On Services the rm publisher lives on the release host (the client sends it there).
	{"/v1/azure/webhook/pipeline", "rm", "ms.vss-release.deployment-completed-event", "3.0-preview.1", azdo.ScopeReleaseRead, 0},
}

// versionFallback is the resourceVersion asked for when the server refuses
// the catalogue's (400): Azure DevOps Server 2019 has build.complete 1.0 and
// 2.0-preview.2 but not 2.0 (docs/simulator.md, "Strictness rules");
// applyBuild reads the 1.0 shape too.
var versionFallback = map[string]string{"build.complete": "1.0"}

// available reports whether the deployment has the event and the token the
// scope; otherwise why not.
func (h hookSpec) available(scopes map[string]string, dep azdo.Deployment) (bool, string) {
	if state := scopes[string(h.scope)]; state != string(azdo.ScopeGranted) && state != "" {
		return false, fmt.Sprintf("%s: the PAT lacks %s", h.eventType, azdo.ScopeLabel(h.scope))
	}
	if dep.Kind == azdo.Server && h.serverSince > 0 && serverYear(dep.Release) < h.serverSince {
		return false, fmt.Sprintf("%s: not available on Azure DevOps Server %s", h.eventType, dep.Release)
	}
	return true, ""
}

func serverYear(release string) int {
	var y int
	fmt.Sscanf(release, "%d", &y)
	return y
}

// skippedEvents lists the subscriptions a project goes without, and why.
func skippedEvents(scopes map[string]string, dep azdo.Deployment) []string {
	var out []string
	for _, h := range hookCatalog {
		if ok, why := h.available(scopes, dep); !ok {
			out = append(out, why)
		}
	}
	return out
}

// RegisterHooksArgs registers a selected project's service hooks.
type RegisterHooksArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"`
}

// Kind names the job.
func (RegisterHooksArgs) Kind() string { return "register_hooks" }

// RemoveHooksArgs removes a deselected project's service hooks.
type RemoveHooksArgs struct {
	IntegrationID string `json:"integration_id"`
	ProjectID     string `json:"project_id"`
}

// Kind names the job.
func (RemoveHooksArgs) Kind() string { return "remove_hooks" }

// Hook jobs are not unique: each is idempotent (it compares with what Azure
// DevOps has), and a project selected, deselected and selected again must
// get every job in order.

// Register adds the hook workers.
func (s *Service) Register(workers *river.Workers) {
	river.AddWorker(workers, &registerWorker{s: s})
	river.AddWorker(workers, &removeWorker{s: s})
	river.AddWorker(workers, &hookHealthWorker{s: s})
}

type registerWorker struct {
	river.WorkerDefaults[RegisterHooksArgs]
	s *Service
}

func (w *registerWorker) Work(ctx context.Context, job *river.Job[RegisterHooksArgs]) error {
	return w.s.jobError(ctx, job.Args.IntegrationID, w.s.RegisterHooks(ctx, job.Args.IntegrationID, job.Args.ProjectID))
}

type removeWorker struct {
	river.WorkerDefaults[RemoveHooksArgs]
	s *Service
}

func (w *removeWorker) Work(ctx context.Context, job *river.Job[RemoveHooksArgs]) error {
	return w.s.jobError(ctx, job.Args.IntegrationID, w.s.RemoveHooks(ctx, job.Args.IntegrationID, job.Args.ProjectID))
}

// jobError records errors an admin must fix on the integration (shown on
// the status page) and stops retrying them; other errors are retried.
func (s *Service) jobError(ctx context.Context, integrationID string, err error) error {
	if err == nil {
		return nil
	}
	switch delivery.KindOf(err) {
	case delivery.KindUnauthorized, delivery.KindForbidden, delivery.KindInvalid:
		var de *delivery.Error
		errors.As(err, &de)
		if serr := s.opts.DB.SetIntegrationError(ctx, integrationID, de.Message, de.Hint, s.opts.Now()); serr != nil {
			return serr
		}
		return river.JobCancel(err)
	}
	return err
}

// ourSubscription reports whether a subscription is one of this
// integration's (same ingest URL prefix, our basic-auth user).
func (s *Service) ourSubscription(sub azdo.Subscription, integrationID string) bool {
	return strings.HasPrefix(sub.ConsumerInputs["url"], s.webhookURL("/v1/azure/webhook/")) &&
		sub.ConsumerInputs["basicAuthUsername"] == integrationID
}

// RegisterHooks makes sure every available subscription of the project
// exists and is enabled: existing ones (same URL, event and project) are
// kept, ones Azure DevOps disabled are re-created (updating a subscription
// disabled by the system does not re-enable it), missing ones are created.
// Running it twice creates nothing twice. A subscription that fails for a
// passing reason (5xx, a cut connection) does not stop the others: the
// error is returned at the end and the job's retry creates what is still
// missing, so a flaky service converges in a few attempts instead of
// failing on the first of ten subscriptions each time.
func (s *Service) RegisterHooks(ctx context.Context, integrationID, projectID string) error {
	c, in, err := s.Client(ctx, integrationID)
	if delivery.IsNotFound(err) {
		return nil // the integration was deleted meanwhile
	}
	if err != nil {
		return err
	}
	p, err := s.opts.DB.GetProject(ctx, key(in), projectID)
	if err != nil || !p.Selected {
		return err // deselected meanwhile: the removal job takes over
	}
	hookSecret, err := s.opts.Keys.Open(in.WebhookSecretSealed, store.WebhookSecretSealContext(in.ID))
	if err != nil {
		return err
	}
	existing, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
	if err != nil {
		return err
	}
	var scopes map[string]string
	_ = jsonUnmarshal(in.Scopes, &scopes)
	dep, _ := c.Deployment(ctx)
	refused, err := s.refusedHooks(ctx, in, projectID)
	if err != nil {
		return err
	}
	var passing error
	for _, spec := range hookCatalog {
		if ok, _ := spec.available(scopes, dep); !ok || refused[spec.eventType] {
			continue
		}
		url := s.webhookURL(spec.path)
		var found *azdo.Subscription
		for i, sub := range existing {
			if sub.EventType == spec.eventType && sub.ProjectID() == projectID && sub.ConsumerInputs["url"] == url &&
				s.ourSubscription(sub, in.ID) {
				found = &existing[i]
				break
			}
		}
		if found != nil && found.Status != "onProbation" && healthy(found.Status) {
			if err := s.recordHook(ctx, in, projectID, *found); err != nil {
				return err
			}
			continue
		}
		if found != nil { // disabled or on probation (dropping events): delete and re-create
			if err := c.DeleteSubscription(ctx, found.ID); err != nil && !delivery.IsNotFound(err) {
				return err
			}
			if err := s.opts.DB.DeleteHookSubscription(ctx, in.ID, found.ID); err != nil {
				return err
			}
		}
		input := azdo.SubscriptionInput{
			PublisherID: spec.publisher, EventType: spec.eventType, ResourceVersion: spec.version,
			ConsumerID: "webHooks", ConsumerActionID: "httpRequest",
			PublisherInputs: map[string]string{"projectId": projectID},
			ConsumerInputs: map[string]string{"url": url, "basicAuthUsername": in.ID,
				"basicAuthPassword": hookSecret.Reveal(), "resourceDetailsToSend": "all",
				"messagesToSend": "none", "detailedMessagesToSend": "none"},
		}
		created, err := c.CreateSubscription(ctx, input)
		if fallback := versionFallback[spec.eventType]; err != nil && fallback != "" && badRequest(err) {
			// The server lacks this resourceVersion: the older one it has.
			input.ResourceVersion = fallback
			if again, ferr := c.CreateSubscription(ctx, input); !badRequest(ferr) {
				created, err = again, ferr
			}
		}
		if err != nil {
			switch k := delivery.KindOf(err); {
			case k == delivery.KindForbidden || k == delivery.KindUpstream || k == delivery.KindInvalid:
				// This subscription was refused (an event the server lacks, a
				// publisher the token may not read): keep the others, and mark
				// it unavailable with the reason until the token changes.
				s.opts.Logger.Warn("service hook refused", "project", projectID, "event", spec.eventType, "err", err)
				if rerr := s.opts.DB.UpsertHookSubscription(ctx, store.HookSubscription{Key: key(in),
					SubscriptionID: store.RefusedHookID(spec.eventType, projectID), ProjectID: projectID, EventType: spec.eventType,
					Status: store.HookUnavailable, Reason: refusalReason(err), CheckedAt: s.opts.Now()}); rerr != nil {
					return rerr
				}
				continue
			case (k == delivery.KindUnavailable || k == delivery.KindRateLimited) && ctx.Err() == nil:
				passing = errors.Join(passing, err)
				continue
			}
			return err
		}
		if err := s.recordHook(ctx, in, projectID, created); err != nil {
			return err
		}
	}
	if passing != nil {
		return passing
	}
	s.opts.Logger.Info("service hooks registered", "integration", in.ID, "project", projectID)
	return nil
}

// badRequest reports a 400 from Azure DevOps: the request, not the token.
func badRequest(err error) bool {
	var ae *azdo.APIError
	return errors.As(err, &ae) && ae.Status == http.StatusBadRequest
}

// refusedHooks are the event types Azure DevOps refused for a project.
func (s *Service) refusedHooks(ctx context.Context, in store.Integration, projectID string) (map[string]bool, error) {
	rows, err := s.opts.DB.ListHookSubscriptions(ctx, key(in), projectID)
	out := map[string]bool{}
	for _, h := range rows {
		if h.Status == store.HookUnavailable {
			out[h.EventType] = true
		}
	}
	return out, err
}

// refusalReason is what the status screen says about a refused subscription.
func refusalReason(err error) string {
	var de *delivery.Error
	if errors.As(err, &de) {
		if de.Hint != "" {
			return de.Message + ". " + de.Hint
		}
		return de.Message
	}
	return err.Error()
}

func healthy(status string) bool {
	return status == "enabled" || status == "onProbation" || status == ""
}

func (s *Service) recordHook(ctx context.Context, in store.Integration, projectID string, sub azdo.Subscription) error {
	status := sub.Status
	if status == "" {
		status = "enabled"
	}
	return s.opts.DB.UpsertHookSubscription(ctx, store.HookSubscription{Key: key(in), SubscriptionID: sub.ID,
		ProjectID: projectID, EventType: sub.EventType, Status: status, CheckedAt: s.opts.Now()})
}

// RemoveHooks deletes every subscription of this integration for the
// project (found through the API, not only our records, so none is left
// behind), unless the project was selected again meanwhile.
func (s *Service) RemoveHooks(ctx context.Context, integrationID, projectID string) error {
	c, in, err := s.Client(ctx, integrationID)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if p, err := s.opts.DB.GetProject(ctx, key(in), projectID); err == nil && p.Selected {
		return nil
	}
	subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.ProjectID() != projectID || !s.ourSubscription(sub, in.ID) {
			continue
		}
		if err := c.DeleteSubscription(ctx, sub.ID); err != nil && !delivery.IsNotFound(err) {
			return err
		}
	}
	recorded, err := s.opts.DB.ListHookSubscriptions(ctx, key(in), projectID)
	if err != nil {
		return err
	}
	for _, h := range recorded {
		if err := s.opts.DB.DeleteHookSubscription(ctx, in.ID, h.SubscriptionID); err != nil {
			return err
		}
	}
	s.opts.Logger.Info("service hooks removed", "integration", in.ID, "project", projectID, "count", len(recorded))
	return nil
}

// HookHealthArgs is the periodic check of every integration's hooks.
type HookHealthArgs struct{}

// Kind names the job.
func (HookHealthArgs) Kind() string { return "hook_health" }

// HookHealthSchedule checks hook health every interval (on the leader).
func HookHealthSchedule(interval time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return HookHealthArgs{}, nil }, nil)
}

type hookHealthWorker struct {
	river.WorkerDefaults[HookHealthArgs]
	s *Service
}

func (w *hookHealthWorker) Work(ctx context.Context, job *river.Job[HookHealthArgs]) error {
	ins, err := w.s.opts.DB.ListAllIntegrations(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, in := range ins {
		if in.Provider != Provider || in.DisconnectedAt != nil {
			continue
		}
		if err := w.s.jobError(ctx, in.ID, w.s.CheckHooks(ctx, in.ID)); err != nil && !isCancel(err) {
			errs = append(errs, fmt.Errorf("integration %s: %w", in.ID, err))
		}
	}
	return errors.Join(errs...)
}

func isCancel(err error) bool {
	var c *rivertype.JobCancelError
	return errors.As(err, &c)
}

// CheckHooks reads every subscription of the integration from Azure DevOps,
// records its state, and re-registers the hooks of any selected project
// whose subscriptions are missing, disabled or on probation too long —
// Azure DevOps drops new events while a subscription is on probation.
func (s *Service) CheckHooks(ctx context.Context, integrationID string) error {
	c, in, err := s.Client(ctx, integrationID)
	if delivery.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	subs, err := c.Subscriptions(ctx, azdo.SubscriptionFilter{ConsumerID: "webHooks"})
	if err != nil {
		return err
	}
	projects, err := s.opts.DB.ListProjects(ctx, key(in), true)
	if err != nil {
		return err
	}
	var scopes map[string]string
	_ = jsonUnmarshal(in.Scopes, &scopes)
	dep, _ := c.Deployment(ctx)
	want := 0
	for _, spec := range hookCatalog {
		if ok, _ := spec.available(scopes, dep); ok {
			want++
		}
	}
	for _, p := range projects {
		refused, err := s.refusedHooks(ctx, in, p.ProjectID)
		if err != nil {
			return err
		}
		want := want
		for _, spec := range hookCatalog {
			if ok, _ := spec.available(scopes, dep); ok && refused[spec.eventType] {
				want-- // refused until the token or its scopes change
			}
		}
		healthyCount := 0
		for _, sub := range subs {
			if sub.ProjectID() != p.ProjectID || !s.ourSubscription(sub, in.ID) {
				continue
			}
			if err := s.recordHook(ctx, in, p.ProjectID, sub); err != nil {
				return err
			}
			if sub.Status == "enabled" || sub.Status == "" {
				healthyCount++
			}
		}
		if healthyCount < want {
			s.opts.Logger.Warn("service hooks unhealthy; re-registering", "integration", in.ID, "project", p.ProjectID,
				"healthy", healthyCount, "want", want)
			if err := s.RegisterHooks(ctx, in.ID, p.ProjectID); err != nil {
				return err
			}
		}
	}
	return nil
}
