package azdosim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// control serves the /_sim/ API: JSON, unauthenticated, not part of Azure DevOps.
func (s *Sim) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	var v any
	var err error
	switch {
	case path == "" && r.Method == "GET":
		v = s.info()
	case path == "/pats" && r.Method == "POST":
		v, err = s.ctlPAT(r)
	case path == "/activity" && r.Method == "POST":
		var req ActivityRequest
		if err = decodeBody(r, &req); err == nil {
			v, err = s.Activity(req)
		}
	case path == "/faults" && r.Method == "PUT":
		var cfg FaultConfig
		if err = decodeBody(r, &cfg); err == nil {
			err = s.SetFaults(cfg)
			v = s.faults.get()
		}
	case path == "/faults" && r.Method == "GET":
		v = s.faults.get()
	case path == "/deliveries" && r.Method == "PUT":
		var body struct {
			Mode       string   `json:"mode"`
			RetryScale *float64 `json:"retry_scale"`
		}
		if err = decodeBody(r, &body); err == nil {
			err = s.SetDeliveryMode(body.Mode, body.RetryScale)
			v = s.deliveryState()
		}
	case path == "/deliveries" && r.Method == "GET":
		st := s.deliveryState()
		st["deliveries"] = s.hooks.deliveries()
		v = st
	case path == "/truth" && r.Method == "GET":
		v, err = s.Truth(r.URL.Query().Get("project"), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	case strings.HasPrefix(path, "/truth/") && r.Method == "GET":
		v, err = s.TruthItems(strings.TrimPrefix(path, "/truth/"), r.URL.Query().Get("project"), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	case path == "/clock" && r.Method == "GET":
		v = obj{"now": timeNano(s.clock.Now())}
	case path == "/clock" && r.Method == "POST":
		var body struct {
			Advance string `json:"advance"`
		}
		if err = decodeBody(r, &body); err == nil {
			var d time.Duration
			if d, err = time.ParseDuration(body.Advance); err == nil && d < 0 {
				err = errors.New("advance must not be negative: time only moves forward")
			}
			if err == nil {
				v = obj{"now": timeNano(s.clock.Advance(d))}
				s.hooks.signal()
			}
		}
	case path == "/limits" && r.Method == "PUT":
		var body Limits
		if err = decodeBody(r, &body); err == nil {
			err = s.SetLimits(body)
			v = s.limits()
		}
	case path == "/limits" && r.Method == "GET":
		v = s.limits()
	case path == "/subscriptions" && r.Method == "GET":
		v = s.subscriptionsFull()
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		json.NewEncoder(w).Encode(obj{"error": "unknown control call " + r.Method + " /_sim" + path,
			"hint": "see docs/simulator.md: pats, activity, faults, deliveries, truth, clock, limits, subscriptions"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(obj{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New("bad JSON body: " + err.Error())
	}
	return nil
}

func (s *Sim) info() obj {
	var projects []any
	s.org.mu.RLock()
	for _, p := range s.org.projects {
		projects = append(projects, obj{"id": p.ID, "name": p.Name})
	}
	s.org.mu.RUnlock()
	return obj{"org_url": s.OrgURL(), "release_url": s.ReleaseURL(), "mode": s.opts.Mode, "server_version": s.opts.ServerVersion,
		"profile": s.opts.Profile, "seed": s.opts.Seed, "projects": projects, "now": timeNano(s.clock.Now())}
}

func (s *Sim) ctlPAT(r *http.Request) (any, error) {
	var body struct {
		Scopes    []string `json:"scopes"`
		Org       string   `json:"org"`
		ExpiresAt string   `json:"expires_at"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	var exp time.Time
	if body.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, body.ExpiresAt)
		if err != nil {
			return nil, errors.New("expires_at must be RFC 3339, e.g. 2030-01-02T15:04:05Z")
		}
		exp = t
	}
	tok := s.NewPAT(body.Scopes, body.Org, exp)
	return obj{"token": tok}, nil
}

// SetFaults replaces the fault configuration (and the rate limit when given). {} clears faults.
func (s *Sim) SetFaults(cfg FaultConfig) error {
	if err := s.faults.set(cfg); err != nil {
		return err
	}
	if cfg.RateLimit != nil {
		return s.limiter.set(*cfg.RateLimit)
	}
	if cfg.Latency == "" && len(cfg.Rules) == 0 {
		return s.limiter.set(defaultRateLimit)
	}
	return nil
}

// SetDeliveryMode switches hook deliveries between deliver, pause (queue, send nothing) and drop
// (discard new events). retryScale, when given, multiplies every retry and probation delay
// (0 retries immediately); it is how tests compress 36 hours of probation into milliseconds.
func (s *Sim) SetDeliveryMode(mode string, retryScale *float64) error {
	h := s.hooks
	h.mu.Lock()
	switch mode {
	case "", "deliver", "pause", "drop":
		if mode != "" {
			h.mode = mode
		}
	default:
		h.mu.Unlock()
		return errors.New(`mode must be "deliver", "pause" or "drop"`)
	}
	if retryScale != nil {
		if *retryScale < 0 {
			h.mu.Unlock()
			return errors.New("retry_scale must be >= 0")
		}
		h.retryScale = *retryScale
		for _, j := range h.queue {
			if j.due.After(s.clock.Now()) && *retryScale == 0 {
				j.due = s.clock.Now()
			}
		}
	}
	h.mu.Unlock()
	h.signal()
	return nil
}

// Limits is the body of PUT /_sim/limits: service limits tests lower to reach them with small
// organizations. Omitted or 0 restores the service's value; {} restores them all.
type Limits struct {
	// WiqlLimit is the most work items a WIQL query may match (VS402337 above it); the service's
	// is 20,000.
	WiqlLimit int `json:"wiql_limit"`
	// PullRequestTopMax is the most pull requests one page of the pull request lists returns,
	// silently, whatever $top asks; the service's is 1000 (see DefaultPullRequestTopMax).
	PullRequestTopMax int `json:"pull_request_top_max"`
}

// SetLimits replaces the service limits (see Limits).
func (s *Sim) SetLimits(l Limits) error {
	if l.WiqlLimit < 0 {
		return errors.New("wiql_limit must be >= 0 (0 restores 20000)")
	}
	if l.PullRequestTopMax < 0 {
		return errors.New("pull_request_top_max must be >= 0 (0 restores 1000)")
	}
	s.SetWiqlLimit(l.WiqlLimit)
	s.SetPullRequestTopMax(l.PullRequestTopMax)
	return nil
}

func (s *Sim) limits() Limits {
	return Limits{WiqlLimit: s.WiqlLimit(), PullRequestTopMax: s.PullRequestTopMax()}
}

func (s *Sim) deliveryState() obj {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	return obj{"mode": h.mode, "retry_scale": h.retryScale, "queued": len(h.queue)}
}

func (s *Sim) subscriptionsFull() any {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []any{}
	for _, sub := range h.sortedSubs() {
		out = append(out, s.subscriptionObj(sub, false))
	}
	return obj{"count": len(out), "value": out}
}
