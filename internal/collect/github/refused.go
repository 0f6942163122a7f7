package github

import (
	"errors"

	"github.com/pandev-metrics/pandev/internal/delivery"
	"github.com/pandev-metrics/pandev/internal/githubapi"
)

// classify maps a go-github error as githubapi does, and a 403 naming the
// permission it needs (githubapi.MissingPermission) to KindForbidden: the
// token works but may not read this resource, which the Collector blocks
// with the fix (Client.Blocked) rather than retrying it as GitHub's failure.
func classify(err error) error {
	err = githubapi.Classify(err)
	var mp *githubapi.MissingPermission
	var de *delivery.Error
	if errors.As(err, &mp) && errors.As(err, &de) && de.Kind == delivery.KindUpstream {
		refused := *de
		refused.Kind = delivery.KindForbidden
		return &refused
	}
	return err
}
