package githubsim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// control serves the /_sim/ API: JSON, unauthenticated, not part of GitHub.
//
//	GET  /_sim/                 what the simulator serves and its tokens
//	POST /_sim/tokens           {"scopes":[...]} or {"permissions":{...},"repos":[...]} → a new token
//	POST /_sim/activity         an ActivityRequest → its ActivityResult (state changes, hooks deliver)
//	PUT  /_sim/ratelimit        RateLimits; GET shows them
//	PUT  /_sim/faults           [Fault...]; GET shows them; PUT [] clears
//	PUT  /_sim/deliveries       {"drop_next": N}; GET lists every delivery
//	GET  /_sim/truth            ground truth of every repository
//	GET  /_sim/clock, POST /_sim/clock {"advance":"1h"}
//	PUT  /_sim/caps             {"workflow_runs": N} lowers GitHub's 1,000-result cap (0 restores it); GET shows it
func (s *Sim) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_sim"), "/")
	var v any
	var err error
	switch {
	case path == "" && r.Method == http.MethodGet:
		v = obj{"url": s.URL(), "enterprise_url": s.EnterpriseURL(), "org": s.Org(), "repos": s.Repos(),
			"token": s.Token(), "fine_grained_token": s.FineGrainedToken(), "profile": s.opts.Profile, "seed": s.opts.Seed}
	case path == "/tokens" && r.Method == http.MethodPost:
		var body struct {
			Scopes      []string          `json:"scopes"`
			Permissions map[string]string `json:"permissions"`
			Repos       []string          `json:"repos"`
		}
		if err = decodeBody(r, &body); err == nil {
			if body.Permissions != nil {
				v = obj{"token": s.NewFineGrainedToken(body.Permissions, body.Repos...)}
			} else {
				v = obj{"token": s.NewClassicToken(body.Scopes...)}
			}
		}
	case path == "/activity" && r.Method == http.MethodPost:
		var req ActivityRequest
		if err = decodeBody(r, &req); err == nil {
			v, err = s.Activity(req)
		}
	case path == "/ratelimit" && r.Method == http.MethodPut:
		var body RateLimits
		if err = decodeBody(r, &body); err == nil {
			if err = s.limits.set(body); err == nil {
				v = s.limits.get()
			}
		}
	case path == "/ratelimit" && r.Method == http.MethodGet:
		v = s.limits.get()
	case path == "/faults" && r.Method == http.MethodPut:
		var list []Fault
		if err = decodeBody(r, &list); err == nil {
			err = s.faults.set(list)
			v = s.faults.list()
		}
	case path == "/faults" && r.Method == http.MethodGet:
		v = s.faults.list()
	case path == "/deliveries" && r.Method == http.MethodPut:
		var body struct {
			DropNext int `json:"drop_next"`
		}
		if err = decodeBody(r, &body); err == nil {
			s.DropDeliveries(body.DropNext)
			v = obj{"drop_next": body.DropNext}
		}
	case path == "/deliveries" && r.Method == http.MethodGet:
		v = s.Deliveries()
	case path == "/truth" && r.Method == http.MethodGet:
		v = s.Truth()
	case path == "/clock" && r.Method == http.MethodGet:
		v = obj{"now": s.clock.Now().Format(time.RFC3339)}
	case path == "/clock" && r.Method == http.MethodPost:
		var body struct {
			Advance string `json:"advance"`
		}
		if err = decodeBody(r, &body); err == nil {
			var d time.Duration
			if d, err = time.ParseDuration(body.Advance); err == nil && d < 0 {
				err = errors.New("advance must not be negative: time only moves forward")
			}
			if err == nil {
				v = obj{"now": s.clock.Advance(d).Format(time.RFC3339)}
			}
		}
	case path == "/caps" && r.Method == http.MethodPut:
		var body Caps
		if err = decodeBody(r, &body); err == nil {
			if err = s.SetCaps(body); err == nil {
				v = s.Caps()
			}
		}
	case path == "/caps" && r.Method == http.MethodGet:
		v = s.Caps()
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(404)
		fmt.Fprintf(w, `{"error":"no control endpoint %s %s: see GET /_sim/"}`, r.Method, r.URL.Path)
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
	if len(b) == 0 {
		return errors.New("empty body: send JSON")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body is not valid JSON: %w", err)
	}
	return nil
}

// SetRateLimits changes the rate limits (see RateLimits). A Window that is
// not a positive duration is a mistake in the caller: it panics (PUT
// /_sim/ratelimit answers 400).
func (s *Sim) SetRateLimits(l RateLimits) {
	if err := s.limits.set(l); err != nil {
		panic("githubsim: " + err.Error())
	}
}

// SetFaults replaces the injected faults; nil clears them.
func (s *Sim) SetFaults(list []Fault) error { return s.faults.set(list) }

// Advance moves the simulated clock forward.
func (s *Sim) Advance(d time.Duration) time.Time { return s.clock.Advance(d) }

// Caps are GitHub's result caps the simulator enforces, lowered for tests.
type Caps struct {
	// WorkflowRuns caps a filtered workflow runs list (GitHub: 1,000); 0 means GitHub's.
	WorkflowRuns int `json:"workflow_runs"`
}

// SetCaps changes the caps; a negative cap is refused.
func (s *Sim) SetCaps(c Caps) error {
	if c.WorkflowRuns < 0 {
		return fmt.Errorf("workflow_runs %d is negative: use 0 for GitHub's %d or a positive cap", c.WorkflowRuns, workflowRunsCap)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runsCap = cmp.Or(c.WorkflowRuns, workflowRunsCap)
	return nil
}

// Caps are the caps in force.
func (s *Sim) Caps() Caps {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Caps{WorkflowRuns: s.runsCap}
}
