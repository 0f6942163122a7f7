package azdosim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// event is one occurrence that service hooks may deliver.
type event struct {
	ID        string
	Type      string
	Publisher string
	ProjectID string
	Filters   map[string]string // values publisherInputs are matched against
	Message   obj
	Detailed  obj
	Resource  obj
	// ResourceV1 is the legacy resource shape for events with two versions (build.complete 1.0).
	ResourceV1 obj
	Version    string
	Created    time.Time
}

// deliveryRecord is one entry of GET /_sim/deliveries.
type deliveryRecord struct {
	SubscriptionID string    `json:"subscription_id"`
	NotificationID int       `json:"notification_id"`
	EventID        string    `json:"event_id"`
	EventType      string    `json:"event_type"`
	URL            string    `json:"url,omitempty"`
	Attempt        int       `json:"attempt"`
	StatusCode     int       `json:"status_code"`
	Error          string    `json:"error,omitempty"`
	Outcome        string    `json:"outcome"` // succeeded | retrying | failed | probation | disabled | lost_on_probation | dropped | paused
	Time           time.Time `json:"time"`
}

// Transient backoff (8 retries) and probation schedule (7 retries), PROTOCOL §8.
var (
	transientBackoff = []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 32 * time.Second, 60 * time.Second, 60 * time.Second}
	probationBackoff = []time.Duration{20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 160 * time.Minute,
		320 * time.Minute, 640 * time.Minute, 900 * time.Minute}
)

// job is one notification on its way to a consumer.
type job struct {
	sub       *subscription
	ev        *event
	notif     int
	body      []byte
	due       time.Time
	transient int // transient retries used
	probation int // probation retries used; >0 means this is the probation notification
	test      bool
	seq       int
}

// hookEngine stores subscriptions and delivers events with the service's retry semantics. Due
// times are in simulated time: advancing the clock (or a retry scale below 1) compresses them.
type hookEngine struct {
	s    *Sim
	mu   sync.Mutex
	subs map[string]*subscription
	n    int

	mode       string // deliver | pause | drop
	retryScale float64
	queue      []*job
	log        []deliveryRecord
	notif      int
	seq        int
	wake       chan struct{}
	waiters    []chan struct{}
	client     *http.Client
	insecure   *http.Client
	wg         sync.WaitGroup
}

func newHookEngine(s *Sim) *hookEngine {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return &hookEngine{s: s, subs: map[string]*subscription{}, mode: "deliver", retryScale: 1,
		wake: make(chan struct{}, 1), client: &http.Client{Timeout: 20 * time.Second},
		insecure: &http.Client{Timeout: 20 * time.Second, Transport: tr}}
}

func (h *hookEngine) start(ctx context.Context) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.run(ctx)
	}()
}

func (h *hookEngine) wait() { h.wg.Wait() }

// signal wakes the worker and anyone waiting for delivery progress.
func (h *hookEngine) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
	h.mu.Lock()
	ws := h.waiters
	h.waiters = nil
	h.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// changed returns a channel closed at the next delivery-state change (tests wait on it).
func (h *hookEngine) changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	h.waiters = append(h.waiters, ch)
	return ch
}

func (h *hookEngine) record(d deliveryRecord) {
	h.log = append(h.log, d)
	if len(h.log) > 100000 {
		h.log = h.log[len(h.log)-50000:]
	}
}

// matches applies the subscription's publisherInputs filters to an event.
func (sub *subscription) matches(ev *event) bool {
	if !strings.EqualFold(sub.EventType, ev.Type) || !strings.EqualFold(sub.PublisherID, ev.Publisher) {
		return false
	}
	for k, want := range sub.PublisherInputs {
		if want == "" {
			continue
		}
		switch k {
		case "tfsSubscriptionId", "hostId":
			continue
		case "projectId":
			if !strings.EqualFold(want, ev.ProjectID) {
				return false
			}
			continue
		}
		got, ok := ev.Filters[k]
		if !ok {
			continue // a filter this event does not carry does not exclude it
		}
		switch k {
		case "branch":
			if !strings.EqualFold(strings.TrimPrefix(want, "refs/heads/"), strings.TrimPrefix(got, "refs/heads/")) {
				return false
			}
		case "tag":
			if !containsFold(strings.Split(got, ";"), want) {
				return false
			}
		case "changedFields", "pullrequestReviewersContains":
			if !containsFold(strings.Split(got, ","), want) {
				return false
			}
		case "areaPath":
			if !strings.HasPrefix(strings.ToLower(got), strings.ToLower(want)) {
				return false
			}
		default:
			if !strings.EqualFold(want, got) {
				return false
			}
		}
	}
	return true
}

func containsFold(list []string, want string) bool {
	for _, w := range strings.Split(want, ",") {
		for _, g := range list {
			if strings.EqualFold(strings.TrimSpace(g), strings.TrimSpace(w)) {
				return true
			}
		}
	}
	return false
}

// publish queues an event for every matching subscription. Subscriptions on probation lose new
// events, as on the real service.
func (h *hookEngine) publish(ev *event) {
	if ev == nil {
		return
	}
	h.mu.Lock()
	now := h.s.clock.Now()
	for _, sub := range h.sortedSubs() {
		if !sub.matches(ev) {
			continue
		}
		rec := deliveryRecord{SubscriptionID: sub.ID, EventID: ev.ID, EventType: ev.Type, Time: now, URL: sub.ConsumerInputs["url"]}
		switch {
		case sub.Status == "onProbation":
			rec.Outcome = "lost_on_probation"
			h.record(rec)
			continue
		case sub.Status != "enabled":
			continue
		case h.mode == "drop":
			rec.Outcome = "dropped"
			h.record(rec)
			continue
		}
		h.notif++
		j := &job{sub: sub, ev: ev, notif: h.notif, due: now}
		j.body = h.s.envelope(sub, ev, j.notif)
		h.seq++
		j.seq = h.seq
		h.queue = append(h.queue, j)
	}
	h.mu.Unlock()
	h.signal()
}

func (h *hookEngine) enqueueTest(sub *subscription, ev *event) int {
	h.mu.Lock()
	h.notif++
	j := &job{sub: sub, ev: ev, notif: h.notif, due: h.s.clock.Now(), test: true}
	j.body = h.s.envelope(sub, ev, j.notif)
	h.seq++
	j.seq = h.seq
	h.queue = append(h.queue, j)
	n := h.notif
	h.mu.Unlock()
	h.signal()
	return n
}

// next pops the earliest due job, or reports how long to wait.
func (h *hookEngine) next(now time.Time) (*job, time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mode == "pause" || len(h.queue) == 0 {
		return nil, time.Hour
	}
	sort.SliceStable(h.queue, func(i, j int) bool {
		if !h.queue[i].due.Equal(h.queue[j].due) {
			return h.queue[i].due.Before(h.queue[j].due)
		}
		return h.queue[i].seq < h.queue[j].seq
	})
	j := h.queue[0]
	if j.due.After(now) {
		return nil, j.due.Sub(now)
	}
	h.queue = h.queue[1:]
	return j, 0
}

func (h *hookEngine) run(ctx context.Context) {
	for {
		j, wait := h.next(h.s.clock.Now())
		if j != nil {
			h.attempt(ctx, j)
			continue
		}
		clockCh := h.s.clock.changed()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-h.wake:
		case <-clockCh:
		case <-t.C:
		}
		t.Stop()
	}
}

// attempt POSTs one notification and applies the failure semantics.
func (h *hookEngine) attempt(ctx context.Context, j *job) {
	sub := j.sub
	h.mu.Lock()
	gone := !j.test && h.subs[strings.ToLower(sub.ID)] != sub
	h.mu.Unlock()
	if gone {
		return // deleted (or replaced) while the notification was waiting for a retry
	}
	code, errMsg := h.post(ctx, j)
	now := h.s.clock.Now()
	rec := deliveryRecord{SubscriptionID: sub.ID, NotificationID: j.notif, EventID: j.ev.ID, EventType: j.ev.Type,
		URL: sub.ConsumerInputs["url"], Attempt: 1 + j.transient + j.probation, StatusCode: code, Error: errMsg, Time: now}
	ok := code >= 200 && code < 300
	transient := code == 0 || code == 408 || code == 502 || code == 503 || code == 504
	var retryIn time.Duration
	h.mu.Lock()
	switch {
	case ok:
		rec.Outcome = "succeeded"
		if !j.test && sub.Status == "onProbation" {
			sub.Status, sub.ProbationRetries = "enabled", 0
		}
	case j.test:
		rec.Outcome = "failed"
	case code == 410:
		rec.Outcome = "disabled"
		sub.Status = "disabledBySystem"
	case transient && j.transient < len(transientBackoff) && j.probation == 0:
		rec.Outcome = "retrying"
		retryIn = transientBackoff[j.transient]
		j.transient++
	case j.probation >= len(probationBackoff):
		rec.Outcome = "disabled"
		sub.Status = "disabledBySystem"
	default:
		// Enduring failure: probation, retrying only this notification on the long schedule.
		rec.Outcome = "probation"
		if sub.Status == "enabled" {
			sub.Status = "onProbation"
		}
		if sub.Status == "onProbation" {
			retryIn = probationBackoff[j.probation]
			j.probation++
			sub.ProbationRetries = j.probation
			sub.LastProbation = now
		}
	}
	h.record(rec)
	if retryIn > 0 {
		j.due = now.Add(time.Duration(float64(retryIn) * h.retryScale))
		h.seq++
		j.seq = h.seq
		h.queue = append(h.queue, j)
	}
	h.mu.Unlock()
	h.s.log.Debug("azdo-sim delivery", "subscription", sub.ID, "event", j.ev.Type, "status", code, "outcome", rec.Outcome)
	h.signal()
}

func (h *hookEngine) post(ctx context.Context, j *job) (int, string) {
	in := j.sub.ConsumerInputs
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in["url"], bytes.NewReader(j.body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	for _, line := range strings.Split(in["httpHeaders"], "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) != "" {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	if in["basicAuthUsername"] != "" || in["basicAuthPassword"] != "" {
		req.SetBasicAuth(in["basicAuthUsername"], in["basicAuthPassword"])
	}
	c := h.client
	if strings.EqualFold(in["acceptUntrustedCerts"], "true") {
		c = h.insecure
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode, ""
}

// envelope renders the POST body for one subscription (PROTOCOL §8 "Envelope").
func (s *Sim) envelope(sub *subscription, ev *event, notif int) []byte {
	base := s.base() + "/"
	res := ev.Resource
	if ev.ResourceV1 != nil && strings.HasPrefix(sub.ResourceVersion, "1.") {
		res = ev.ResourceV1
	}
	version := ev.Version
	if ev.ResourceV1 != nil && sub.ResourceVersion != "" {
		version = sub.ResourceVersion
	}
	switch strings.ToLower(sub.ConsumerInputs["resourceDetailsToSend"]) {
	case "none":
		res = nil
	case "minimal":
		min := obj{}
		for _, k := range []string{"id", "url", "pullRequestId", "pushId", "workItemId", "runId", "buildNumber", "status"} {
			if v, ok := res[k]; ok {
				min[k] = v
			}
		}
		res = min
	}
	env := obj{"subscriptionId": sub.ID, "notificationId": notif, "id": ev.ID, "eventType": ev.Type, "publisherId": ev.Publisher,
		"message": ev.Message, "detailedMessage": ev.Detailed, "resource": res, "resourceVersion": version,
		"resourceContainers": obj{"collection": obj{"id": s.org.id, "baseUrl": base}, "account": obj{"id": s.org.instanceID, "baseUrl": base},
			"project": obj{"id": ev.ProjectID, "baseUrl": base}},
		"createdDate": timeNano(ev.Created), "scope": "all"}
	if strings.EqualFold(sub.ConsumerInputs["messagesToSend"], "none") {
		delete(env, "message")
	}
	if strings.EqualFold(sub.ConsumerInputs["detailedMessagesToSend"], "none") {
		delete(env, "detailedMessage")
	}
	b, _ := json.Marshal(env)
	return b
}

// deliveries returns a copy of the delivery log.
func (h *hookEngine) deliveries() []deliveryRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]deliveryRecord(nil), h.log...)
}
