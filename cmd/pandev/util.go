package main

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/pandev-metrics/pandev/internal/azdosim"
	"github.com/pandev-metrics/pandev/internal/delivery"
)

func nowUTC() time.Time { return time.Now().UTC() }

// userError shows a delivery error as message and hint on one line.
func userError(err error) error {
	var de *delivery.Error
	if errors.As(err, &de) && de.Hint != "" {
		return errors.New(de.Message + " (" + de.Hint + ")")
	}
	if errors.As(err, &de) {
		return errors.New(de.Message)
	}
	return err
}

// simAllowHosts is the PANDEV_ALLOW_HOSTS entry for a running simulator:
// the exact host:port of its main and release listeners (it serves plain
// http on loopback, which the Azure DevOps client refuses unless listed).
func simAllowHosts(sim *azdosim.Sim) string {
	var hosts []string
	for _, raw := range []string{sim.OrgURL(), sim.ReleaseURL()} {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			hosts = append(hosts, u.Host)
		}
	}
	return strings.Join(hosts, ",")
}
