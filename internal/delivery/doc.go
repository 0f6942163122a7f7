// Package delivery holds the domain words of PanDev Metrics — repositories,
// commits, pull requests, deployments, work items, incidents, the window a
// figure is computed over and the rules that classify raw data — as plain Go
// values. It imports only the standard library so that every other package
// can depend on it and it depends on none of them; the definitions follow
// ../shared/METRICS.md.
package delivery
