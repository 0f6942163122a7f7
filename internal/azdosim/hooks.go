package azdosim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// subscription is a service hook subscription as the service stores it.
type subscription struct {
	ID               string
	onRelease        bool // created on the release host (Services mode): the rm publisher's
	PublisherID      string
	EventType        string
	ResourceVersion  string
	ConsumerID       string
	ConsumerActionID string
	PublisherInputs  map[string]string
	ConsumerInputs   map[string]string
	Status           string
	ProbationRetries int
	LastProbation    time.Time
	CreatedBy        int
	ModifiedBy       int
	Created          time.Time
	Modified         time.Time
	owner            *pat
}

// Consumer inputs the service never returns in clear text.
var confidentialInputs = map[string]bool{"basicauthpassword": true, "password": true, "apitoken": true,
	"usertoken": true, "accesstoken": true, "authtoken": true, "secret": true}

// publisherOf maps an event type to its publisher (PROTOCOL §8).
func publisherOf(eventType string) string {
	switch {
	case strings.HasPrefix(eventType, "ms.vss-release."):
		return "rm"
	case strings.HasPrefix(eventType, "ms.vss-pipelines."):
		return "pipelines"
	default:
		return "tfs"
	}
}

// scopeFor is the read scope a PAT needs to subscribe to an event type.
func scopeFor(eventType string) string {
	switch {
	case strings.HasPrefix(eventType, "git.") || strings.HasPrefix(eventType, "ms.vss-code.") || strings.HasPrefix(eventType, "tfvc."):
		return "vso.code"
	case strings.HasPrefix(eventType, "build.") || strings.HasPrefix(eventType, "ms.vss-pipelines."):
		return "vso.build"
	case strings.HasPrefix(eventType, "ms.vss-release."):
		return "vso.release"
	default:
		return "vso.work"
	}
}

var knownEvents = map[string]string{
	"git.push": "1.0", "git.pullrequest.created": "1.0", "git.pullrequest.updated": "1.0", "git.pullrequest.merged": "1.0",
	"ms.vss-code.git-pullrequest-comment-event": "2.0", "git.repo.created": "1.0-preview.1", "git.repo.deleted": "1.0-preview.1",
	"git.repo.renamed": "1.0-preview.1", "git.repo.forked": "1.0-preview.1", "git.repo.statuschanged": "1.0-preview.1",
	"build.complete": "2.0", "tfvc.checkin": "1.0",
	"ms.vss-pipelines.run-state-changed-event": "5.1-preview.1", "ms.vss-pipelines.stage-state-changed-event": "5.1-preview.1",
	"ms.vss-pipelines.job-state-changed-event": "5.1-preview.1",
	"ms.vss-release.deployment-started-event":  "3.0-preview.1", "ms.vss-release.deployment-completed-event": "3.0-preview.1",
	"ms.vss-release.deployment-approval-pending-event": "3.0-preview.1", "ms.vss-release.deployment-approval-completed-event": "3.0-preview.1",
	"ms.vss-release.release-created-event": "3.0-preview.1", "ms.vss-release.release-abandoned-event": "3.0-preview.1",
	"workitem.created": "1.0", "workitem.updated": "1.0", "workitem.deleted": "1.0", "workitem.restored": "1.0", "workitem.commented": "1.0",
}

type subscriptionBody struct {
	ID               string            `json:"id"`
	PublisherID      string            `json:"publisherId"`
	EventType        string            `json:"eventType"`
	ResourceVersion  string            `json:"resourceVersion"`
	ConsumerID       string            `json:"consumerId"`
	ConsumerActionID string            `json:"consumerActionId"`
	PublisherInputs  map[string]string `json:"publisherInputs"`
	ConsumerInputs   map[string]string `json:"consumerInputs"`
	Status           string            `json:"status"`
}

func hookError(msg string) *vssError {
	return &vssError{status: 400, typeKey: "ServiceHookException",
		typeName: "Microsoft.VisualStudio.Services.ServiceHooks.WebApi.ServiceHookException, Microsoft.VisualStudio.Services.ServiceHooks.WebApi",
		message:  msg}
}

func subNotFound(id string) *vssError {
	return notFound("SubscriptionNotFoundException",
		"Microsoft.VisualStudio.Services.ServiceHooks.WebApi.SubscriptionNotFoundException, Microsoft.VisualStudio.Services.ServiceHooks.WebApi",
		"VS1200002: Subscription "+id+" could not be found.")
}

// serverRefuses says why a Server release refuses a subscription to an event type (and
// resourceVersion) it does not have, or "". The answer is the 400 ServiceHookException of any
// unknown event type (hookError); its wording is an inference (no capture of this refusal).
//
//   - Pipelines events exist from Server 2020, the job-state event only on Services: PROTOCOL §8,
//     and the service hooks events page of MicrosoftDocs/azure-devops-docs (docs/service-hooks/events.md,
//     2022 edition) lists the Pipelines events under `moniker range=">= azure-devops-2020 < azure-devops"`
//     and "Run job state changed" under `moniker range="=azure-devops"` only.
//   - Server 2019 has no git.repo.* events, no ms.vss-code.git-pullrequest-comment-event and no
//     build.complete resourceVersion 2.0: the service's event catalogue of 2018 (the docs data
//     behind the publishers reference, samples/rest/hooks.publishers.list.docs-data.json) lists
//     for the tfs publisher tfvc.checkin, workitem.*, git.pullrequest.created/updated/merged,
//     git.push, build.complete (supportedResourceVersions 1.0, 2.0-preview.2, 1.0-preview.1) and
//     message.posted, nothing else; the pull request comment event came with Sprint 155 in 2019
//     (MicrosoftDocs/azure-devops-docs#10207). That Server 2019 has the 2018 catalogue and no
//     later event is an inference: it shipped from the service's code of that time.
//   - Server 2020 and 2022 have the rest: no source says otherwise.
func serverRefuses(version, eventType, resourceVersion string) string {
	notHere := "VS1200005: The event type " + eventType + " is not supported by this server."
	switch {
	case eventType == "ms.vss-pipelines.job-state-changed-event":
		return notHere
	case version != "2019":
		return ""
	case strings.HasPrefix(eventType, "ms.vss-pipelines.") || strings.HasPrefix(eventType, "git.repo.") ||
		eventType == "ms.vss-code.git-pullrequest-comment-event":
		return notHere
	case eventType == "build.complete" && resourceVersion != "" && !slices.Contains([]string{"1.0", "2.0-preview.2", "1.0-preview.1"}, resourceVersion):
		return "The resource version " + resourceVersion + " is not supported by event type build.complete. Supported versions: 1.0, 2.0-preview.2, 1.0-preview.1."
	}
	return ""
}

// validate checks a create/replace body the way the service rejects bad subscriptions.
func (q *rq) validateSubscription(b *subscriptionBody) error {
	if b.EventType == "" {
		return hookError("VS1200004: The event type must be specified.")
	}
	if _, ok := knownEvents[b.EventType]; !ok {
		return hookError("VS1200005: The event type " + b.EventType + " is not supported by publisher " + b.PublisherID + ".")
	}
	if q.s.isServer() {
		if why := serverRefuses(q.s.opts.ServerVersion, b.EventType, b.ResourceVersion); why != "" {
			return hookError(why)
		}
	}
	if b.PublisherID == "" {
		b.PublisherID = publisherOf(b.EventType)
	}
	if b.PublisherID != publisherOf(b.EventType) {
		return hookError("VS1200005: The event type " + b.EventType + " is not supported by publisher " + b.PublisherID + ".")
	}
	// On Services the rm publisher lives on the release host (vsrm) and nowhere else: the main
	// host answers 400 "There is no registered handler for the service hooks event type …"
	// (MicrosoftDocs/feedback#916), and the release host knows only rm.
	if !q.s.isServer() && (b.PublisherID == "rm") != q.releaseHost {
		return hookError("There is no registered handler for the service hooks event type " + b.EventType + ".")
	}
	if b.ConsumerID == "" || b.ConsumerActionID == "" {
		return hookError("VS1200006: The consumer and consumer action must be specified.")
	}
	if strings.EqualFold(b.ConsumerID, "webHooks") {
		u, err := url.Parse(b.ConsumerInputs["url"])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return hookError("VS1200007: The value of consumer input 'url' is not a valid absolute URL.")
		}
	}
	if pid := b.PublisherInputs["projectId"]; pid != "" && q.s.org.project(pid) == nil {
		return hookError("VS1200008: The project " + pid + " does not exist.")
	}
	if !q.pat.has([]string{scopeFor(b.EventType), "vso.hooks_write"}) {
		return tf400813(q.s.org.idents[q.pat.user].ID)
	}
	if b.ResourceVersion == "" {
		b.ResourceVersion = knownEvents[b.EventType]
		if b.EventType == "build.complete" && q.s.isServer() && q.s.opts.ServerVersion == "2019" {
			b.ResourceVersion = "1.0" // the only released version there (serverRefuses)
		}
	}
	return nil
}

func (s *Sim) subscriptionObj(sub *subscription, mask bool) obj {
	b := s.base()
	ci := obj{}
	for k, v := range sub.ConsumerInputs {
		if mask && confidentialInputs[strings.ToLower(k)] {
			v = "********"
		}
		ci[k] = v
	}
	pi := obj{}
	for k, v := range sub.PublisherInputs {
		pi[k] = v
	}
	who := func(i int) obj {
		id := s.org.idents[i]
		return obj{"displayName": id.Name, "id": id.ID, "uniqueName": id.Email, "descriptor": id.Descriptor}
	}
	desc := "Any"
	if r := s.org.repo(nil, sub.PublisherInputs["repository"]); r != nil {
		desc = "Repository " + r.Name
	} else if p := s.org.project(sub.PublisherInputs["projectId"]); p != nil {
		desc = "Project " + p.Name
	}
	host := sub.ConsumerInputs["url"]
	if u, err := url.Parse(host); err == nil {
		host = u.Host
	}
	lastProb := "0001-01-01T00:00:00Z"
	if !sub.LastProbation.IsZero() {
		lastProb = timeNano(sub.LastProbation)
	}
	u := b + "/_apis/hooks/subscriptions/" + sub.ID
	return obj{"id": sub.ID, "url": u, "status": sub.Status, "publisherId": sub.PublisherID, "eventType": sub.EventType,
		"subscriber": nil, "resourceVersion": sub.ResourceVersion, "eventDescription": desc,
		"consumerId": sub.ConsumerID, "consumerActionId": sub.ConsumerActionID, "actionDescription": "To host " + host,
		"probationRetries": sub.ProbationRetries, "createdBy": who(sub.CreatedBy), "createdDate": timeNano(sub.Created),
		"modifiedBy": who(sub.ModifiedBy), "modifiedDate": timeNano(sub.Modified), "lastProbationRetryDate": lastProb,
		"publisherInputs": pi, "consumerInputs": ci,
		"_links": obj{"self": obj{"href": u}, "consumer": obj{"href": b + "/_apis/hooks/consumers/" + sub.ConsumerID},
			"actions":       obj{"href": b + "/_apis/hooks/consumers/" + sub.ConsumerID + "/actions"},
			"notifications": obj{"href": u + "/notifications"}, "publisher": obj{"href": b + "/_apis/hooks/publishers/" + sub.PublisherID}}}
}

func hSubscriptionList(q *rq) error {
	h := q.s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []any
	for _, sub := range h.sortedSubs() {
		if sub.onRelease != q.releaseHost {
			continue // each host lists its own subscriptions
		}
		if v := q.query("publisherId"); v != "" && !strings.EqualFold(v, sub.PublisherID) {
			continue
		}
		if v := q.query("eventType"); v != "" && !strings.EqualFold(v, sub.EventType) {
			continue
		}
		if v := q.query("consumerId"); v != "" && !strings.EqualFold(v, sub.ConsumerID) {
			continue
		}
		if v := q.query("consumerActionId"); v != "" && !strings.EqualFold(v, sub.ConsumerActionID) {
			continue
		}
		out = append(out, q.s.subscriptionObj(sub, true))
	}
	return q.list(out)
}

func (h *hookEngine) sortedSubs() []*subscription {
	subs := make([]*subscription, 0, len(h.subs))
	for _, s := range h.subs {
		subs = append(subs, s)
	}
	sort.Slice(subs, func(i, j int) bool {
		if !subs[i].Created.Equal(subs[j].Created) {
			return subs[i].Created.Before(subs[j].Created)
		}
		return subs[i].ID < subs[j].ID
	})
	return subs
}

func hSubscriptionCreate(q *rq) error {
	var b subscriptionBody
	if err := q.decode(&b); err != nil {
		return err
	}
	if err := q.validateSubscription(&b); err != nil {
		return err
	}
	h := q.s.hooks
	now := q.s.clock.Now()
	h.mu.Lock()
	h.n++
	sub := &subscription{ID: guid(q.s.org.seed^uint64(now.UnixNano()), "subscription", h.n), PublisherID: b.PublisherID,
		EventType: b.EventType, ResourceVersion: b.ResourceVersion, ConsumerID: b.ConsumerID, ConsumerActionID: b.ConsumerActionID,
		PublisherInputs: copyInputs(b.PublisherInputs), ConsumerInputs: copyInputs(b.ConsumerInputs), Status: "enabled",
		CreatedBy: q.pat.user, ModifiedBy: q.pat.user, Created: now, Modified: now, owner: q.pat, onRelease: q.releaseHost}
	sub.PublisherInputs["tfsSubscriptionId"] = guid(q.s.org.seed^uint64(now.UnixNano()), "tfssub", h.n)
	sub.PublisherInputs["hostId"] = q.s.org.id
	h.subs[sub.ID] = sub
	out := q.s.subscriptionObj(sub, true)
	h.mu.Unlock()
	h.signal()
	return q.writeJSON(200, out)
}

func copyInputs(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func hSubscriptionGet(q *rq) error {
	h := q.s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	sub := h.subs[strings.ToLower(q.vars["subscriptionId"])]
	if sub == nil || sub.onRelease != q.releaseHost {
		return subNotFound(q.vars["subscriptionId"])
	}
	return q.writeJSON(200, q.s.subscriptionObj(sub, true))
}

// hSubscriptionReplace updates a subscription. Masked confidential inputs keep their stored value;
// a disabledBySystem subscription stays disabled unless the body sets a status (the behaviour
// Sentry saw, getsentry/sentry#10407).
func hSubscriptionReplace(q *rq) error {
	var b subscriptionBody
	if err := q.decode(&b); err != nil {
		return err
	}
	id := q.vars["subscriptionId"]
	if id == "" {
		id = b.ID
	}
	h := q.s.hooks
	h.mu.Lock()
	sub := h.subs[strings.ToLower(id)]
	h.mu.Unlock()
	if sub == nil || sub.onRelease != q.releaseHost {
		return subNotFound(id)
	}
	if err := q.validateSubscription(&b); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ci := copyInputs(b.ConsumerInputs)
	for k, v := range ci {
		if v == "********" && confidentialInputs[strings.ToLower(k)] {
			ci[k] = sub.ConsumerInputs[k]
		}
	}
	pi := copyInputs(b.PublisherInputs)
	pi["tfsSubscriptionId"] = sub.PublisherInputs["tfsSubscriptionId"]
	pi["hostId"] = sub.PublisherInputs["hostId"]
	sub.PublisherID, sub.EventType, sub.ResourceVersion = b.PublisherID, b.EventType, b.ResourceVersion
	sub.ConsumerID, sub.ConsumerActionID = b.ConsumerID, b.ConsumerActionID
	sub.PublisherInputs, sub.ConsumerInputs = pi, ci
	switch b.Status {
	case "enabled", "disabledByUser":
		if sub.Status != "disabledBySystem" || b.Status == "disabledByUser" {
			sub.Status = b.Status
		}
	case "onProbation", "disabledBySystem", "disabledByInactiveIdentity", "":
	}
	sub.ModifiedBy, sub.Modified = q.pat.user, q.s.clock.Now()
	return q.writeJSON(200, q.s.subscriptionObj(sub, true))
}

func hSubscriptionDelete(q *rq) error {
	h := q.s.hooks
	h.mu.Lock()
	id := strings.ToLower(q.vars["subscriptionId"])
	sub := h.subs[id]
	if sub != nil && sub.onRelease != q.releaseHost {
		sub = nil // the other host's subscription
	}
	if sub != nil {
		delete(h.subs, id)
	}
	h.mu.Unlock()
	if sub == nil {
		return subNotFound(q.vars["subscriptionId"])
	}
	q.w.WriteHeader(204)
	return nil
}

func hNotifications(q *rq) error {
	h := q.s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	id := strings.ToLower(q.vars["subscriptionId"])
	if h.subs[id] == nil {
		return subNotFound(q.vars["subscriptionId"])
	}
	byNotif := map[int][]deliveryRecord{}
	var order []int
	for _, d := range h.log {
		if strings.ToLower(d.SubscriptionID) != id || d.NotificationID == 0 {
			continue
		}
		if _, ok := byNotif[d.NotificationID]; !ok {
			order = append(order, d.NotificationID)
		}
		byNotif[d.NotificationID] = append(byNotif[d.NotificationID], d)
	}
	render := func(n int) obj {
		atts := byNotif[n]
		last := atts[len(atts)-1]
		result, status := "pending", "processing"
		switch last.Outcome {
		case "succeeded":
			result, status = "succeeded", "completed"
		case "failed", "disabled", "dropped":
			result, status = "failed", "completed"
		}
		return obj{"id": n, "eventId": last.EventID, "subscriptionId": last.SubscriptionID, "status": status, "result": result,
			"createdDate": timeNano(atts[0].Time), "modifiedDate": timeNano(last.Time), "subscriberId": q.s.org.idents[0].ID,
			"details": obj{"eventType": last.EventType, "requestAttempts": len(atts), "queuedDate": timeNano(atts[0].Time),
				"completedDate": timeNano(last.Time), "errorMessage": last.Error,
				"response": fmt.Sprintf("Status Code: %d", last.StatusCode)}}
	}
	if nid := q.vars["notificationId"]; nid != "" {
		var n int
		fmt.Sscan(nid, &n)
		if byNotif[n] == nil {
			return notFound("NotificationNotFoundException", "Microsoft.VisualStudio.Services.ServiceHooks.WebApi.NotificationNotFoundException, Microsoft.VisualStudio.Services.ServiceHooks.WebApi", "Notification "+nid+" was not found.")
		}
		return q.writeJSON(200, render(n))
	}
	var out []any
	for i := len(order) - 1; i >= 0; i-- {
		out = append(out, render(order[i]))
	}
	return q.list(out)
}

// hTestNotification sends one sample event to a subscription's consumer (subscriptionId
// 00000000-… as the real test deliveries carry) and answers the queued Notification.
func hTestNotification(q *rq) error {
	var body struct {
		SubscriptionID string `json:"subscriptionId"`
		Details        struct {
			PublisherID      string            `json:"publisherId"`
			EventType        string            `json:"eventType"`
			ConsumerID       string            `json:"consumerId"`
			ConsumerActionID string            `json:"consumerActionId"`
			PublisherInputs  map[string]string `json:"publisherInputs"`
			ConsumerInputs   map[string]string `json:"consumerInputs"`
		} `json:"details"`
	}
	if err := q.decode(&body); err != nil {
		return err
	}
	h := q.s.hooks
	var target subscription
	if body.SubscriptionID != "" {
		h.mu.Lock()
		sub := h.subs[strings.ToLower(body.SubscriptionID)]
		if sub != nil {
			target = *sub
		}
		h.mu.Unlock()
		if sub == nil {
			return subNotFound(body.SubscriptionID)
		}
	} else {
		d := body.Details
		target = subscription{PublisherID: d.PublisherID, EventType: d.EventType, ConsumerID: d.ConsumerID,
			ConsumerActionID: d.ConsumerActionID, PublisherInputs: d.PublisherInputs, ConsumerInputs: d.ConsumerInputs,
			ResourceVersion: knownEvents[d.EventType]}
	}
	if _, ok := knownEvents[target.EventType]; !ok {
		return hookError("VS1200005: The event type " + target.EventType + " is not supported.")
	}
	ev, err := q.s.sampleEvent(target.EventType)
	if err != nil {
		return err
	}
	target.ID = "00000000-0000-0000-0000-000000000000"
	n := h.enqueueTest(&target, ev)
	now := q.s.clock.Now()
	return q.writeJSON(200, obj{"id": n, "eventId": ev.ID, "subscriptionId": target.ID, "status": "queued", "result": "pending",
		"createdDate": timeNano(now), "modifiedDate": timeNano(now),
		"details": obj{"eventType": target.EventType, "publisherId": target.PublisherID, "consumerId": target.ConsumerID,
			"consumerActionId": target.ConsumerActionID, "publisherInputs": target.PublisherInputs, "queuedDate": timeNano(now)}})
}

//go:embed data/hooks.publishers.list.docs-data.json
var publishersJSON []byte

//go:embed data/hooks.consumers.list.docs-data.json
var consumersJSON []byte

//go:embed data/hooks.publishers.eventtypes.list.json
var eventTypesJSON []byte

// The publisher and consumer catalogues are static on the real service; they are served from the
// docs data with the host rewritten.
func (q *rq) catalogue(raw []byte) (any, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		if r, ok := m["responses"].(map[string]any); ok {
			v = r["200"].(map[string]any)["body"]
		}
	}
	b, _ := json.Marshal(v)
	s := strings.ReplaceAll(string(b), "https://dev.azure.com/fabrikam", q.s.base())
	s = strings.ReplaceAll(s, "https://fabrikam.visualstudio.com/DefaultCollection", q.s.base())
	var out any
	err := json.Unmarshal([]byte(s), &out)
	return out, err
}

func hPublishers(q *rq) error {
	v, err := q.catalogue(publishersJSON)
	if err != nil {
		return err
	}
	return q.writeJSON(200, v)
}

func hEventTypes(q *rq) error {
	v, err := q.catalogue(eventTypesJSON)
	if err != nil {
		return err
	}
	return q.writeJSON(200, v)
}

func hConsumers(q *rq) error {
	v, err := q.catalogue(consumersJSON)
	if err != nil {
		return err
	}
	list, _ := v.(map[string]any)
	if id := q.vars["consumerId"]; id != "" && list != nil {
		for _, c := range list["value"].([]any) {
			if strings.EqualFold(c.(map[string]any)["id"].(string), id) {
				return q.writeJSON(200, c)
			}
		}
		return notFound("ConsumerNotFoundException", "Microsoft.VisualStudio.Services.ServiceHooks.WebApi.ConsumerNotFoundException, Microsoft.VisualStudio.Services.ServiceHooks.WebApi", "Consumer "+id+" was not found.")
	}
	return q.writeJSON(200, v)
}
