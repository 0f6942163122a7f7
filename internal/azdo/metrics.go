package azdo

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every client registered on the same registry.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	retries  *prometheus.CounterVec
	paced    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pandev_azdo_requests_total",
			Help: "Azure DevOps REST requests by endpoint, method and HTTP status (\"error\" when no answer arrived).",
		}, []string{"endpoint", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pandev_azdo_request_duration_seconds",
			Help:    "Azure DevOps REST request latency by endpoint and method.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"endpoint", "method"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pandev_azdo_retries_total",
			Help: "Azure DevOps REST requests repeated, by endpoint and reason (429, 5xx status or transport).",
		}, []string{"endpoint", "reason"}),
		paced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pandev_azdo_pacing_seconds_total",
			Help: "Time Azure DevOps requests waited to stay under the rate limit (Retry-After and X-RateLimit-* pacing).",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	if m.latency, err = register(reg, m.latency); err != nil {
		return nil, err
	}
	if m.retries, err = register(reg, m.retries); err != nil {
		return nil, err
	}
	if m.paced, err = register(reg, m.paced); err != nil {
		return nil, err
	}
	return m, nil
}

// register adds c to reg, or returns the collector already there: every
// integration's client reports into the same series.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}
