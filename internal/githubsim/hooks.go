package githubsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Repository webhooks (docs "Webhook events and payloads", "Validating webhook deliveries",
// "Handling failed webhook deliveries"):
//   - a delivery is a POST with X-GitHub-Event, X-GitHub-Delivery (a GUID), X-GitHub-Hook-ID,
//     X-GitHub-Hook-Installation-Target-Type/-ID, User-Agent "GitHub-Hookshot/<id>",
//     X-Hub-Signature-256 ("sha256=" + hex HMAC-SHA256 of the body with the secret) and the
//     legacy X-Hub-Signature (sha1) when a secret is set;
//   - content_type json sends the payload as the body, form sends payload=<urlencoded json>;
//   - "GitHub does not automatically redeliver failed deliveries": the only second attempt is a
//     redelivery through POST .../deliveries/{id}/attempts (or the UI), recorded with
//     redelivery=true and the same GUID;
//   - a receiver that "takes longer than 10 seconds to respond" fails the delivery;
//   - creating a webhook sends it a ping event.

// HookEvents are the events the simulator delivers.
var HookEvents = []string{"ping", "push", "pull_request", "pull_request_review", "pull_request_review_comment", "issues",
	"issue_comment", "workflow_run", "deployment", "deployment_status"}

const hookTimeout = 10 * time.Second

type delivery struct {
	id          int64
	guid        string
	hook        *hook
	repo        *repo
	event       string
	action      string
	payload     []byte // the JSON payload
	body        []byte // the body as sent (json or form)
	reqHeaders  map[string]string
	delivered   time.Time
	redelivery  bool
	duration    float64
	status      string
	code        int
	respHeaders map[string]string
	respBody    string
	done        bool
	dropped     bool
}

type hookEngine struct {
	s       *Sim
	queue   chan *delivery
	wg      sync.WaitGroup
	client  *http.Client
	mu      sync.Mutex
	drop    int // the next N deliveries fail without reaching the receiver
	waiters []chan struct{}
}

func newHookEngine(s *Sim) *hookEngine {
	return &hookEngine{s: s, queue: make(chan *delivery, 4096), client: &http.Client{Timeout: hookTimeout}}
}

func (h *hookEngine) start(ctx context.Context) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case d := <-h.queue:
				h.attempt(ctx, d)
			}
		}
	}()
}

func (h *hookEngine) wait() { h.wg.Wait() }

// changed returns a channel closed when the next delivery attempt is recorded.
func (h *hookEngine) changed() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan struct{})
	h.waiters = append(h.waiters, ch)
	return ch
}

func (h *hookEngine) notify() {
	h.mu.Lock()
	ws := h.waiters
	h.waiters = nil
	h.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

func guid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// publishLocked delivers event to every active hook of r subscribed to it ("*" means all).
// payload renders the body with the URL style the hook was created under. Called with s.mu held.
func (h *hookEngine) publishLocked(r *repo, event, action string, _ urls, payload func(u urls) obj) {
	for _, hk := range r.hooks {
		if !hk.active || !(slices.Contains(hk.events, event) || slices.Contains(hk.events, "*")) {
			continue
		}
		h.enqueueLocked(r, hk, event, action, payload(hk.urls))
	}
}

func (h *hookEngine) enqueueLocked(r *repo, hk *hook, event, action string, p obj) *delivery {
	buf, _ := json.Marshal(p)
	d := &delivery{id: h.s.w.id(), guid: guid(), hook: hk, repo: r, event: event, action: action, payload: buf}
	d.body = buf
	ct := "application/json"
	if hk.contentType == "form" {
		d.body = []byte("payload=" + url.QueryEscape(string(buf)))
		ct = "application/x-www-form-urlencoded"
	}
	d.reqHeaders = h.headers(hk, r, d, ct)
	hk.deliveries = append(hk.deliveries, d)
	h.mu.Lock()
	if h.drop > 0 {
		h.drop--
		d.dropped = true
	}
	h.mu.Unlock()
	h.queue <- d
	return d
}

func (h *hookEngine) headers(hk *hook, r *repo, d *delivery, ct string) map[string]string {
	m := map[string]string{
		"Accept": "*/*", "Content-Type": ct, "User-Agent": "GitHub-Hookshot/pandev-sim",
		"X-GitHub-Delivery": d.guid, "X-GitHub-Event": d.event, "X-GitHub-Hook-ID": strconv.FormatInt(hk.id, 10),
		"X-GitHub-Hook-Installation-Target-ID": strconv.FormatInt(r.id, 10), "X-GitHub-Hook-Installation-Target-Type": "repository",
	}
	if hk.secret != "" {
		mac := hmac.New(sha256.New, []byte(hk.secret))
		mac.Write(d.body)
		m["X-Hub-Signature-256"] = "sha256=" + hex.EncodeToString(mac.Sum(nil))
		m1 := hmac.New(sha1.New, []byte(hk.secret))
		m1.Write(d.body)
		m["X-Hub-Signature"] = "sha1=" + hex.EncodeToString(m1.Sum(nil))
	}
	return m
}

func (h *hookEngine) attempt(ctx context.Context, d *delivery) {
	s := h.s
	start := time.Now()
	code, status, respHdr, respBody := 0, "", map[string]string{}, ""
	s.mu.Lock()
	target := d.hook.url
	s.mu.Unlock()
	if d.dropped {
		status = "Service Timeout" // as GitHub records a receiver that did not answer in time
	} else {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.body))
		if err == nil {
			for k, v := range d.reqHeaders {
				req.Header.Set(k, v)
			}
			var resp *http.Response
			resp, err = h.client.Do(req)
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				code, respBody = resp.StatusCode, string(b)
				for k := range resp.Header {
					respHdr[strings.ToLower(k)] = resp.Header.Get(k)
				}
				status = "OK"
				if code < 200 || code > 299 {
					status = "Invalid HTTP Response: " + strconv.Itoa(code)
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			status = "failed to connect to host"
			if strings.Contains(err.Error(), "Timeout") || strings.Contains(err.Error(), "deadline") {
				status = "timed out"
			}
		}
	}
	s.mu.Lock()
	d.delivered, d.duration, d.code, d.status, d.respHeaders, d.respBody, d.done = s.clock.Now(), time.Since(start).Seconds(), code, status, respHdr, respBody, true
	d.hook.lastCode, d.hook.lastStatus, d.hook.lastMessage = code, "active", status
	if code < 200 || code > 299 {
		d.hook.lastStatus = "failed"
	}
	s.mu.Unlock()
	s.log.Debug("github-sim delivery", "event", d.event, "hook", d.hook.id, "status", status, "code", code)
	h.notify()
}

// hookRoutes serves the repository webhook endpoints.
func (s *Sim) hookRoutes(mux *http.ServeMux) {
	s.handle(mux, "GET /repos/{owner}/{repo}/hooks", func(c *call) (int, any, *apiError) {
		var out []obj
		for _, hk := range pageOf(c, c.repo.hooks) {
			out = append(out, c.u.hook(c.repo, hk))
		}
		return 200, nonNil(out), nil
	})
	s.handle(mux, "POST /repos/{owner}/{repo}/hooks", func(c *call) (int, any, *apiError) {
		var in hookInput
		if e := c.decode(&in); e != nil {
			return 0, nil, e
		}
		now := c.s.clock.Now()
		hk := &hook{id: c.s.w.id(), active: true, events: []string{"push"}, contentType: "form", insecureSSL: "0", created: now, updated: now, urls: c.u}
		if e := in.apply(c, hk, true); e != nil {
			return 0, nil, e
		}
		for _, other := range c.repo.hooks {
			if other.url == hk.url {
				// GitHub refuses a second hook with the same URL (422 "Hook already exists on this repository").
				return 0, nil, validationFailed(c.rule.Doc, "Hook", "", "custom", "Hook already exists on this repository")
			}
		}
		c.repo.hooks = append(c.repo.hooks, hk)
		c.hdr.Set("Location", c.u.api+"/repos/"+c.repo.fullName()+"/hooks/"+strconv.FormatInt(hk.id, 10))
		c.s.hooks.enqueueLocked(c.repo, hk, "ping", "", c.u.pingEvent(c.repo, hk, c.tok.owner))
		return 201, c.u.hook(c.repo, hk), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/hooks/{id}", func(c *call) (int, any, *apiError) {
		hk, e := c.hookParam()
		if e != nil {
			return 0, nil, e
		}
		return 200, c.u.hook(c.repo, hk), nil
	})
	s.handle(mux, "PATCH /repos/{owner}/{repo}/hooks/{id}", func(c *call) (int, any, *apiError) {
		hk, e := c.hookParam()
		if e != nil {
			return 0, nil, e
		}
		var in hookInput
		if e := c.decode(&in); e != nil {
			return 0, nil, e
		}
		cp := *hk
		if e := in.apply(c, &cp, false); e != nil {
			return 0, nil, e
		}
		cp.updated = c.s.clock.Now()
		*hk = cp
		return 200, c.u.hook(c.repo, hk), nil
	})
	s.handle(mux, "DELETE /repos/{owner}/{repo}/hooks/{id}", func(c *call) (int, any, *apiError) {
		hk, e := c.hookParam()
		if e != nil {
			return 0, nil, e
		}
		c.repo.hooks = slices.DeleteFunc(c.repo.hooks, func(x *hook) bool { return x == hk })
		return 204, nil, nil
	})
	s.handle(mux, "POST /repos/{owner}/{repo}/hooks/{id}/pings", func(c *call) (int, any, *apiError) {
		hk, e := c.hookParam()
		if e != nil {
			return 0, nil, e
		}
		c.s.hooks.enqueueLocked(c.repo, hk, "ping", "", hk.urls.pingEvent(c.repo, hk, c.tok.owner))
		return 204, nil, nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/hooks/{id}/deliveries", func(c *call) (int, any, *apiError) {
		hk, e := c.hookParam()
		if e != nil {
			return 0, nil, e
		}
		return 200, c.deliveryPage(hk), nil
	})
	s.handle(mux, "GET /repos/{owner}/{repo}/hooks/{id}/deliveries/{delivery}", func(c *call) (int, any, *apiError) {
		d, e := c.deliveryParam()
		if e != nil {
			return 0, nil, e
		}
		return 200, c.u.deliveryFull(d), nil
	})
	s.handle(mux, "POST /repos/{owner}/{repo}/hooks/{id}/deliveries/{delivery}/attempts", func(c *call) (int, any, *apiError) {
		d, e := c.deliveryParam()
		if e != nil {
			return 0, nil, e
		}
		// "You can redeliver webhook deliveries that occurred in the past 3 days" (docs
		// "Redelivering webhooks"; GHES keeps 7). Older ones: 422 as the API answers.
		if d.done && c.s.clock.Now().Sub(d.delivered) > 72*time.Hour {
			return 0, nil, validationFailed(c.rule.Doc, "Hook", "", "custom", "Delivery is too old to redeliver")
		}
		nd := &delivery{id: c.s.w.id(), guid: d.guid, hook: d.hook, repo: d.repo, event: d.event, action: d.action, payload: d.payload, body: d.body, redelivery: true}
		nd.reqHeaders = map[string]string{}
		for k, v := range d.reqHeaders {
			nd.reqHeaders[k] = v
		}
		d.hook.deliveries = append(d.hook.deliveries, nd)
		c.s.hooks.queue <- nd
		return 202, obj{}, nil
	})
}

// deliveryPage lists a hook's deliveries newest first with GitHub's cursor paging: the Link
// header's next URL carries cursor= (OpenAPI repos/list-webhook-deliveries: "cursor: Used for
// pagination: the starting delivery from which the page of deliveries is fetched").
func (c *call) deliveryPage(hk *hook) []obj {
	all := filter(reverse(hk.deliveries), func(d *delivery) bool { return d.done })
	if st := c.r.URL.Query().Get("status"); st != "" {
		all = filter(all, func(d *delivery) bool { return (st == "success") == (d.code >= 200 && d.code < 300) })
	}
	if cur := c.r.URL.Query().Get("cursor"); cur != "" {
		id, _ := strconv.ParseInt(strings.TrimPrefix(cur, "v1_"), 10, 64)
		i := slices.IndexFunc(all, func(d *delivery) bool { return d.id == id })
		if i < 0 {
			all = nil
		} else {
			all = all[i:]
		}
	}
	per := c.perPage()
	page := all
	if len(page) > per {
		page = all[:per]
		q := c.r.URL.Query()
		q.Set("cursor", "v1_"+strconv.FormatInt(all[per].id, 10))
		q.Set("per_page", strconv.Itoa(per))
		c.hdr.Set("Link", "<"+c.u.api+c.linkPath()+"?"+q.Encode()+`>; rel="next"`)
	}
	out := []obj{}
	for _, d := range page {
		out = append(out, c.u.deliveryItem(d))
	}
	return out
}

func (u urls) deliveryItem(d *delivery) obj {
	return obj{"id": d.id, "guid": d.guid, "delivered_at": ts(d.delivered), "redelivery": d.redelivery, "duration": d.duration,
		"status": d.status, "status_code": d.code, "event": d.event, "action": nilIfEmpty(d.action), "installation_id": nil,
		"repository_id": d.repo.id, "throttled_at": nil}
}

func (u urls) deliveryFull(d *delivery) obj {
	x := u.deliveryItem(d)
	var p any
	_ = json.Unmarshal(d.payload, &p)
	var rh any
	if d.respHeaders != nil {
		rh = d.respHeaders
	}
	x["url"] = d.hook.url
	x["request"] = obj{"headers": d.reqHeaders, "payload": p}
	x["response"] = obj{"headers": rh, "payload": nilIfEmpty(d.respBody)}
	return x
}

func (c *call) hookParam() (*hook, *apiError) {
	id, _ := strconv.ParseInt(c.r.PathValue("id"), 10, 64)
	hk := c.repo.hookByID(id)
	if hk == nil {
		return nil, notFound(c.rule.Doc)
	}
	return hk, nil
}

func (c *call) deliveryParam() (*delivery, *apiError) {
	hk, e := c.hookParam()
	if e != nil {
		return nil, e
	}
	id, _ := strconv.ParseInt(c.r.PathValue("delivery"), 10, 64)
	for _, d := range hk.deliveries {
		if d.id == id {
			return d, nil
		}
	}
	return nil, notFound(c.rule.Doc)
}

// hookInput is the body of POST and PATCH .../hooks (OpenAPI repos/create-webhook,
// repos/update-webhook).
type hookInput struct {
	Name         *string   `json:"name"`
	Active       *bool     `json:"active"`
	Events       *[]string `json:"events"`
	AddEvents    []string  `json:"add_events"`
	RemoveEvents []string  `json:"remove_events"`
	Config       *struct {
		URL         *string `json:"url"`
		ContentType *string `json:"content_type"`
		Secret      *string `json:"secret"`
		InsecureSSL any     `json:"insecure_ssl"`
	} `json:"config"`
}

func (in hookInput) apply(c *call, hk *hook, create bool) *apiError {
	if in.Name != nil && *in.Name != "web" {
		return validationFailed(c.rule.Doc, "Hook", "name", "invalid", "")
	}
	if in.Active != nil {
		hk.active = *in.Active
	}
	if in.Events != nil {
		hk.events = slices.Clone(*in.Events)
	}
	hk.events = append(hk.events, in.AddEvents...)
	hk.events = slices.DeleteFunc(hk.events, func(e string) bool { return slices.Contains(in.RemoveEvents, e) })
	for _, e := range hk.events {
		if e != "*" && !slices.Contains(HookEvents, e) && !slices.Contains(otherEvents, e) {
			return validationFailed(c.rule.Doc, "Hook", "events", "invalid", "Invalid event: \""+e+"\"")
		}
	}
	if in.Config != nil {
		if in.Config.URL != nil {
			hk.url = *in.Config.URL
		}
		if in.Config.ContentType != nil {
			if *in.Config.ContentType != "json" && *in.Config.ContentType != "form" {
				return validationFailed(c.rule.Doc, "Hook", "content_type", "invalid", "")
			}
			hk.contentType = *in.Config.ContentType
		}
		if in.Config.Secret != nil {
			hk.secret = *in.Config.Secret
		}
		switch v := in.Config.InsecureSSL.(type) {
		case string:
			hk.insecureSSL = v
		case float64:
			hk.insecureSSL = strconv.Itoa(int(v))
		}
	}
	if create && (in.Config == nil || in.Config.URL == nil) {
		// "config.url: The URL to which the payloads will be delivered." is required on create.
		return validationFailed(c.rule.Doc, "Hook", "url", "custom", "url is missing")
	}
	u, err := url.Parse(hk.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return validationFailed(c.rule.Doc, "Hook", "url", "custom", "url is not supported because it isn't reachable over the public Internet")
	}
	return nil
}

// otherEvents are further event names GitHub accepts on a hook; the simulator never sends them.
var otherEvents = []string{"create", "delete", "release", "status", "check_run", "check_suite", "workflow_job", "label", "member", "repository"}

// DropDeliveries makes the next n deliveries fail as if the receiver had not answered; they are
// recorded (the deliveries API lists them as failed) and can be redelivered.
func (s *Sim) DropDeliveries(n int) {
	s.hooks.mu.Lock()
	s.hooks.drop = n
	s.hooks.mu.Unlock()
}

// Delivery is one delivery attempt as the control API and tests see it.
type Delivery struct {
	ID         int64  `json:"id"`
	GUID       string `json:"guid"`
	HookID     int64  `json:"hook_id"`
	Repo       string `json:"repo"`
	Event      string `json:"event"`
	Action     string `json:"action,omitempty"`
	Redelivery bool   `json:"redelivery"`
	Done       bool   `json:"done"`
	Dropped    bool   `json:"dropped"`
	StatusCode int    `json:"status_code"`
	Status     string `json:"status"`
	// Payload is the JSON payload; Headers the request headers sent.
	Payload json.RawMessage   `json:"payload"`
	Headers map[string]string `json:"headers"`
}

// Deliveries lists every delivery of every hook, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Delivery
	for _, r := range s.w.org.repos {
		for _, hk := range r.hooks {
			for _, d := range hk.deliveries {
				out = append(out, Delivery{ID: d.id, GUID: d.guid, HookID: hk.id, Repo: r.fullName(), Event: d.event, Action: d.action,
					Redelivery: d.redelivery, Done: d.done, Dropped: d.dropped, StatusCode: d.code, Status: d.status, Payload: d.payload, Headers: d.reqHeaders})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Delivery) int { return int(a.ID - b.ID) })
	return out
}

// WaitDeliveries waits until at least n deliveries have been attempted (or ctx ends).
func (s *Sim) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	for {
		ch := s.hooks.changed()
		all := s.Deliveries()
		done := filter(all, func(d Delivery) bool { return d.Done })
		if len(done) >= n {
			return done, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return done, fmt.Errorf("githubsim: %d of %d deliveries attempted: %w", len(done), n, ctx.Err())
		}
	}
}
