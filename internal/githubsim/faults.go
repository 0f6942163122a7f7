package githubsim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is one injected failure: requests whose path (after /api/v3) starts with Path and whose
// method matches (empty: any) get Status with GitHub's error body, or the connection closed
// (Drop), after Latency; Times counts the requests hit (0: every one until cleared).
type Fault struct {
	Path    string `json:"path"`
	Method  string `json:"method,omitempty"`
	Status  int    `json:"status,omitempty"`
	Drop    bool   `json:"drop,omitempty"`
	Latency string `json:"latency,omitempty"`
	Times   int    `json:"times,omitempty"`
	hits    int
}

type faults struct {
	mu    sync.Mutex
	rules []*Fault
}

func (f *faults) set(list []Fault) error {
	var rules []*Fault
	for i := range list {
		r := list[i]
		if r.Latency != "" {
			if _, err := time.ParseDuration(r.Latency); err != nil {
				return fmt.Errorf("fault %d: latency %q is not a duration, e.g. 250ms", i, r.Latency)
			}
		}
		if r.Status == 0 && !r.Drop && r.Latency == "" {
			return fmt.Errorf("fault %d does nothing: give a status (e.g. 502), drop or a latency", i)
		}
		rules = append(rules, &r)
	}
	f.mu.Lock()
	f.rules = rules
	f.mu.Unlock()
	return nil
}

func (f *faults) list() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []Fault{}
	for _, r := range f.rules {
		out = append(out, *r)
	}
	return out
}

// apply runs a matching fault; done reports that the request was answered (or dropped).
func (f *faults) apply(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, bool) {
	f.mu.Lock()
	var hit *Fault
	for _, x := range f.rules {
		if strings.HasPrefix(r.URL.Path, x.Path) && (x.Method == "" || strings.EqualFold(x.Method, r.Method)) && (x.Times == 0 || x.hits < x.Times) {
			x.hits++
			c := *x
			hit = &c
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return w, false
	}
	if d, _ := time.ParseDuration(hit.Latency); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return w, true
		}
	}
	if hit.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return w, true
			}
		}
		panic(http.ErrAbortHandler)
	}
	if hit.Status == 0 {
		return w, false
	}
	msg := http.StatusText(hit.Status)
	if hit.Status >= 500 {
		// GitHub's 5xx answers: "Server Error" bodies (components/responses/internal_error) or,
		// from its front end, plain "Service Unavailable" JSON.
		msg = "Server Error"
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(hit.Status)
	fmt.Fprintf(w, `{"message":%q,"documentation_url":%q,"status":"%d"}`, msg, docsRoot, hit.Status)
	return w, true
}
