package jobs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pandev-metrics/pandev/internal/store"
)

// Collector exports job counts by kind and state, read from the queue's
// table at scrape time, so every replica reports the shared truth.
type Collector struct {
	db   *store.DB
	desc *prometheus.Desc
}

// NewCollector returns the collector for db.
func NewCollector(db *store.DB) *Collector {
	return &Collector{db: db, desc: prometheus.NewDesc("pandev_jobs",
		"Jobs in the queue by kind and state.", []string{"kind", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.db.SQL().QueryContext(ctx, `SELECT kind, state, COUNT(*) FROM river_job GROUP BY kind, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n float64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(c.desc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, kind, state)
	}
}
