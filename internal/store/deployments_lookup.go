package store

import (
	"context"
	"strings"

	"github.com/pandev-metrics/pandev/internal/delivery"
)

// GetDeployment reads one deployment by its key (KindNotFound when
// absent): a source whose statuses arrive out of order compares with it.
func (q queries) GetDeployment(ctx context.Context, integrationID, key string) (Deployment, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+deploymentColumns+` FROM deployments
		WHERE integration_id = $1 AND deployment_key = $2`, integrationID, key)
	list, err := collect(rows, err, scanDeployment)
	if err != nil {
		return Deployment{}, err
	}
	if len(list) == 0 {
		return Deployment{}, delivery.Errorf(delivery.KindNotFound, "deployment %s not found", key)
	}
	return list[0], nil
}

// DeploymentKeys lists the keys of a project's deployments that start with
// prefix, in key order (at most limit; 0: all).
func (q queries) DeploymentKeys(ctx context.Context, integrationID, projectID, prefix string, limit int) ([]string, error) {
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
	query := `SELECT deployment_key FROM deployments WHERE integration_id = $1 AND project_id = $2
		AND deployment_key LIKE $3 ESCAPE '\' ORDER BY deployment_key`
	args := []any{integrationID, projectID, like}
	if limit > 0 {
		query += ` LIMIT $4`
		args = append(args, limit)
	}
	rows, err := q.q.QueryContext(ctx, query, args...)
	return collect(rows, err, func(r rowScanner) (string, error) {
		var k string
		return k, mapErr(r.Scan(&k))
	})
}
